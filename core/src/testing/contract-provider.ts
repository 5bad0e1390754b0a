import { GatewayError } from '../errors.js'
import type { ChatRequest, ChatResponse } from '../ir/chat.js'
import { textOf } from '../ir/content.js'
import type { FinishReason } from '../ir/finish-reason.js'
import type { StreamEvent } from '../ir/stream-event.js'
import type { Usage } from '../ir/usage.js'
import { defineProvider, type UpstreamContext } from '../provider.js'
import { encodeSse } from '../sse.js'

/**
 * The plugin contract's own provider and surface: deterministic (fixed ids and timestamps, so
 * two runs give the same bytes), in process, and independent of any provider package.
 *
 * Surface: `POST /contract/chat` with `{ "model": "contract/<name>", "input": "...", "stream": bool }`.
 * Answers `{ id, model, text, finish, usage }`, or SSE with one `data:` line per IR event.
 * Errors render as `{ "error": { "status", "code", "message" } }` with the error's status.
 *
 * Models:
 * - `echo`: answers with the input (streams it word by word);
 * - `slow`: streams a word every 5 ms until the caller goes away (capped at 2000 words);
 * - `broken`: streams two words, then an `error` event instead of a `finish`;
 * - `error-<status>`: fails before answering with a GatewayError of that status.
 */
export const CONTRACT_PROVIDER_ID = 'contract'

const STOP: FinishReason = { unified: 'stop', raw: 'stop' }
const CREATED = 1_700_000_000

const usageOf = (input: string, output: string): Usage => {
  const inputTokens = Math.max(1, Math.ceil(input.length / 4))
  const outputTokens = Math.max(1, Math.ceil(output.length / 4))
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }
}

/** Words with their leading spaces kept, so joining the deltas gives the text back. */
const wordsOf = (text: string) => text.match(/\s*\S+/g) ?? [text]

function eventStream(produce: (enqueue: (event: StreamEvent) => void, signal: AbortSignal) => Promise<void>, signal: AbortSignal): ReadableStream<StreamEvent> {
  const queue: StreamEvent[] = []
  let done = false
  let wake: (() => void) | undefined
  const enqueue = (event: StreamEvent) => {
    queue.push(event)
    wake?.()
  }
  // Stops the producer when the caller goes away or the reader cancels, whichever comes first.
  const stop = new AbortController()
  if (signal.aborted) stop.abort()
  else signal.addEventListener('abort', () => stop.abort(), { once: true })
  void produce(enqueue, stop.signal).finally(() => {
    done = true
    wake?.()
  })
  return new ReadableStream<StreamEvent>({
    async pull(controller) {
      while (queue.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
      const event = queue.shift()
      if (event) controller.enqueue(event)
      else controller.close()
    },
    cancel() {
      done = true
      stop.abort()
    },
  })
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function chat(request: ChatRequest, context: UpstreamContext): Promise<ChatResponse | ReadableStream<StreamEvent>> {
  const forced = /^error-(\d{3})$/.exec(request.model)
  if (forced) {
    const status = Number(forced[1])
    return Promise.reject(new GatewayError({ status, code: status === 429 ? 'rate_limit' : status >= 500 ? 'upstream' : 'invalid_request', message: `[contract] injected error with status ${status}`, provider: CONTRACT_PROVIDER_ID }))
  }
  const input = textOf(request.messages.at(-1)?.content ?? [])
  const id = `contract-${request.model}`
  if (!request.stream) {
    return Promise.resolve({ id, model: request.model, created: CREATED, choices: [{ index: 0, message: { role: 'assistant', content: [{ type: 'text', text: input }] }, finishReason: STOP }], usage: usageOf(input, input) })
  }
  return Promise.resolve(
    eventStream(async (enqueue, signal) => {
      enqueue({ type: 'response-start', id, model: request.model, created: CREATED })
      enqueue({ type: 'text-start', id: '0:text' })
      if (request.model === 'slow') {
        for (let i = 0; i < 2000 && !signal.aborted; i++) {
          enqueue({ type: 'text-delta', id: '0:text', delta: ` word${i}` })
          await tick(5)
        }
        if (signal.aborted) return
      } else {
        const words = wordsOf(input || 'contract')
        for (const [index, delta] of words.entries()) {
          if (request.model === 'broken' && index === 2) {
            enqueue({ type: 'error', error: new GatewayError({ status: 502, code: 'upstream', message: '[contract] stream broke off', provider: CONTRACT_PROVIDER_ID }) })
            return
          }
          enqueue({ type: 'text-delta', id: '0:text', delta })
          await tick(0)
        }
      }
      enqueue({ type: 'text-end', id: '0:text' })
      enqueue({ type: 'choice-end', choice: 0, finishReason: STOP })
      const usage = usageOf(input, input)
      enqueue({ type: 'usage', usage })
      enqueue({ type: 'finish', finishReason: STOP, usage })
    }, context.signal),
  )
}

/** Renders IR events as SSE: one `data:` line per event, errors as `event: error`. */
function renderContractStream(events: ReadableStream<StreamEvent>): ReadableStream<Uint8Array> {
  return events.pipeThrough(
    new TransformStream<StreamEvent, Uint8Array>({
      transform(event, controller) {
        if (event.type === 'error') controller.enqueue(encodeSse(JSON.stringify({ status: event.error.status, code: event.error.code, message: event.error.message }), 'error'))
        else controller.enqueue(encodeSse(JSON.stringify(event)))
      },
      flush(controller) {
        controller.enqueue(encodeSse('[DONE]'))
      },
    }),
  )
}

const renderError = (error: GatewayError) =>
  new Response(JSON.stringify({ error: { status: error.status, code: error.code, message: error.message } }), { status: error.status, headers: { 'content-type': 'application/json' } })

/** The contract's provider: register it beside your own; it serves `/contract/chat`. */
export const contractProvider = defineProvider({
  id: CONTRACT_PROVIDER_ID,
  spec: 1,
  dialect: 'contract',
  requiresKey: false,
  models: ['echo', 'slow', 'broken'],
  capabilities: () => ({ chat: true, stream: true }),
  invoke: { chat },
  surface: {
    basePath: '/contract',
    defaultProvider: CONTRACT_PROVIDER_ID,
    renderError,
    routes(app, host) {
      app.post('/chat', async (c) => {
        const body = await host.readJson(c)
        if (typeof body.model !== 'string') throw GatewayError.badRequest('model must be a string', 'model')
        const input = typeof body.input === 'string' ? body.input : ''
        return host.handle(c, {
          operation: 'chat',
          body,
          model: body.model,
          stream: body.stream === true,
          toIR: (model) => ({ model, messages: [{ role: 'user', content: [{ type: 'text', text: input }] }], stream: body.stream === true, extra: {} }),
          renderResponse: (response) => {
            const choice = response.choices[0]
            return { id: response.id, model: response.model, text: textOf(choice?.message.content ?? []), finish: choice?.finishReason.unified, usage: response.usage }
          },
          renderStream: (events) => renderContractStream(events),
        })
      })
    },
  },
})
