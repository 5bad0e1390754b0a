/**
 * OpenAI Responses API streaming (`stream: true`), both directions: the SSE events
 * (`event: response.created` ... `response.completed`) <-> IR stream events.
 * https://platform.openai.com/docs/api-reference/responses-streaming
 *
 * IR block ids are the output item ids (`msg_...`, `rs_...`, `fc_...`; a message's second
 * content part is `msg_...:1`), so a same-dialect render reproduces them. A reasoning item's
 * `encrypted_content` travels as `reasoning-signature`.
 */
import {
  isLocalDialect,
  codeForStatus, createSseDecoder, formatSse, GatewayError,
  type ChatRequest, type ChatResponse, type ContentPart, type FinishReason, type SseEvent, type StreamEvent, type Usage,
} from '@switchyard/core'
import { toOpenAIErrorBody } from './errors.js'
import { parseResponsesResponse, renderResponsesResponse } from './responses.js'

type Json = Record<string, unknown>
type Kind = 'text' | 'reasoning' | 'tool'

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const string = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** The event types the parser reads; every other type is ignored. */
const HANDLED = [
  'response.created', 'response.in_progress', 'response.output_item.added', 'response.output_item.done',
  'response.content_part.added', 'response.content_part.done', 'response.output_text.delta', 'response.output_text.done',
  'response.refusal.delta', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta', 'response.function_call_arguments.delta', 'response.function_call_arguments.done',
  'response.completed', 'response.incomplete', 'response.failed', 'error',
] as const
type Handled = (typeof HANDLED)[number]
const isHandled = (type: unknown): type is Handled => (HANDLED as readonly unknown[]).includes(type)

/** HTTP status OpenAI uses for an error code, for errors that arrive inside a 200 stream. */
const STATUS_FOR_CODE: Record<string, number> = {
  insufficient_quota: 429, rate_limit_exceeded: 429, invalid_prompt: 400, context_length_exceeded: 400,
  invalid_request_error: 400, server_error: 500, server_is_overloaded: 503, vector_store_timeout: 504,
}

/** An `error` event (`{error: {...}}` on the wire, flat in the spec) or a failed response's `error`. */
function streamError(raw: unknown): GatewayError {
  const error = isObject(raw) ? raw : {}
  const code = string(error.code) ?? string(error.type)
  const status = (code && STATUS_FOR_CODE[code]) || 500
  return new GatewayError({
    status, code: codeForStatus(status), provider: 'openai', type: code, param: string(error.param) ?? undefined,
    message: `[openai] ${string(error.message) ?? 'the response failed'}`,
  })
}

/** Responses API SSE bytes -> IR events, ending with one `finish` or one `error`. */
export function parseResponsesStream(body: ReadableStream<Uint8Array>): ReadableStream<StreamEvent> {
  let started = false
  let done = false
  let calledTools = false
  /** Blocks now open, by id, in start order. */
  const open = new Map<string, Kind>()
  /** Everything each block has received so far (also after it ended). */
  const seen = new Map<string, string>()

  return body.pipeThrough(createSseDecoder()).pipeThrough(new TransformStream<SseEvent, StreamEvent>({
    transform(sse, controller) {
      if (done || sse.data === '' || sse.data === '[DONE]') return
      const emit = (event: StreamEvent) => controller.enqueue(event)
      const fail = (error: GatewayError) => {
        done = true
        emit({ type: 'error', error })
      }
      let data: unknown
      try {
        data = JSON.parse(sse.data)
      } catch {
        return fail(new GatewayError({ status: 502, code: 'upstream', provider: 'openai', message: `[openai] stream failed: invalid JSON in a ${sse.event ?? 'message'} event` }))
      }
      if (!isObject(data)) return
      const type = data.type ?? sse.event
      if (!isHandled(type)) return

      const ensureStart = () => {
        if (!started) emit({ type: 'response-start', id: '', model: '' })
        started = true
      }
      const start = (kind: Kind, id: string, toolCallId = id, name = '') => {
        if (seen.has(id)) return
        ensureStart()
        open.set(id, kind)
        seen.set(id, '')
        if (kind === 'text') emit({ type: 'text-start', id })
        else if (kind === 'reasoning') emit({ type: 'reasoning-start', id })
        else emit({ type: 'tool-call-start', id, toolCallId, name })
      }
      const delta = (kind: Kind, id: string, text: string) => {
        start(kind, id)
        if (open.get(id) !== kind || text === '') return
        seen.set(id, seen.get(id)! + text)
        if (kind === 'text') emit({ type: 'text-delta', id, delta: text })
        else if (kind === 'reasoning') emit({ type: 'reasoning-delta', id, delta: text })
        else emit({ type: 'tool-call-delta', id, argumentsDelta: text })
      }
      /** A `...done` event carries the whole content: send what the deltas missed. */
      const complete = (kind: Kind, id: string, whole: unknown) => {
        const so = seen.get(id) ?? ''
        if (typeof whole === 'string' && whole.length > so.length && whole.startsWith(so)) delta(kind, id, whole.slice(so.length))
      }
      const end = (id: string) => {
        const kind = open.get(id)
        if (!kind) return
        open.delete(id)
        emit({ type: kind === 'text' ? 'text-end' : kind === 'reasoning' ? 'reasoning-end' : 'tool-call-end', id })
      }
      const textId = (itemId: unknown, contentIndex: unknown) => (contentIndex ? `${String(itemId)}:${String(contentIndex)}` : String(itemId))
      const itemId = String(data.item_id ?? '')

      switch (type) {
        case 'response.created':
        case 'response.in_progress': {
          if (started || !isObject(data.response)) return
          started = true
          const response = parseResponsesResponse({ ...data.response, output: [] })
          return emit({ type: 'response-start', id: response.id, model: response.model, created: response.created, dialect: 'openai-responses', ...(response.extra && { extra: response.extra }) })
        }
        case 'response.output_item.added':
        case 'response.output_item.done': {
          const item = isObject(data.item) ? data.item : {}
          const id = String(item.id ?? `item_${String(data.output_index)}`)
          const added = type === 'response.output_item.added'
          if (item.type === 'function_call') {
            calledTools = true
            start('tool', id, String(item.call_id ?? id), String(item.name ?? ''))
            complete('tool', id, item.arguments)
            if (!added) end(id)
          } else if (item.type === 'reasoning') {
            start('reasoning', id)
            if (added) return
            if (seen.get(id) === '' && Array.isArray(item.summary)) complete('reasoning', id, item.summary.map((part) => (isObject(part) ? string(part.text) ?? '' : '')).join('\n\n'))
            if (typeof item.encrypted_content === 'string' && open.has(id)) emit({ type: 'reasoning-signature', id, signature: item.encrypted_content })
            end(id)
          } else if (item.type === 'message' && !added && Array.isArray(item.content)) {
            item.content.forEach((part, index) => {
              if (!isObject(part)) return
              const partId = textId(id, index)
              if (part.type === 'output_text') {
                start('text', partId)
                complete('text', partId, part.text)
                end(partId)
              } else if (part.type === 'refusal' && !seen.has(partId) && typeof part.refusal === 'string') {
                ensureStart()
                seen.set(partId, part.refusal)
                emit({ type: 'refusal-delta', id: partId, delta: part.refusal })
              }
            })
          }
          return
        }
        case 'response.content_part.added':
          if (isObject(data.part) && data.part.type === 'output_text') start('text', textId(itemId, data.content_index))
          return
        case 'response.output_text.delta':
          return delta('text', textId(itemId, data.content_index), string(data.delta) ?? '')
        case 'response.output_text.done':
        case 'response.content_part.done': {
          const id = textId(itemId, data.content_index)
          if (open.get(id) !== 'text') return
          complete('text', id, type === 'response.output_text.done' ? data.text : isObject(data.part) ? data.part.text : undefined)
          return end(id)
        }
        case 'response.refusal.delta': {
          const id = textId(itemId, data.content_index)
          const text = string(data.delta) ?? ''
          ensureStart()
          seen.set(id, (seen.get(id) ?? '') + text)
          return emit({ type: 'refusal-delta', id, delta: text })
        }
        case 'response.reasoning_summary_part.added':
          // Summary parts join with a blank line, as in the non-streaming IR.
          start('reasoning', itemId)
          if (typeof data.summary_index === 'number' && data.summary_index > 0) delta('reasoning', itemId, '\n\n')
          return
        case 'response.reasoning_summary_text.delta':
        case 'response.reasoning_text.delta':
          return delta('reasoning', itemId, string(data.delta) ?? '')
        case 'response.function_call_arguments.delta':
          return delta('tool', itemId, string(data.delta) ?? '')
        case 'response.function_call_arguments.done':
          return complete('tool', itemId, data.arguments)
        case 'response.completed':
        case 'response.incomplete': {
          let finishReason: FinishReason
          let usage: Usage | undefined
          try {
            // A proxy may leave out `output`; the finish reason then rests on the calls seen.
            const response = parseResponsesResponse({ output: [], ...(isObject(data.response) ? data.response : {}) })
            finishReason = response.choices[0]!.finishReason
            usage = response.usage
          } catch (error) {
            return fail(GatewayError.is(error) ? error : streamError(undefined))
          }
          if (finishReason.unified === 'stop' && calledTools) finishReason = { unified: 'tool-calls', raw: finishReason.raw }
          ensureStart()
          for (const id of [...open.keys()]) end(id)
          done = true
          return emit({ type: 'finish', finishReason, usage })
        }
        case 'response.failed':
          return fail(streamError(isObject(data.response) ? data.response.error : undefined))
        case 'error':
          return fail(streamError(isObject(data.error) ? data.error : data))
        default: {
          const unreachable: never = type
          return unreachable
        }
      }
    },
    flush(controller) {
      if (!done) controller.enqueue({ type: 'error', error: new GatewayError({ status: 502, code: 'upstream', provider: 'openai', message: '[openai] stream ended before response.completed' }) })
    },
  }))
}

interface Block {
  kind: 'text' | 'refusal' | 'reasoning' | 'tool'
  /** `output_index` of the item. */
  index: number
  itemId: string
  /** The IR part being built; also what the final response renders. */
  part: ContentPart & { text?: string; arguments?: string }
  /** A reasoning summary part was announced. */
  summary: boolean
}

/**
 * IR events -> Responses API SSE bytes, in the order OpenAI sends them: `response.created`,
 * `response.in_progress`, per item `output_item.added` ... `output_item.done`, then one of
 * `response.completed`, `response.incomplete` or `response.failed` with the whole response.
 * Each event is `event: <type>` plus `data: <json>` with a growing `sequence_number`; no `[DONE]`.
 */
export function renderResponsesStream(events: ReadableStream<StreamEvent>, options: { model: string; request?: ChatRequest }): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let sequence = 0
  let finished = false
  let response: ChatResponse | undefined
  const parts: ContentPart[] = []
  const blocks = new Map<string, Block>()
  let usage: Usage | undefined

  return events.pipeThrough(new TransformStream<StreamEvent, Uint8Array>({
    transform(event, controller) {
      if (finished || ('choice' in event && event.choice !== undefined && event.choice !== 0)) return
      const send = (type: string, fields: Json) => controller.enqueue(encoder.encode(formatSse(JSON.stringify({ type, sequence_number: sequence++, ...fields }), type)))
      const snapshot = (content: ContentPart[], finish: FinishReason, request = options.request) =>
        renderResponsesResponse({ ...response!, choices: [{ index: 0, message: { role: 'assistant', content }, finishReason: finish }], usage: finish.raw === 'in_progress' ? undefined : usage }, { model: options.model, request })
      const begin = (id: string, created: number | undefined, extra: Json | undefined, dialect?: string) => {
        if (response) return
        const own = isLocalDialect('openai-responses', dialect)
        response = { id: id.startsWith('resp_') ? id : `resp_${id}`, model: options.model, created: created ?? 0, choices: [], usage: undefined, ...(dialect && { dialect }), ...(own && extra && { extra }) }
        const initial = snapshot([], { unified: 'other', raw: 'in_progress' })
        send('response.created', { response: initial })
        send('response.in_progress', { response: initial })
      }
      if (event.type !== 'response-start') begin('unknown', undefined, undefined)
      const core = response?.id.slice(5) ?? ''
      const itemOf = (part: ContentPart) => (snapshot([part], { unified: 'stop', raw: undefined }, undefined).output as Json[])[0]!

      const open = (id: string, kind: Block['kind'], part: Block['part'], prefix: string, item: Json): Block => {
        for (const [other, block] of blocks) if (block.kind === 'refusal') close(other)
        const index = parts.length
        const itemId = new RegExp(`^${prefix}_[^:]+$`).test(id) ? id : `${prefix}_${core}_${index}`
        if (kind === 'text' || kind === 'refusal') part.extra = { item: { id: itemId } }
        else part.extra = { id: itemId }
        const block: Block = { kind, index, itemId, part, summary: false }
        blocks.set(id, block)
        parts.push(part)
        send('response.output_item.added', { output_index: index, item: { id: itemId, ...item } })
        if (kind === 'text' || kind === 'refusal') send('response.content_part.added', { item_id: itemId, output_index: index, content_index: 0, part: contentOf(block, '') })
        return block
      }
      const contentOf = (block: Block, text: string) => (block.kind === 'refusal' ? { type: 'refusal', refusal: text } : { type: 'output_text', annotations: [], logprobs: [], text })
      const close = (id: string) => {
        const block = blocks.get(id)
        if (!block) return
        blocks.delete(id)
        const at = { item_id: block.itemId, output_index: block.index }
        const text = block.part.text ?? ''
        if (block.kind === 'text') send('response.output_text.done', { ...at, content_index: 0, text, logprobs: [] })
        if (block.kind === 'refusal') send('response.refusal.done', { ...at, content_index: 0, refusal: text })
        if (block.kind === 'text' || block.kind === 'refusal') send('response.content_part.done', { ...at, content_index: 0, part: contentOf(block, text) })
        if (block.kind === 'tool') send('response.function_call_arguments.done', { ...at, arguments: block.part.arguments })
        if (block.kind === 'reasoning' && block.summary) {
          send('response.reasoning_summary_text.done', { ...at, summary_index: 0, text })
          send('response.reasoning_summary_part.done', { ...at, summary_index: 0, part: { type: 'summary_text', text } })
        }
        send('response.output_item.done', { output_index: block.index, item: itemOf(block.part) })
      }
      const closeAll = () => {
        for (const id of [...blocks.keys()]) close(id)
      }

      switch (event.type) {
        case 'response-start':
          return begin(event.id, event.created, event.extra, event.dialect)
        case 'text-start':
          return void open(event.id, 'text', { type: 'text', text: '' }, 'msg', { type: 'message', status: 'in_progress', content: [], role: 'assistant' })
        case 'text-delta': {
          const block = blocks.get(event.id) ?? open(event.id, 'text', { type: 'text', text: '' }, 'msg', { type: 'message', status: 'in_progress', content: [], role: 'assistant' })
          block.part.text += event.delta
          return send('response.output_text.delta', { item_id: block.itemId, output_index: block.index, content_index: 0, delta: event.delta, logprobs: [] })
        }
        case 'refusal-delta': {
          const block = blocks.get(event.id) ?? open(event.id, 'refusal', { type: 'refusal', text: '' }, 'msg', { type: 'message', status: 'in_progress', content: [], role: 'assistant' })
          block.part.text += event.delta
          return send('response.refusal.delta', { item_id: block.itemId, output_index: block.index, content_index: 0, delta: event.delta })
        }
        case 'reasoning-start':
          return void open(event.id, 'reasoning', { type: 'reasoning', text: '', ...(event.redacted !== undefined && { redacted: event.redacted }) }, 'rs', { type: 'reasoning', summary: [] })
        case 'reasoning-delta': {
          const block = blocks.get(event.id) ?? open(event.id, 'reasoning', { type: 'reasoning', text: '' }, 'rs', { type: 'reasoning', summary: [] })
          const at = { item_id: block.itemId, output_index: block.index, summary_index: 0 }
          if (!block.summary) send('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } })
          block.summary = true
          block.part.text += event.delta
          return send('response.reasoning_summary_text.delta', { ...at, delta: event.delta })
        }
        case 'reasoning-signature': {
          const block = blocks.get(event.id)
          if (block?.part.type === 'reasoning') block.part.signature = event.signature
          return
        }
        case 'tool-call-start':
          return void open(event.id, 'tool', { type: 'tool-call', id: event.toolCallId, name: event.name, arguments: '' }, 'fc', { type: 'function_call', status: 'in_progress', arguments: '', call_id: event.toolCallId, name: event.name })
        case 'tool-call-delta': {
          const block = blocks.get(event.id)
          if (!block || block.part.type !== 'tool-call') return
          block.part.arguments += event.argumentsDelta
          return send('response.function_call_arguments.delta', { item_id: block.itemId, output_index: block.index, delta: event.argumentsDelta })
        }
        case 'text-end':
        case 'reasoning-end':
        case 'tool-call-end':
          return close(event.id)
        case 'choice-end':
          return
        case 'usage':
          usage = event.usage
          return
        case 'finish': {
          closeAll()
          finished = true
          usage = event.usage ?? usage
          const final = snapshot(parts, event.finishReason)
          const status = final.status
          return send(status === 'incomplete' ? 'response.incomplete' : status === 'failed' ? 'response.failed' : 'response.completed', { response: final })
        }
        case 'error': {
          finished = true
          const { error } = toOpenAIErrorBody(event.error)
          const code = error.code ?? error.type
          send('error', { code, message: error.message, param: error.param, error: { type: error.type, code, message: error.message, param: error.param } })
          return send('response.failed', { response: { ...snapshot(parts, { unified: 'error', raw: 'failed' }), error: { code, message: error.message } } })
        }
        default: {
          const unreachable: never = event
          return unreachable
        }
      }
    },
    flush(controller) {
      if (finished) return
      // The IR stream ended without `finish` or `error`: tell the caller the response failed.
      const error = new GatewayError({ status: 502, code: 'upstream', message: 'the upstream stream ended without finishing the response' })
      this.transform!({ type: 'error', error }, controller)
    },
  }))
}
