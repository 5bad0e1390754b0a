/**
 * Anthropic Messages streaming (`stream: true`), both directions: the SSE events
 * (`message_start` ... `message_stop`) <-> IR stream events.
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 *
 * IR block ids are `0:<kind>:<n>`, `n` counting the blocks the IR carries (not the wire `index`),
 * so a render followed by a parse gives the same ids even when server-tool blocks were left out.
 *
 * Server-side tool blocks (`server_tool_use`, `web_search_tool_result`, `web_fetch_tool_result`,
 * `code_execution_tool_result`, `mcp_tool_use` ... and any block type added later) and
 * `citations_delta` have no IR stream event: they are skipped. They are not turned into
 * tool calls because the caller did not define those tools and must not run them; the text the
 * model wrote from their results comes through as ordinary text blocks.
 */
import { codeForStatus, createSseDecoder, formatSse, GatewayError, localizeUsage, type FinishReason, type SseEvent, type StreamEvent, type Usage } from '@switchyard/core'
import { toAnthropicErrorBody } from './errors.js'
import { mapAnthropicStopReason, toAnthropicStopReason } from './finish-reason.js'
import { toAnthropicUsage, usageFromAnthropic } from './usage.js'

type Json = Record<string, unknown>
type Kind = 'text' | 'reasoning' | 'tool'

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const string = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** The stream event types the parser reads; any other type is skipped, as the API may add some. */
const HANDLED = ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping', 'error'] as const
type Handled = (typeof HANDLED)[number]
const isHandled = (type: unknown): type is Handled => (HANDLED as readonly unknown[]).includes(type)

/** HTTP status of each Anthropic error `type`, for errors that arrive inside a 200 stream (https://docs.anthropic.com/en/api/errors). */
const STATUS_FOR_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400, authentication_error: 401, billing_error: 402, permission_error: 403, not_found_error: 404,
  request_too_large: 413, rate_limit_error: 429, api_error: 500, timeout_error: 504, overloaded_error: 529,
}

/** Options of {@link parseMessagesStream}. */
export interface ParseMessagesStreamOptions {
  /** Provider id named in errors (`[<provider>] ...`). Default `anthropic`. */
  provider?: string
}

/**
 * Anthropic Messages SSE -> IR events: `response-start` and a `usage` (input counts) at
 * `message_start`; per content block `*-start`/`*-delta`/`*-end` (`thinking` and `redacted_thinking`
 * as reasoning, `tool_use` as a tool call); at `message_delta` the merged `usage` and one
 * `choice-end`; then one `finish` at `message_stop` (or when the body ends). An `error` event or a
 * payload that is not JSON becomes one `error` event and nothing follows it.
 */
export function parseMessagesStream(body: ReadableStream<Uint8Array>, options: ParseMessagesStreamOptions = {}): ReadableStream<StreamEvent> {
  const provider = options.provider ?? 'anthropic'
  /** Blocks now open, by wire `index`; `skip` marks a block the IR does not carry. */
  const blocks = new Map<number, { kind: Kind | 'skip'; id: string }>()
  let count = 0
  let started = false
  let done = false
  let choiceEnded = false
  let finishReason: FinishReason | undefined
  /** The usage counters seen so far: `message_start`'s, overwritten by the cumulative ones of `message_delta`. */
  let rawUsage: Json = {}
  let usage: Usage | undefined

  const malformed = (details: string) =>
    new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] malformed stream event from upstream: ${details}` })

  return body.pipeThrough(createSseDecoder()).pipeThrough(new TransformStream<SseEvent, StreamEvent>({
    transform(event, controller) {
      if (done) return
      const emit = (out: StreamEvent) => controller.enqueue(out)
      const fail = (error: GatewayError) => {
        done = true
        emit({ type: 'error', error })
        controller.terminate()
      }

      const data = event.data.trim()
      if (data === '') {
        if (event.event === 'error') fail(streamError(undefined, data, provider))
        return
      }
      let json: unknown
      try {
        json = JSON.parse(data)
      } catch {
        return fail(malformed(`not JSON: ${data.slice(0, 200)}`))
      }
      if (!isObject(json)) return fail(malformed('not a JSON object'))
      const type = event.event === 'error' ? 'error' : json.type ?? event.event
      if (!isHandled(type)) return
      if (!started && type !== 'message_start' && type !== 'ping' && type !== 'error') return fail(malformed(`${String(type)} before message_start`))

      switch (type) {
        case 'ping':
          return
        case 'error':
          return fail(streamError(json.error ?? json, data, provider))
        case 'message_start': {
          if (started) return
          started = true
          const message = isObject(json.message) ? json.message : {}
          emit({ type: 'response-start', id: string(message.id) ?? '', model: string(message.model) ?? '', dialect: 'anthropic' })
          if (isObject(message.usage)) {
            rawUsage = { ...message.usage }
            usage = usageFromAnthropic(rawUsage)
            if (usage) emit({ type: 'usage', usage })
          }
          return
        }
        case 'content_block_start': {
          const index = json.index
          const block = json.content_block
          if (typeof index !== 'number' || !isObject(block)) return fail(malformed('content_block_start without index or content_block'))
          const previous = blocks.get(index)
          if (previous) endBlock(controller, previous)
          const id = (kind: Kind) => `0:${kind}:${count++}`
          switch (block.type) {
            case 'text': {
              const open = { kind: 'text' as const, id: id('text') }
              blocks.set(index, open)
              emit({ type: 'text-start', id: open.id })
              if (string(block.text)) emit({ type: 'text-delta', id: open.id, delta: block.text as string })
              return
            }
            case 'thinking':
            case 'redacted_thinking': {
              const open = { kind: 'reasoning' as const, id: id('reasoning') }
              blocks.set(index, open)
              if (block.type === 'redacted_thinking') return emit({ type: 'reasoning-start', id: open.id, redacted: string(block.data) ?? '' })
              emit({ type: 'reasoning-start', id: open.id })
              if (string(block.thinking)) emit({ type: 'reasoning-delta', id: open.id, delta: block.thinking as string })
              if (string(block.signature)) emit({ type: 'reasoning-signature', id: open.id, signature: block.signature as string })
              return
            }
            case 'tool_use': {
              const open = { kind: 'tool' as const, id: id('tool') }
              blocks.set(index, open)
              emit({ type: 'tool-call-start', id: open.id, toolCallId: string(block.id) ?? '', name: string(block.name) ?? '' })
              // The API starts with `input: {}` and streams the JSON; a producer that sends it whole is read too.
              if (isObject(block.input) && Object.keys(block.input).length > 0) emit({ type: 'tool-call-delta', id: open.id, argumentsDelta: JSON.stringify(block.input) })
              return
            }
            default:
              blocks.set(index, { kind: 'skip', id: '' })
              return
          }
        }
        case 'content_block_delta': {
          const block = typeof json.index === 'number' ? blocks.get(json.index) : undefined
          const delta = isObject(json.delta) ? json.delta : {}
          if (!block) return fail(malformed(`content_block_delta for index ${String(json.index)}, which is not open`))
          if (block.kind === 'skip' || delta.type === 'citations_delta') return
          const wanted = (kind: Kind, value: unknown): value is string => {
            if (block.kind === kind) return typeof value === 'string' && value !== ''
            fail(malformed(`${String(delta.type)} in a ${block.kind} block`))
            return false
          }
          switch (delta.type) {
            case 'text_delta':
              if (wanted('text', delta.text)) emit({ type: 'text-delta', id: block.id, delta: delta.text })
              return
            case 'input_json_delta':
              if (wanted('tool', delta.partial_json)) emit({ type: 'tool-call-delta', id: block.id, argumentsDelta: delta.partial_json })
              return
            case 'thinking_delta':
              if (wanted('reasoning', delta.thinking)) emit({ type: 'reasoning-delta', id: block.id, delta: delta.thinking })
              return
            case 'signature_delta':
              if (wanted('reasoning', delta.signature)) emit({ type: 'reasoning-signature', id: block.id, signature: delta.signature })
              return
            default:
              return // a delta type added later
          }
        }
        case 'content_block_stop': {
          const block = typeof json.index === 'number' ? blocks.get(json.index) : undefined
          if (!block) return
          blocks.delete(json.index as number)
          return endBlock(controller, block)
        }
        case 'message_delta': {
          endAll(controller)
          const delta = isObject(json.delta) ? json.delta : {}
          if (delta.stop_reason !== undefined) finishReason = mapAnthropicStopReason(delta.stop_reason as string | null)
          if (isObject(json.usage)) {
            // Counters are cumulative totals; `null` (or absent) means "not reported here", never 0.
            for (const [name, value] of Object.entries(json.usage)) if (value !== null && value !== undefined) rawUsage[name] = value
            usage = usageFromAnthropic(rawUsage)
            if (usage) emit({ type: 'usage', usage })
          }
          if (!choiceEnded) {
            choiceEnded = true
            emit({ type: 'choice-end', choice: 0, finishReason: finishReason ?? { unified: 'other', raw: undefined } })
          }
          return
        }
        case 'message_stop':
          return finish(controller)
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

  function endAll(controller: TransformStreamDefaultController<StreamEvent>): void {
    for (const block of blocks.values()) endBlock(controller, block)
    blocks.clear()
  }

  /** Ends what is open and sends the one `finish`; also when `message_stop` (or `message_delta`) never came. */
  function finish(controller: TransformStreamDefaultController<StreamEvent>): void {
    done = true
    if (!started) {
      controller.enqueue({ type: 'error', error: malformed('the stream ended before message_start') })
      return
    }
    endAll(controller)
    const reason = finishReason ?? { unified: 'other' as const, raw: undefined }
    if (!choiceEnded) controller.enqueue({ type: 'choice-end', choice: 0, finishReason: reason })
    controller.enqueue({ type: 'finish', finishReason: reason, usage })
  }
}

/** The `*-end` event of an open block (none for a skipped one). */
function endBlock(controller: TransformStreamDefaultController<StreamEvent>, block: { kind: Kind | 'skip'; id: string }): void {
  switch (block.kind) {
    case 'text': return controller.enqueue({ type: 'text-end', id: block.id })
    case 'reasoning': return controller.enqueue({ type: 'reasoning-end', id: block.id })
    case 'tool': return controller.enqueue({ type: 'tool-call-end', id: block.id })
    case 'skip': return
    default: {
      const unreachable: never = block.kind
      return unreachable
    }
  }
}

/** An `error` event's `{type, message}` -> GatewayError with the status Anthropic uses for that type (unknown -> 502). */
function streamError(raw: unknown, data: string, provider: string): GatewayError {
  const error = isObject(raw) ? raw : {}
  const type = string(error.type)
  const status = type !== undefined && Object.hasOwn(STATUS_FOR_TYPE, type) ? STATUS_FOR_TYPE[type]! : 502
  return new GatewayError({
    status,
    code: codeForStatus(status),
    provider,
    type,
    message: `[${provider}] ${string(error.message) ?? 'the stream failed'}`,
    upstream: { status, body: data.slice(0, 4000) },
  })
}

// ---------------------------------------------------------------------------------------------
// Render

/** Options of {@link renderMessagesStream}. */
export interface RenderMessagesStreamOptions {
  /** Model reported in `message_start` (the name the caller asked for). */
  model: string
  /** Message id; defaults to the `response-start` id, prefixed with `msg_` unless it has the prefix. */
  id?: string
}

interface RenderBlock { kind: Kind; ended: boolean; redacted?: string; toolCallId?: string; name?: string }

/**
 * IR events -> Anthropic Messages SSE bytes, in the order the Anthropic SDKs expect:
 * `message_start`, `ping`, per block `content_block_start` / `content_block_delta`... /
 * `content_block_stop` with consecutive indices from 0, then `message_delta` (stop reason and the
 * whole usage) and `message_stop`. One SSE event per IR delta, never coalesced.
 *
 * - `message_start` waits for the event after `response-start`: when that is a `usage` (as an
 *   Anthropic upstream gives), its counts go in; otherwise (OpenAI reports usage last) it carries 0
 *   and the real counts come in `message_delta`, which carries input and cache counts too.
 * - Anthropic blocks cannot interleave. A text or thinking block that is interrupted is closed and
 *   continues in a new block of the same type; while a tool call is open, events of other blocks wait
 *   until it ends (a tool call cannot be split). Arguments for a call that already ended cannot be
 *   placed and end the stream with an error rather than leaving broken JSON.
 * - Events for `choice` > 0 are dropped: Anthropic has one choice, and the Anthropic surface never
 *   asks for more. A refusal is rendered as text (the stop reason says `refusal`).
 * - An `error` event becomes `event: error` and ends the stream.
 */
export function renderMessagesStream(events: ReadableStream<StreamEvent>, options: RenderMessagesStreamOptions): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const blocks = new Map<string, RenderBlock>()
  let output!: TransformStreamDefaultController<Uint8Array>
  let responseId: string | undefined
  /** Dialect the events were decoded from: usage extras of another dialect stay off the wire. */
  let sourceDialect: string | undefined
  let awaitingStart = false
  let opened = false
  let closed = false
  let usage: Usage | undefined
  /** The block that owns the wire now. */
  let current: { id: string; index: number; kind: Kind } | undefined
  let nextIndex = 0
  /** Events of other blocks, waiting for the open tool call to end. */
  let held: StreamEvent[] = []

  const send = (type: string, payload: Json) => output.enqueue(encoder.encode(formatSse(JSON.stringify({ type, ...payload }), type)))

  const open = () => {
    if (opened) return
    opened = true
    const id = options.id ?? (responseId?.startsWith('msg_') ? responseId : `msg_${responseId || 'unknown'}`)
    send('message_start', {
      message: { id, type: 'message', role: 'assistant', content: [], model: options.model, stop_reason: null, stop_sequence: null, usage: toAnthropicUsage(localizeUsage(usage, 'anthropic', sourceDialect)) },
    })
    send('ping', {})
  }

  const closeWire = () => {
    if (!current) return
    send('content_block_stop', { index: current.index })
    current = undefined
  }

  const openWire = (id: string, block: RenderBlock) => {
    closeWire()
    const index = nextIndex++
    current = { id, index, kind: block.kind }
    const content =
      block.kind === 'text' ? { type: 'text', text: '' }
      : block.kind === 'tool' ? { type: 'tool_use', id: block.toolCallId, name: block.name, input: {} }
      : block.redacted !== undefined ? { type: 'redacted_thinking', data: block.redacted }
      : { type: 'thinking', thinking: '', signature: '' }
    send('content_block_start', { index, content_block: content })
  }

  /** Makes a text or reasoning block the open one (a new wire block when it was interrupted). */
  const resume = (id: string, kind: 'text' | 'reasoning'): RenderBlock => {
    let block = blocks.get(id)
    if (!block || block.kind !== kind) blocks.set(id, (block = { kind, ended: false }))
    if (current?.id !== id) openWire(id, block)
    return block
  }

  const fail = (error: GatewayError) => {
    closed = true
    send('error', toAnthropicErrorBody(error))
    output.terminate()
  }

  /** Replays the events that waited behind a tool call. */
  const release = () => {
    const waiting = held
    held = []
    for (const event of waiting) handle(event)
  }

  function handle(event: StreamEvent): void {
    if (closed) return
    if ('choice' in event && (event.choice ?? 0) !== 0) return
    if (event.type === 'response-start') {
      responseId ??= event.id
      sourceDialect = event.dialect
      awaitingStart = true
      return
    }
    if (event.type === 'usage') {
      usage = event.usage
      if (awaitingStart) open()
      return
    }
    if (event.type === 'error') return fail(event.error)
    open()

    const blockId = event.type === 'refusal-delta' ? `refusal:${event.id}` : 'id' in event ? event.id : undefined
    if (blockId !== undefined && current?.kind === 'tool' && current.id !== blockId) {
      held.push(event)
      return
    }

    switch (event.type) {
      case 'text-start':
        blocks.set(event.id, { kind: 'text', ended: false })
        return openWire(event.id, blocks.get(event.id)!)
      case 'reasoning-start':
        blocks.set(event.id, { kind: 'reasoning', ended: false, redacted: event.redacted })
        return openWire(event.id, blocks.get(event.id)!)
      case 'tool-call-start':
        blocks.set(event.id, { kind: 'tool', ended: false, toolCallId: event.toolCallId, name: event.name })
        return openWire(event.id, blocks.get(event.id)!)
      case 'text-delta':
        if (event.delta === '') return
        resume(event.id, 'text')
        return send('content_block_delta', { index: current!.index, delta: { type: 'text_delta', text: event.delta } })
      case 'refusal-delta':
        if (event.delta === '') return
        resume(`refusal:${event.id}`, 'text')
        return send('content_block_delta', { index: current!.index, delta: { type: 'text_delta', text: event.delta } })
      case 'reasoning-delta':
      case 'reasoning-signature': {
        const text = event.type === 'reasoning-delta' ? event.delta : event.signature
        // A redacted block has no text to add to.
        if (text === '' || blocks.get(event.id)?.redacted !== undefined) return
        resume(event.id, 'reasoning')
        const delta = event.type === 'reasoning-delta' ? { type: 'thinking_delta', thinking: text } : { type: 'signature_delta', signature: text }
        return send('content_block_delta', { index: current!.index, delta })
      }
      case 'tool-call-delta': {
        if (event.argumentsDelta === '') return
        if (current?.id !== event.id) {
          const known = blocks.has(event.id)
          return fail(new GatewayError({
            status: 502, code: 'upstream',
            message: known ? 'tool call arguments arrived after the call ended' : 'tool call arguments arrived for a call that never started',
          }))
        }
        return send('content_block_delta', { index: current.index, delta: { type: 'input_json_delta', partial_json: event.argumentsDelta } })
      }
      case 'text-end':
      case 'reasoning-end':
      case 'tool-call-end': {
        const block = blocks.get(event.id)
        if (block) block.ended = true
        if (current?.id !== event.id) return
        const wasTool = current.kind === 'tool'
        closeWire()
        if (wasTool) release()
        return
      }
      case 'choice-end':
        return // the stop reason goes out with `finish`
      case 'finish': {
        // Close what is open, letting anything that waited behind a tool call out first.
        for (;;) {
          closeWire()
          if (held.length === 0) break
          release()
          if (closed) return
        }
        send('message_delta', { delta: { stop_reason: toAnthropicStopReason(event.finishReason), stop_sequence: null }, usage: toAnthropicUsage(localizeUsage(event.usage ?? usage, 'anthropic', sourceDialect)) })
        send('message_stop', {})
        closed = true
        return
      }
      default: {
        const unreachable: never = event
        return unreachable
      }
    }
  }

  return events.pipeThrough(new TransformStream<StreamEvent, Uint8Array>({
    start(controller) {
      output = controller
    },
    transform(event) {
      handle(event)
    },
    flush() {
      if (!closed) fail(new GatewayError({ status: 502, code: 'upstream', message: 'the response stream ended unexpectedly' }))
    },
  }))
}
