import {
  defineProvider,
  GatewayError,
  textOf,
  type ChatRequest,
  type ChatResponse,
  type CompletionRequest,
  type CompletionResponse,
  type ContentPart,
  type EmbeddingsRequest,
  type EmbeddingsResponse,
  type FinishReason,
  type StreamEvent,
  type UpstreamContext,
  type Usage,
} from '@switchyard/core'

/**
 * Options under `providers.mock.options` in the config file.
 * - `latency_ms`: delay before the answer (default 0)
 * - `chunk_delay_ms`: delay between stream chunks (default 0)
 * - `error_rate`: share of requests (0..1) answered with `error_status` (default 0)
 * - `error_status`: status of injected errors (default 503)
 *
 * Models: `mock/<anything>` echoes the last user message. `mock/error-<status>` always fails
 * with that status. `mock/tools` (or any request with `tool_choice` required or a named tool)
 * calls the first offered tool with the user's text as `{"input": ...}`.
 */
export interface MockOptions {
  latency_ms?: number
  chunk_delay_ms?: number
  error_rate?: number
  error_status?: number
}

const STOP: FinishReason = { unified: 'stop', raw: 'stop' }
const TOOL_CALLS: FinishReason = { unified: 'tool-calls', raw: 'tool_calls' }
const LENGTH: FinishReason = { unified: 'length', raw: 'length' }

/** Rough token estimate (4 characters a token), the same rule for every mock answer. */
export const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4))

function optionsOf(context: UpstreamContext): Required<MockOptions> {
  const options = (context.config.options ?? {}) as MockOptions
  return {
    latency_ms: Number(options.latency_ms ?? 0),
    chunk_delay_ms: Number(options.chunk_delay_ms ?? 0),
    error_rate: Number(options.error_rate ?? 0),
    error_status: Number(options.error_status ?? 503),
  }
}

const delay = (ms: number, signal: AbortSignal) =>
  ms <= 0
    ? Promise.resolve()
    : new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }, ms)
        const onAbort = () => {
          clearTimeout(timer)
          reject(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
      })

/** Applies latency and injected failures common to every operation. */
async function prelude(model: string, context: UpstreamContext): Promise<Required<MockOptions>> {
  const options = optionsOf(context)
  const forced = /^error-(\d{3})$/.exec(model)
  if (forced) throw mockError(Number(forced[1]))
  await delay(options.latency_ms, context.signal)
  if (options.error_rate > 0 && Math.random() < options.error_rate) throw mockError(options.error_status)
  return options
}

function mockError(status: number): GatewayError {
  return new GatewayError({
    status,
    code: status === 429 ? 'rate_limit' : status >= 500 ? 'upstream' : 'invalid_request',
    message: `[mock] injected error with status ${status}`,
    provider: 'mock',
    headers: status === 429 ? { 'retry-after': '1' } : undefined,
  })
}

let counter = 0
const nextId = (prefix: string) => `${prefix}-mock-${Date.now().toString(36)}${(counter++).toString(36)}`

/** Text the mock answers with: the last user message, or a fixed line when there is none. */
function echoOf(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!
    if (message.role === 'user') {
      const text = textOf(message.content)
      if (text) return text
      const parts = message.content.map((part) => part.type).join(', ')
      return `[mock] received ${parts || 'an empty message'}`
    }
  }
  return '[mock] no user message'
}

function promptTokens(request: ChatRequest): number {
  let chars = 0
  for (const message of request.messages) chars += textOf(message.content).length + 4
  return estimateTokens('x'.repeat(chars))
}

/** Builds the mock's answer as content parts, honoring tools and max_tokens. */
function answer(request: ChatRequest, model: string): { parts: ContentPart[]; finishReason: FinishReason; usage: Usage } {
  const text = echoOf(request)
  const wantsTool = request.tools && request.tools.length > 0 && request.toolChoice !== 'none' &&
    (model === 'tools' || request.toolChoice === 'required' || typeof request.toolChoice === 'object')
  const input = promptTokens(request)
  if (wantsTool) {
    const name = typeof request.toolChoice === 'object' ? request.toolChoice.name : request.tools![0]!.name
    const args = JSON.stringify({ input: text })
    return {
      parts: [{ type: 'tool-call', id: `call_mock${(counter++).toString(36)}`, name, arguments: args }],
      finishReason: TOOL_CALLS,
      usage: { inputTokens: input, outputTokens: estimateTokens(args), totalTokens: input + estimateTokens(args) },
    }
  }
  let reply = text
  let finishReason = STOP
  if (request.maxTokens !== undefined && estimateTokens(reply) > request.maxTokens) {
    reply = reply.slice(0, Math.max(1, request.maxTokens * 4))
    finishReason = LENGTH
  }
  const output = estimateTokens(reply)
  return { parts: [{ type: 'text', text: reply }], finishReason, usage: { inputTokens: input, outputTokens: output, totalTokens: input + output } }
}

/** Splits text into word-sized chunks (whitespace kept) for streaming. */
function chunksOf(text: string): string[] {
  const chunks: string[] = []
  let start = 0
  for (let i = 1; i < text.length; i++) {
    if (text[i] === ' ' && text[i - 1] !== ' ') {
      chunks.push(text.slice(start, i))
      start = i
    }
  }
  chunks.push(text.slice(start))
  return chunks
}

function streamAnswer(request: ChatRequest, model: string, options: Required<MockOptions>, signal: AbortSignal): ReadableStream<StreamEvent> {
  const choices = Math.max(1, request.n ?? 1)
  const { parts, finishReason, usage } = answer(request, model)
  const events: StreamEvent[] = [{ type: 'response-start', id: nextId('chatcmpl'), model, created: Math.floor(Date.now() / 1000) }]
  for (let choice = 0; choice < choices; choice++) {
    for (const part of parts) {
      if (part.type === 'text') {
        const id = `${choice}:text`
        events.push({ type: 'text-start', id, choice })
        for (const delta of chunksOf(part.text)) events.push({ type: 'text-delta', id, delta, choice })
        events.push({ type: 'text-end', id, choice })
      } else if (part.type === 'tool-call') {
        const id = `${choice}:tool`
        events.push({ type: 'tool-call-start', id, toolCallId: part.id, name: part.name, choice })
        const half = Math.ceil(part.arguments.length / 2)
        events.push({ type: 'tool-call-delta', id, argumentsDelta: part.arguments.slice(0, half), choice })
        events.push({ type: 'tool-call-delta', id, argumentsDelta: part.arguments.slice(half), choice })
        events.push({ type: 'tool-call-end', id, choice })
      }
    }
    events.push({ type: 'choice-end', choice, finishReason })
  }
  const total: Usage = { ...usage, outputTokens: usage.outputTokens! * choices, totalTokens: usage.inputTokens! + usage.outputTokens! * choices }
  events.push({ type: 'usage', usage: total }, { type: 'finish', finishReason, usage: total })
  let index = 0
  return new ReadableStream<StreamEvent>({
    async pull(controller) {
      if (index >= events.length) return controller.close()
      const event = events[index++]!
      if (event.type === 'text-delta' && index > 2) await delay(options.chunk_delay_ms, signal)
      controller.enqueue(event)
    },
  })
}

async function chat(request: ChatRequest, context: UpstreamContext): Promise<ChatResponse | ReadableStream<StreamEvent>> {
  const options = await prelude(request.model, context)
  if (request.stream) return streamAnswer(request, request.model, options, context.signal)
  const choices = Math.max(1, request.n ?? 1)
  const { parts, finishReason, usage } = answer(request, request.model)
  return {
    id: nextId('chatcmpl'),
    model: request.model,
    created: Math.floor(Date.now() / 1000),
    choices: Array.from({ length: choices }, (_, index) => ({ index, message: { role: 'assistant', content: parts }, finishReason })),
    usage: { ...usage, outputTokens: usage.outputTokens! * choices, totalTokens: usage.inputTokens! + usage.outputTokens! * choices },
  }
}

async function completions(request: CompletionRequest, context: UpstreamContext): Promise<CompletionResponse | ReadableStream<StreamEvent>> {
  const prompt = Array.isArray(request.prompt) ? request.prompt.join('\n') : request.prompt
  const chatRequest: ChatRequest = { model: request.model, messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }], maxTokens: request.maxTokens, n: request.n, stream: request.stream, extra: {} }
  const result = await chat(chatRequest, context)
  if (result instanceof ReadableStream) return result
  return {
    id: result.id.replace('chatcmpl', 'cmpl'),
    model: result.model,
    created: result.created,
    choices: result.choices.map((choice) => ({ index: choice.index, text: textOf(choice.message.content), finishReason: choice.finishReason })),
    usage: result.usage,
  }
}

/** Deterministic unit vector per input (FNV-1a seeded), so equal inputs embed equally. */
function vectorOf(input: string | number[], dimensions: number): number[] {
  const text = typeof input === 'string' ? input : input.join(',')
  let hash = 2166136261
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619)
  const vector: number[] = []
  let norm = 0
  for (let i = 0; i < dimensions; i++) {
    hash = Math.imul(hash ^ (hash >>> 15), 2246822507) ^ i
    const value = ((hash >>> 0) / 0xffffffff) * 2 - 1
    vector.push(value)
    norm += value * value
  }
  norm = Math.sqrt(norm) || 1
  return vector.map((value) => value / norm)
}

async function embeddings(request: EmbeddingsRequest, context: UpstreamContext): Promise<EmbeddingsResponse> {
  await prelude(request.model, context)
  const dimensions = request.dimensions ?? 8
  let tokens = 0
  const data = request.input.map((input, index) => {
    tokens += typeof input === 'string' ? estimateTokens(input) : input.length
    const vector = vectorOf(input, dimensions)
    if (request.encodingFormat !== 'base64') return { index, embedding: vector }
    const bytes = new Uint8Array(new Float32Array(vector).buffer)
    let binary = ''
    for (const byte of bytes) binary += String.fromCharCode(byte)
    return { index, embedding: btoa(binary) }
  })
  return { model: request.model, data, usage: { inputTokens: tokens, outputTokens: undefined, totalTokens: tokens } }
}

/** The built-in mock provider: answers in process, needs no key, calls nothing. */
export default defineProvider({
  id: 'mock',
  spec: 1,
  requiresKey: false,
  models: ['echo', 'tools'],
  capabilities: () => ({ chat: true, stream: true, tools: true, images: true, embeddings: true, completions: true, responses: true }),
  invoke: {
    chat,
    responses: chat,
    completions,
    embeddings,
  },
})
