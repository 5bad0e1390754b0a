/**
 * Gemini streaming (`:streamGenerateContent?alt=sse`), both directions: SSE events whose data is
 * a partial `GenerateContentResponse` <-> IR stream events.
 * https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 *
 * Gemini sends parts, not blocks: consecutive text parts of a candidate form one IR text block,
 * consecutive thought parts one reasoning block; each function call arrives whole and is one
 * tool-call block. Signatures follow the rules of `content.ts`: a `thoughtSignature` on a
 * non-thought part is a signature-only reasoning block before that part's block.
 *
 * IR block ids are `<candidate>:<kind>:<n>`, `n` counting the blocks of the candidate.
 */
import { createSseDecoder, GatewayError, localizeUsage, type FinishReason, type SseEvent, type StreamEvent, type Usage } from '@switchyard/core'
import { parseGeminiStreamError, toGeminiErrorBody } from './errors.js'
import { mapGeminiBlockReason, mapGeminiFinishReason, toGeminiFinishReason } from './finish-reason.js'
import { toGeminiUsage, usageFromGemini } from './usage.js'
import { isObject, isSyntheticToolCallId, parseJson, syntheticToolCallId, type Json } from './wire.js'

type Kind = 'text' | 'reasoning'

interface CandidateState {
  /** The text or reasoning block now open. */
  open: { kind: Kind; id: string; signed: boolean; hasText: boolean } | undefined
  blocks: number
  calls: number
  calledTools: boolean
  ended: boolean
}

/** Options of {@link parseGenerateContentStream}. */
export interface ParseGenerateContentStreamOptions {
  /** Provider id named in errors (`[<provider>] ...`). Default `gemini`. */
  provider?: string
}

/**
 * Gemini SSE -> IR events: `response-start` at the first event; per candidate, text, reasoning
 * and tool-call blocks; `choice-end` when a candidate has its `finishReason` (`tool-calls` for a
 * `STOP` after function calls); at the end one `usage` (Gemini's counts are cumulative, the last
 * ones are kept) and one `finish`. An `{"error": ...}` event or data that is not JSON becomes one
 * `error` event and nothing follows it.
 */
export function parseGenerateContentStream(body: ReadableStream<Uint8Array>, options: ParseGenerateContentStreamOptions = {}): ReadableStream<StreamEvent> {
  const provider = options.provider ?? 'gemini'
  const candidates = new Map<number, CandidateState>()
  const reasons = new Map<number, FinishReason>()
  let started = false
  let done = false
  let usage: Usage | undefined

  const malformed = (details: string) =>
    new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] malformed stream event from upstream: ${details}` })

  const stateOf = (index: number): CandidateState => {
    let state = candidates.get(index)
    if (!state) candidates.set(index, (state = { open: undefined, blocks: 0, calls: 0, calledTools: false, ended: false }))
    return state
  }

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
      if (data === '' || data === '[DONE]') return
      const parsed = parseJson(data)
      if (!parsed) return fail(malformed(`not JSON: ${data.slice(0, 200)}`))
      const json = Array.isArray(parsed.value) && parsed.value.length === 1 ? parsed.value[0] : parsed.value
      if (!isObject(json)) return fail(malformed('not a JSON object'))
      if (isObject(json.error)) return fail(parseGeminiStreamError(json, data, provider))
      if (json.candidates !== undefined && !Array.isArray(json.candidates)) return fail(malformed('candidates is not an array'))

      if (!started) {
        started = true
        emit({ type: 'response-start', id: typeof json.responseId === 'string' ? json.responseId : '', model: typeof json.modelVersion === 'string' ? json.modelVersion : '', dialect: 'gemini' })
      }
      const list = (json.candidates ?? []) as unknown[]
      for (const [position, raw] of list.entries()) {
        if (!isObject(raw)) return fail(malformed(`candidates[${position}] is not an object`))
        const index = typeof raw.index === 'number' ? raw.index : position
        const state = stateOf(index)
        const choice = index === 0 ? {} : { choice: index }
        const close = () => {
          const open = state.open
          if (!open) return
          state.open = undefined
          emit(open.kind === 'text' ? { type: 'text-end', id: open.id, ...choice } : { type: 'reasoning-end', id: open.id, ...choice })
        }
        const openBlock = (kind: Kind) => {
          close()
          const id = `${index}:${kind}:${state.blocks++}`
          state.open = { kind, id, signed: false, hasText: false }
          emit(kind === 'text' ? { type: 'text-start', id, ...choice } : { type: 'reasoning-start', id, ...choice })
          return state.open
        }
        const content = isObject(raw.content) ? raw.content : undefined
        const parts = Array.isArray(content?.parts) ? content.parts : []
        for (const part of parts) {
          if (!isObject(part)) return fail(malformed('a part is not an object'))
          const signature = typeof part.thoughtSignature === 'string' ? part.thoughtSignature : undefined
          const text = typeof part.text === 'string' ? part.text : undefined
          if (part.thought === true && text !== undefined) {
            const open = state.open?.kind === 'reasoning' && !state.open.signed ? state.open : openBlock('reasoning')
            if (text !== '') {
              emit({ type: 'reasoning-delta', id: open.id, delta: text, ...choice })
              open.hasText = true
            }
            if (signature !== undefined) {
              emit({ type: 'reasoning-signature', id: open.id, signature, ...choice })
              open.signed = true
            }
            continue
          }
          if (signature !== undefined) {
            const block = openBlock('reasoning')
            emit({ type: 'reasoning-signature', id: block.id, signature, ...choice })
            close()
          }
          if (text !== undefined) {
            if (text === '') continue
            const open = state.open?.kind === 'text' ? state.open : openBlock('text')
            emit({ type: 'text-delta', id: open.id, delta: text, ...choice })
          } else if (isObject(part.functionCall)) {
            close()
            const call = part.functionCall
            const name = typeof call.name === 'string' ? call.name : ''
            const callIndex = state.calls++
            const toolCallId = typeof call.id === 'string' && call.id !== '' ? call.id : syntheticToolCallId(callIndex, name)
            const id = `${index}:tool:${state.blocks++}`
            state.calledTools = true
            emit({ type: 'tool-call-start', id, toolCallId, name, ...choice })
            emit({ type: 'tool-call-delta', id, argumentsDelta: JSON.stringify(isObject(call.args) ? call.args : {}), ...choice })
            emit({ type: 'tool-call-end', id, ...choice })
          }
          // Media output (inlineData), code execution parts and later kinds have no IR stream event.
        }
        if (typeof raw.finishReason === 'string' && !state.ended) {
          close()
          state.ended = true
          const reason = mapGeminiFinishReason(raw.finishReason, state.calledTools)
          reasons.set(index, reason)
          emit({ type: 'choice-end', finishReason: reason, choice: index })
        }
      }
      const feedback = isObject(json.promptFeedback) ? json.promptFeedback : undefined
      if (list.length === 0 && typeof feedback?.blockReason === 'string' && !reasons.has(0)) {
        const reason = mapGeminiBlockReason(feedback.blockReason)
        reasons.set(0, reason)
        stateOf(0).ended = true
        emit({ type: 'choice-end', finishReason: reason, choice: 0 })
      }
      if (isObject(json.usageMetadata)) usage = usageFromGemini(json.usageMetadata)
    },
    flush(controller) {
      if (done) return
      done = true
      if (!started) {
        controller.enqueue({ type: 'error', error: malformed('the stream ended before any event') })
        return
      }
      if (candidates.size === 0) stateOf(0)
      for (const [index, state] of candidates) {
        const choice = index === 0 ? {} : { choice: index }
        if (state.open) controller.enqueue(state.open.kind === 'text' ? { type: 'text-end', id: state.open.id, ...choice } : { type: 'reasoning-end', id: state.open.id, ...choice })
        state.open = undefined
        if (!state.ended) {
          const reason: FinishReason = { unified: 'other', raw: undefined }
          reasons.set(index, reason)
          controller.enqueue({ type: 'choice-end', finishReason: reason, choice: index })
        }
      }
      if (usage) controller.enqueue({ type: 'usage', usage })
      const first = Math.min(...reasons.keys())
      controller.enqueue({ type: 'finish', finishReason: reasons.get(first)!, usage })
    },
  }))
}

// ---------------------------------------------------------------------------------------------
// Render

/** Options of {@link renderGenerateContentStream}. */
export interface RenderGenerateContentStreamOptions {
  /** Model reported as `modelVersion` (the name the caller asked for). */
  model: string
  /** `responseId`; defaults to the `response-start` id. */
  id?: string
}

const encoder = new TextEncoder()
/** Gemini frames each event as `data: <json>` followed by CRLF CRLF. */
const frame = (payload: Json) => encoder.encode(`data: ${JSON.stringify(payload)}\r\n\r\n`)

/**
 * IR events -> Gemini SSE bytes (`data: <GenerateContentResponse>\r\n\r\n`), one event per IR
 * delta: text deltas as text parts, reasoning deltas as thought parts; a tool call's argument
 * deltas are collected and sent as one `functionCall` part when the call ends (Gemini sends calls
 * whole). A reasoning signature goes out as an empty thought part carrying it when the block had
 * text, otherwise on the next part (or an empty text part in the last event). The last event
 * carries each candidate's `finishReason` and the usage; an `error` event becomes
 * `data: {"error": ...}` and ends the stream.
 */
export function renderGenerateContentStream(events: ReadableStream<StreamEvent>, options: RenderGenerateContentStreamOptions): ReadableStream<Uint8Array> {
  let responseId: string | undefined
  let sourceDialect: string | undefined
  let usage: Usage | undefined
  let closed = false
  const reasoning = new Map<string, { hasText: boolean; signature: string | undefined }>()
  const tools = new Map<string, { name: string; toolCallId: string; args: string; choice: number }>()
  const pending = new Map<number, string>()
  const ended = new Map<number, FinishReason>()
  let output!: TransformStreamDefaultController<Uint8Array>

  const usageMetadata = () => toGeminiUsage(localizeUsage(usage, 'gemini', sourceDialect))
  const send = (candidates: Json[]) => {
    const metadata = usageMetadata()
    output.enqueue(frame({ candidates, ...(metadata && { usageMetadata: metadata }), modelVersion: options.model, responseId: options.id ?? responseId ?? '' }))
  }
  const sendPart = (choice: number, part: Json) => {
    const signature = pending.get(choice)
    if (signature !== undefined) {
      pending.delete(choice)
      if (part.thoughtSignature === undefined) part.thoughtSignature = signature
      else send([{ content: { parts: [{ text: '', thoughtSignature: signature }], role: 'model' }, index: choice }])
    }
    send([{ content: { parts: [part], role: 'model' }, index: choice }])
  }
  const fail = (error: GatewayError) => {
    closed = true
    output.enqueue(frame(toGeminiErrorBody(error)))
    output.terminate()
  }

  function handle(event: StreamEvent): void {
    if (closed) return
    const choice = 'choice' in event ? (event.choice ?? 0) : 0
    switch (event.type) {
      case 'response-start':
        responseId ??= event.id
        sourceDialect = event.dialect
        return
      case 'usage':
        usage = event.usage
        return
      case 'text-start':
      case 'text-end':
        return
      case 'text-delta':
      case 'refusal-delta':
        if (event.delta !== '') sendPart(choice, { text: event.delta })
        return
      case 'reasoning-start':
        // Redacted reasoning has no Gemini part: it is skipped.
        if (event.redacted === undefined) reasoning.set(event.id, { hasText: false, signature: undefined })
        return
      case 'reasoning-delta': {
        const block = reasoning.get(event.id)
        if (!block || event.delta === '') return
        block.hasText = true
        return sendPart(choice, { text: event.delta, thought: true })
      }
      case 'reasoning-signature': {
        const block = reasoning.get(event.id)
        if (block) block.signature = event.signature
        return
      }
      case 'reasoning-end': {
        const block = reasoning.get(event.id)
        reasoning.delete(event.id)
        if (!block?.signature) return
        if (block.hasText) return send([{ content: { parts: [{ text: '', thought: true, thoughtSignature: block.signature }], role: 'model' }, index: choice }])
        const earlier = pending.get(choice)
        if (earlier !== undefined) send([{ content: { parts: [{ text: '', thoughtSignature: earlier }], role: 'model' }, index: choice }])
        pending.set(choice, block.signature)
        return
      }
      case 'tool-call-start':
        tools.set(event.id, { name: event.name, toolCallId: event.toolCallId, args: '', choice })
        return
      case 'tool-call-delta': {
        const tool = tools.get(event.id)
        if (!tool) return fail(new GatewayError({ status: 502, code: 'upstream', message: 'tool call arguments arrived for a call that never started' }))
        tool.args += event.argumentsDelta
        return
      }
      case 'tool-call-end': {
        const tool = tools.get(event.id)
        if (!tool) return
        tools.delete(event.id)
        const parsed = tool.args.trim() === '' ? { value: {} } : parseJson(tool.args)
        const call: Json = { name: tool.name, args: parsed && isObject(parsed.value) ? parsed.value : {} }
        if (tool.toolCallId && !isSyntheticToolCallId(tool.toolCallId, tool.name)) call.id = tool.toolCallId
        return sendPart(tool.choice, { functionCall: call })
      }
      case 'choice-end':
        ended.set(event.choice, event.finishReason)
        return
      case 'finish': {
        if (event.usage) usage = event.usage
        if (ended.size === 0) ended.set(0, event.finishReason)
        const candidates = [...ended].map(([index, reason]) => {
          const signature = pending.get(index)
          const part: Json = signature === undefined ? { text: '' } : { text: '', thoughtSignature: signature }
          return { content: { parts: [part], role: 'model' }, finishReason: toGeminiFinishReason(reason), index }
        })
        pending.clear()
        send(candidates)
        closed = true
        return
      }
      case 'error':
        return fail(event.error)
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
