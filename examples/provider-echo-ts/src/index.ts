import {
  defineProvider,
  GatewayError,
  textOf,
  type ChatRequest,
  type ChatResponse,
  type FinishReason,
  type StreamEvent,
  type UpstreamContext,
} from '@switchyard/core'

/**
 * Options under `providers.<id>.options` in the Switchyard config file.
 */
export interface EchoOptions {
  /** Text put before every answer. Default: none. */
  prefix?: string
  /** Milliseconds between streamed words. Default 0. */
  word_delay_ms?: number
}

const STOP: FinishReason = { unified: 'stop', raw: 'stop' }

/** Reverses text by code point, so emoji and other astral characters survive. */
export function reverseText(text: string): string {
  return Array.from(text).reverse().join('')
}

/** Splits text into words with their leading whitespace, so the pieces join back to the text. */
export function wordsOf(text: string): string[] {
  return text.match(/\s*\S+\s*$|\s*\S+/g) ?? [text]
}

function lastUserText(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!
    if (message.role === 'user') return textOf(message.content)
  }
  return ''
}

/**
 * The answer for a request: the last user message, reversed for the model `reverse`,
 * echoed for any other model name. A request without user text is the caller's mistake (400).
 */
export function answerOf(request: ChatRequest, options: EchoOptions, providerId: string): string {
  const text = lastUserText(request)
  if (!text) {
    throw new GatewayError({
      status: 400,
      code: 'invalid_request',
      type: 'invalid_request_error',
      param: 'messages',
      message: `[${providerId}] nothing to echo: the request has no user text`,
      provider: providerId,
      retryable: false,
    })
  }
  return `${options.prefix ?? ''}${request.model === 'reverse' ? reverseText(text) : text}`
}

const optionsOf = (context: UpstreamContext): EchoOptions => (context.config.options ?? {}) as EchoOptions

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve()
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })

/** Streams the answer word by word as IR events: start, one text block, one finish. */
function streamAnswer(id: string, model: string, answer: string, options: EchoOptions, signal: AbortSignal): ReadableStream<StreamEvent> {
  const created = Math.floor(Date.now() / 1000)
  const words = wordsOf(answer)
  let step = 0
  return new ReadableStream<StreamEvent>({
    async pull(controller) {
      if (step === 0) controller.enqueue({ type: 'response-start', id, model, created })
      else if (step === 1) controller.enqueue({ type: 'text-start', id: 'text' })
      else if (step - 2 < words.length) {
        if (step > 2) await sleep(options.word_delay_ms ?? 0, signal)
        // The caller went away: stop producing; the gateway cancels the stream.
        if (signal.aborted) return
        controller.enqueue({ type: 'text-delta', id: 'text', delta: words[step - 2]! })
      } else {
        controller.enqueue({ type: 'text-end', id: 'text' })
        controller.enqueue({ type: 'choice-end', choice: 0, finishReason: STOP })
        // An echo has no tokenizer: usage stays unknown rather than a made-up count.
        controller.enqueue({ type: 'finish', finishReason: STOP, usage: undefined })
        controller.close()
      }
      step++
    },
  })
}

async function chat(request: ChatRequest, context: UpstreamContext): Promise<ChatResponse | ReadableStream<StreamEvent>> {
  const options = optionsOf(context)
  const answer = answerOf(request, options, context.providerId)
  const id = `echo-${crypto.randomUUID()}`
  if (request.stream) return streamAnswer(id, request.model, answer, options, context.signal)
  return {
    id,
    model: request.model,
    created: Math.floor(Date.now() / 1000),
    choices: [{ index: 0, message: { role: 'assistant', content: [{ type: 'text', text: answer }] }, finishReason: STOP }],
    usage: undefined,
  }
}

/**
 * The echo provider. Load it from the config file:
 *
 * ```json
 * { "providers": { "echo": { "package": "@acme/switchyard-provider-echo", "options": { "prefix": "echo: " } } } }
 * ```
 *
 * then call `model: "echo/hello"` (echoes) or `"echo/reverse"` (reverses) on any surface.
 */
export default defineProvider({
  id: 'echo',
  spec: 1,
  requiresKey: false,
  models: ['hello', 'reverse'],
  capabilities: () => ({ chat: true, stream: true, responses: true }),
  invoke: { chat, responses: chat },
})
