import { createSseDecoder, GatewayError, type FinishReason, type SseEvent, type StreamEvent, type Usage } from '@switchyard/core'
import { mapCohereFinishReason } from './finish-reason.js'
import { usageFromCohere } from './usage.js'
import { isObject, type Json } from './wire.js'

type Kind = 'text' | 'reasoning' | 'tool'
interface Block { kind: Kind; id: string; key: string }

/** The event types the parser reads; any other is skipped, as the API may add some. */
const HANDLED = ['message-start', 'content-start', 'content-delta', 'content-end', 'tool-plan-delta', 'tool-call-start', 'tool-call-delta', 'tool-call-end', 'message-end'] as const
type Handled = (typeof HANDLED)[number]
const isHandled = (type: unknown): type is Handled => (HANDLED as readonly unknown[]).includes(type)

const malformed = (details: string) => new GatewayError({ status: 502, code: 'upstream', message: `malformed stream event from cohere: ${details}` })

/** `delta.message.<member>` of a stream payload. */
function messageOf(payload: Json): Json {
  const delta = isObject(payload.delta) ? payload.delta : {}
  return isObject(delta.message) ? delta.message : {}
}

/**
 * Cohere v2 chat streaming (`stream: true`, https://docs.cohere.com/reference/chat-stream) -> IR
 * events. The SSE events are typed by their payload's `type`:
 * `message-start` -> `response-start`; `content-start`/`-delta`/`-end` -> a text block (`text`)
 * or a reasoning block (`thinking`); `tool-plan-delta` -> text (the plan before tool calls, as the
 * non-stream decoder reads `tool_plan`); `tool-call-start`/`-delta`/`-end` -> a tool call;
 * `message-end` -> `choice-end`, `usage` and one `finish`. `citation-start`/`-end` (no IR stream
 * event carries citations; the non-stream answer keeps them) and unknown types are skipped. A
 * payload that is not JSON, or an `error` event, becomes one `error` event and nothing follows.
 */
export function parseCohereStream(body: ReadableStream<Uint8Array>): ReadableStream<StreamEvent> {
  let started = false
  let done = false
  let blocks = 0
  let open: Block | undefined
  let usage: Usage | undefined
  let finishReason: FinishReason | undefined

  return body.pipeThrough(createSseDecoder()).pipeThrough(new TransformStream<SseEvent, StreamEvent>({
    transform(event, controller) {
      if (done) return
      const emit = (out: StreamEvent) => controller.enqueue(out)
      const fail = (error: GatewayError) => {
        done = true
        emit({ type: 'error', error })
        controller.terminate()
      }

      const close = () => {
        const block = open
        if (!block) return
        open = undefined
        switch (block.kind) {
          case 'text': return emit({ type: 'text-end', id: block.id })
          case 'reasoning': return emit({ type: 'reasoning-end', id: block.id })
          case 'tool': return emit({ type: 'tool-call-end', id: block.id })
          default: {
            const unreachable: never = block.kind
            return unreachable
          }
        }
      }
      /** Opens a text or reasoning block for wire `key` (closing another one first). */
      const begin = (kind: 'text' | 'reasoning', key: string) => {
        if (open?.key === key && open.kind === kind) return open
        close()
        open = { kind, id: `0:${kind}:${blocks++}`, key }
        emit({ type: kind === 'text' ? 'text-start' : 'reasoning-start', id: open.id })
        return open
      }
      const text = (kind: 'text' | 'reasoning', key: string, delta: unknown) => {
        if (typeof delta !== 'string' || delta === '') return
        const block = begin(kind, key)
        emit({ type: kind === 'text' ? 'text-delta' : 'reasoning-delta', id: block.id, delta })
      }
      const start = (id: string) => {
        if (started) return
        started = true
        emit({ type: 'response-start', id, model: '', dialect: 'cohere' })
      }

      if (event.event === 'error') return fail(new GatewayError({ status: 502, code: 'upstream', message: `[cohere] stream failed: ${event.data.slice(0, 500)}`, upstream: { status: 200, body: event.data.slice(0, 4000) } }))
      const data = event.data.trim()
      if (data === '' || data === '[DONE]') return
      let payload: unknown
      try {
        payload = JSON.parse(data)
      } catch {
        return fail(malformed(`not JSON: ${data.slice(0, 200)}`))
      }
      if (!isObject(payload)) return fail(malformed('not a JSON object'))
      const type = payload.type ?? event.event
      if (!isHandled(type)) return
      start(typeof payload.id === 'string' ? payload.id : '')
      const index = typeof payload.index === 'number' ? payload.index : 0
      const message = messageOf(payload)
      switch (type) {
        case 'message-start':
          return
        case 'content-start': {
          const content = isObject(message.content) ? message.content : {}
          const kind = content.type === 'thinking' ? 'reasoning' : 'text'
          begin(kind, `content:${index}`)
          return text(kind, `content:${index}`, kind === 'reasoning' ? content.thinking : content.text)
        }
        case 'content-delta': {
          const content = isObject(message.content) ? message.content : {}
          if (typeof content.thinking === 'string') return text('reasoning', `content:${index}`, content.thinking)
          return text('text', `content:${index}`, content.text)
        }
        case 'content-end':
          if (open?.key === `content:${index}`) close()
          return
        case 'tool-plan-delta':
          return text('text', 'plan', message.tool_plan)
        case 'tool-call-start': {
          const call = isObject(message.tool_calls) ? message.tool_calls : {}
          const fn = isObject(call.function) ? call.function : {}
          close()
          open = { kind: 'tool', id: `0:tool:${blocks++}`, key: `tool:${index}` }
          emit({ type: 'tool-call-start', id: open.id, toolCallId: typeof call.id === 'string' ? call.id : `call_${index}`, name: typeof fn.name === 'string' ? fn.name : '' })
          if (typeof fn.arguments === 'string' && fn.arguments !== '') emit({ type: 'tool-call-delta', id: open.id, argumentsDelta: fn.arguments })
          return
        }
        case 'tool-call-delta': {
          const call = isObject(message.tool_calls) ? message.tool_calls : {}
          const fn = isObject(call.function) ? call.function : {}
          if (open?.kind === 'tool' && open.key === `tool:${index}` && typeof fn.arguments === 'string' && fn.arguments !== '') emit({ type: 'tool-call-delta', id: open.id, argumentsDelta: fn.arguments })
          return
        }
        case 'tool-call-end':
          if (open?.key === `tool:${index}`) close()
          return
        case 'message-end': {
          const delta = isObject(payload.delta) ? payload.delta : {}
          close()
          finishReason = mapCohereFinishReason(typeof delta.finish_reason === 'string' ? delta.finish_reason : undefined)
          emit({ type: 'choice-end', choice: 0, finishReason })
          usage = usageFromCohere(delta.usage)
          if (usage) emit({ type: 'usage', usage })
          return finish(controller)
        }
        default: {
          const unreachable: never = type
          return unreachable
        }
      }
    },
    flush(controller) {
      if (!done) finish(controller)
    },
  }))

  /** One `finish`, last; also when the body ended without `message-end`. */
  function finish(controller: TransformStreamDefaultController<StreamEvent>): void {
    if (done) return
    done = true
    if (!started) {
      controller.enqueue({ type: 'error', error: malformed('the stream ended before any event') })
      return
    }
    if (open) {
      const block = open
      open = undefined
      controller.enqueue({ type: block.kind === 'tool' ? 'tool-call-end' : block.kind === 'text' ? 'text-end' : 'reasoning-end', id: block.id })
    }
    if (!finishReason) controller.enqueue({ type: 'choice-end', choice: 0, finishReason: { unified: 'other', raw: undefined } })
    controller.enqueue({ type: 'finish', finishReason: finishReason ?? { unified: 'other', raw: undefined }, usage })
  }
}
