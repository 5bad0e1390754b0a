/**
 * ConverseStream (`POST /model/{modelId}/converse-stream`): the binary event stream, decoded as it
 * arrives, -> IR stream events.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 *
 * Events: `messageStart`, `contentBlockStart` (tool calls only; text and reasoning blocks begin
 * with their first delta), `contentBlockDelta` (`text`, `toolUse.input`, `reasoningContent.text` /
 * `.signature` / `.redactedContent`), `contentBlockStop`, `messageStop` (the stop reason) and
 * `metadata` (usage, metrics), which is the last. Exceptions arrive as frames with
 * `:message-type: exception` (`throttlingException` ...) and end the stream with one `error` event.
 * Every payload carries a `p` padding member (random letters against length side channels): ignored.
 *
 * IR block ids are `0:<kind>:<n>` as in the Anthropic parser, `n` counting blocks in order.
 */
import { codeForStatus, GatewayError, type FinishReason, type StreamEvent, type Usage } from '@switchyard/core'
import { EventStreamDecoder, EventStreamError, type EventStreamMessage } from './event-stream.js'
import { CONVERSE_DIALECT, isObject, mapConverseStopReason, string, usageFromConverse, type Json } from './wire.js'

type Kind = 'text' | 'reasoning' | 'tool'

/** The event types the parser reads; others (added later) are skipped. */
const HANDLED = ['messageStart', 'contentBlockStart', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata'] as const
type Handled = (typeof HANDLED)[number]
const isHandled = (type: unknown): type is Handled => (HANDLED as readonly unknown[]).includes(type)

/**
 * HTTP status of each Bedrock exception, for exceptions that arrive inside a 200 stream
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors).
 * Names are matched without case (the stream spells them `throttlingException`).
 */
export const EXCEPTION_STATUS: Readonly<Record<string, number>> = {
  accessdeniedexception: 403,
  internalserverexception: 500,
  modelerrorexception: 424,
  modelnotreadyexception: 429,
  modelstreamerrorexception: 424,
  modeltimeoutexception: 408,
  resourcenotfoundexception: 404,
  servicequotaexceededexception: 400,
  serviceunavailableexception: 503,
  throttlingexception: 429,
  validationexception: 400,
}

/** The status for an exception name, 502 when unknown. */
export function statusForException(type: string | undefined): number {
  const status = type === undefined ? undefined : EXCEPTION_STATUS[type.toLowerCase()]
  return status ?? 502
}

export interface ParseConverseStreamOptions {
  /** Provider id named in errors. Default `bedrock`. */
  provider?: string
}

const utf8 = new TextDecoder()

/**
 * Converse event stream bytes -> IR events: `response-start` at `messageStart`; per block
 * `*-start`/`*-delta`/`*-end`; `choice-end` at `messageStop`; `usage` and the one `finish` at
 * `metadata` (or when the body ends after `messageStop`). A bad frame (CRC mismatch, truncation),
 * a payload that is not JSON, or an exception frame becomes one `error` event, and nothing follows.
 */
export function parseConverseStream(body: ReadableStream<Uint8Array>, options: ParseConverseStreamOptions = {}): ReadableStream<StreamEvent> {
  const provider = options.provider ?? 'bedrock'
  const decoder = new EventStreamDecoder()
  const blocks = new Map<number, { kind: Kind; id: string }>()
  let count = 0
  let started = false
  let done = false
  let choiceEnded = false
  let finishReason: FinishReason | undefined
  let usage: Usage | undefined

  const malformed = (details: string) => new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] malformed stream event from upstream: ${details}` })

  return body.pipeThrough(new TransformStream<Uint8Array, StreamEvent>({
    transform(chunk, controller) {
      if (done) return
      let messages: EventStreamMessage[]
      try {
        messages = decoder.feed(chunk)
      } catch (error) {
        return fail(controller, malformed((error as Error).message))
      }
      for (const message of messages) {
        handle(message, controller)
        if (done) return
      }
    },
    flush(controller) {
      if (done) return
      try {
        decoder.end()
      } catch (error) {
        return fail(controller, malformed((error as EventStreamError).message))
      }
      if (!choiceEnded) return fail(controller, malformed(started ? 'the stream ended before messageStop' : 'the stream ended before messageStart'))
      finish(controller)
    },
  }))

  function fail(controller: TransformStreamDefaultController<StreamEvent>, error: GatewayError): void {
    done = true
    controller.enqueue({ type: 'error', error })
    controller.terminate()
  }

  function handle(message: EventStreamMessage, controller: TransformStreamDefaultController<StreamEvent>): void {
    const emit = (event: StreamEvent) => controller.enqueue(event)
    const kind = message.headers[':message-type']
    const text = utf8.decode(message.payload)
    if (kind === 'exception' || kind === 'error') return fail(controller, streamException(message, text, provider))
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return fail(controller, malformed(`not JSON: ${text.slice(0, 200)}`))
    }
    if (!isObject(json)) return fail(controller, malformed('not a JSON object'))
    const type = message.headers[':event-type']
    if (!isHandled(type)) return
    if (!started && type !== 'messageStart') return fail(controller, malformed(`${type} before messageStart`))

    switch (type) {
      case 'messageStart':
        if (started) return
        started = true
        return emit({ type: 'response-start', id: '', model: '', dialect: CONVERSE_DIALECT })
      case 'contentBlockStart': {
        const index = json.contentBlockIndex
        const start = isObject(json.start) ? json.start : {}
        if (typeof index !== 'number') return fail(controller, malformed('contentBlockStart without contentBlockIndex'))
        const tool = isObject(start.toolUse) ? start.toolUse : undefined
        // Other block starts (server tool results ...) have no IR event: their deltas are skipped too.
        if (!tool) return
        const block = open(index, 'tool', controller)
        return emit({ type: 'tool-call-start', id: block.id, toolCallId: string(tool.toolUseId) ?? '', name: string(tool.name) ?? '' })
      }
      case 'contentBlockDelta': {
        const index = json.contentBlockIndex
        const delta = isObject(json.delta) ? json.delta : undefined
        if (typeof index !== 'number' || !delta) return fail(controller, malformed('contentBlockDelta without contentBlockIndex or delta'))
        return onDelta(index, delta, controller)
      }
      case 'contentBlockStop': {
        const index = json.contentBlockIndex
        const block = typeof index === 'number' ? blocks.get(index) : undefined
        if (!block) return
        blocks.delete(index as number)
        return endBlock(controller, block)
      }
      case 'messageStop':
        endAll(controller)
        finishReason = mapConverseStopReason(string(json.stopReason))
        if (!choiceEnded) {
          choiceEnded = true
          emit({ type: 'choice-end', choice: 0, finishReason })
        }
        return
      case 'metadata': {
        const reported = usageFromConverse(json.usage)
        if (reported) {
          usage = reported
          emit({ type: 'usage', usage })
        }
        // `metadata` is the last event of a ConverseStream answer.
        if (choiceEnded) finish(controller)
        return
      }
      default: {
        const unreachable: never = type
        return unreachable
      }
    }
  }

  function onDelta(index: number, delta: Json, controller: TransformStreamDefaultController<StreamEvent>): void {
    const emit = (event: StreamEvent) => controller.enqueue(event)
    if (typeof delta.text === 'string') {
      if (delta.text === '') return
      const block = blockFor(index, 'text', controller)
      if (block) emit({ type: 'text-delta', id: block.id, delta: delta.text })
      return
    }
    if (isObject(delta.toolUse)) {
      const input = string(delta.toolUse.input)
      const block = blocks.get(index)
      if (!block || block.kind !== 'tool') return fail(controller, malformed(`toolUse delta for block ${index}, which is not an open tool call`))
      if (input) emit({ type: 'tool-call-delta', id: block.id, argumentsDelta: input })
      return
    }
    if (isObject(delta.reasoningContent)) {
      const reasoning = delta.reasoningContent
      if (typeof reasoning.redactedContent === 'string') {
        // A redacted block carries its opaque data once, at its start.
        if (blocks.has(index)) return fail(controller, malformed(`redactedContent inside open block ${index}`))
        const block = { kind: 'reasoning' as const, id: `0:reasoning:${count++}` }
        blocks.set(index, block)
        return emit({ type: 'reasoning-start', id: block.id, redacted: reasoning.redactedContent })
      }
      const text = string(reasoning.text)
      const signature = string(reasoning.signature)
      if (!text && !signature) return
      const block = blockFor(index, 'reasoning', controller)
      if (!block) return
      if (text) emit({ type: 'reasoning-delta', id: block.id, delta: text })
      if (signature) emit({ type: 'reasoning-signature', id: block.id, signature })
      return
    }
    // citation and later delta types have no IR event.
  }

  /** The open block at `index`, opened as `kind` on its first delta; an error when it is of another kind. */
  function blockFor(index: number, kind: 'text' | 'reasoning', controller: TransformStreamDefaultController<StreamEvent>): { kind: Kind; id: string } | undefined {
    const block = blocks.get(index)
    if (block) {
      if (block.kind === kind) return block
      fail(controller, malformed(`${kind} delta in ${block.kind} block ${index}`))
      return undefined
    }
    const opened = open(index, kind, controller)
    controller.enqueue(kind === 'text' ? { type: 'text-start', id: opened.id } : { type: 'reasoning-start', id: opened.id })
    return opened
  }

  function open(index: number, kind: Kind, controller: TransformStreamDefaultController<StreamEvent>): { kind: Kind; id: string } {
    const previous = blocks.get(index)
    if (previous) endBlock(controller, previous)
    const block = { kind, id: `0:${kind}:${count++}` }
    blocks.set(index, block)
    return block
  }

  function endAll(controller: TransformStreamDefaultController<StreamEvent>): void {
    for (const block of blocks.values()) endBlock(controller, block)
    blocks.clear()
  }

  function finish(controller: TransformStreamDefaultController<StreamEvent>): void {
    done = true
    endAll(controller)
    controller.enqueue({ type: 'finish', finishReason: finishReason ?? { unified: 'other', raw: undefined }, usage })
  }
}

function endBlock(controller: TransformStreamDefaultController<StreamEvent>, block: { kind: Kind; id: string }): void {
  switch (block.kind) {
    case 'text': return controller.enqueue({ type: 'text-end', id: block.id })
    case 'reasoning': return controller.enqueue({ type: 'reasoning-end', id: block.id })
    case 'tool': return controller.enqueue({ type: 'tool-call-end', id: block.id })
    default: {
      const unreachable: never = block.kind
      return unreachable
    }
  }
}

/** An exception (or error) frame -> GatewayError with Bedrock's status for that exception. */
function streamException(message: EventStreamMessage, text: string, provider: string): GatewayError {
  const headers = message.headers
  const type = typeof headers[':exception-type'] === 'string' ? (headers[':exception-type'] as string) : typeof headers[':error-code'] === 'string' ? (headers[':error-code'] as string) : undefined
  let detail = typeof headers[':error-message'] === 'string' ? (headers[':error-message'] as string) : undefined
  try {
    const json: unknown = JSON.parse(text)
    if (isObject(json)) detail = string(json.message) ?? string(json.Message) ?? detail
  } catch {
    if (text.trim()) detail ??= text.trim().slice(0, 500)
  }
  const status = statusForException(type)
  return new GatewayError({
    status,
    code: codeForStatus(status),
    provider,
    type,
    message: `[${provider}] ${type ?? 'stream error'}: ${detail ?? 'the stream failed'}`,
    upstream: { status, body: text.slice(0, 4000) },
  })
}
