import type { FinishReason, ReasoningPart, StreamEvent } from '@switchyard/core'
import { toReasoningDetails } from './reasoning-details.js'
import type { ChatResponseOptions } from './chat.js'
import { decodeOpenAIChunks, renderOpenAIChunks, type ChunkWriter } from './stream-frame.js'
import { isObject, mapOpenAIFinishReason, toOpenAIFinishReason, type Json } from './wire.js'

type BlockKind = 'text' | 'reasoning' | 'tool'
interface Block { kind: BlockKind; id: string }
interface ToolBlock extends Block { kind: 'tool'; toolCallId: string }
interface ChoiceState {
  open: Block | undefined
  blocks: number
  /** Current tool call per wire `index` (`-1` when the provider sends none, as Mistral does). */
  tools: Map<number, ToolBlock>
  ended: boolean
}

/**
 * OpenAI chat-completions SSE -> IR events: `response-start`, per choice `*-start`/`*-delta`/`*-end`
 * blocks (one open at a time) and `choice-end`, `usage` per usage chunk, then one `finish`
 * (finish reason of choice 0, last usage). An upstream error or a bad chunk becomes one `error` event
 * and ends the stream. https://platform.openai.com/docs/api-reference/chat-streaming
 */
export function parseChatStream(body: ReadableStream<Uint8Array>, options: ChatResponseOptions = {}): ReadableStream<StreamEvent> {
  const choices = new Map<number, ChoiceState>()
  let finishReason: FinishReason | undefined

  return decodeOpenAIChunks(body, {
    chunk(chunk, emit) {
      const close = (state: ChoiceState, choice: number) => {
        const block = state.open
        if (!block) return
        state.open = undefined
        switch (block.kind) {
          case 'text': return emit({ type: 'text-end', id: block.id, choice })
          case 'reasoning': return emit({ type: 'reasoning-end', id: block.id, choice })
          case 'tool': return emit({ type: 'tool-call-end', id: block.id, choice })
          default: {
            const unreachable: never = block.kind
            return unreachable
          }
        }
      }

      const delta = (state: ChoiceState, choice: number, kind: 'text' | 'reasoning', text: unknown) => {
        if (typeof text !== 'string' || text === '') return
        if (state.open?.kind !== kind) {
          close(state, choice)
          state.open = { kind, id: `${choice}:${kind}:${state.blocks++}` }
          emit({ type: kind === 'text' ? 'text-start' : 'reasoning-start', id: state.open.id, choice })
        }
        emit({ type: kind === 'text' ? 'text-delta' : 'reasoning-delta', id: state.open.id, delta: text, choice })
      }

      /**
       * OpenRouter's `reasoning_details` deltas: the text also arrives as `reasoning` (used unless
       * absent), a signature closes the current reasoning block, encrypted data is a redacted block.
       */
      const reasoningDetails = (state: ChoiceState, choice: number, details: unknown[], hasPlain: boolean) => {
        for (const detail of details) {
          if (!isObject(detail)) continue
          if (detail.type === 'reasoning.encrypted' && typeof detail.data === 'string') {
            close(state, choice)
            const id = `${choice}:reasoning:${state.blocks++}`
            emit({ type: 'reasoning-start', id, choice, redacted: detail.data })
            emit({ type: 'reasoning-end', id, choice })
            continue
          }
          if (!hasPlain) delta(state, choice, 'reasoning', detail.type === 'reasoning.summary' ? detail.summary : detail.text)
          if (typeof detail.signature === 'string' && detail.signature !== '') {
            if (state.open?.kind !== 'reasoning') {
              close(state, choice)
              state.open = { kind: 'reasoning', id: `${choice}:reasoning:${state.blocks++}` }
              emit({ type: 'reasoning-start', id: state.open.id, choice })
            }
            emit({ type: 'reasoning-signature', id: state.open.id, signature: detail.signature, choice })
          }
        }
      }

      const toolCall = (state: ChoiceState, choice: number, entry: Json) => {
        const fn = isObject(entry.function) ? entry.function : {}
        const index = typeof entry.index === 'number' ? entry.index : -1
        const callId = typeof entry.id === 'string' && entry.id !== '' ? entry.id : undefined
        let tool = state.tools.get(index)
        // A new id at a known index (or without indices) starts the next call.
        if (!tool || (callId !== undefined && callId !== tool.toolCallId)) {
          close(state, choice)
          const number = state.blocks++
          tool = { kind: 'tool', id: `${choice}:tool:${number}`, toolCallId: callId ?? `call_${choice}_${number}` }
          state.tools.set(index, tool)
          state.open = tool
          emit({ type: 'tool-call-start', id: tool.id, toolCallId: tool.toolCallId, name: typeof fn.name === 'string' ? fn.name : '', choice })
        }
        // Interleaved argument pieces of several calls are rare; they still go to their own call id.
        if (typeof fn.arguments === 'string' && fn.arguments !== '') emit({ type: 'tool-call-delta', id: tool.id, argumentsDelta: fn.arguments, choice })
      }

      for (const [position, raw] of (Array.isArray(chunk.choices) ? chunk.choices : []).entries()) {
        if (!isObject(raw)) continue
        const choice = typeof raw.index === 'number' ? raw.index : position
        let state = choices.get(choice)
        if (!state) choices.set(choice, (state = { open: undefined, blocks: 0, tools: new Map(), ended: false }))
        if (state.ended) continue
        const change = isObject(raw.delta) ? raw.delta : {}
        const plain = change.reasoning_content ?? change.reasoning
        delta(state, choice, 'reasoning', plain)
        if (options.reasoningDetails && Array.isArray(change.reasoning_details)) reasoningDetails(state, choice, change.reasoning_details, typeof plain === 'string' && plain !== '')
        if (Array.isArray(change.content)) {
          for (const item of change.content) {
            if (!isObject(item)) continue
            if (item.type === 'text') delta(state, choice, 'text', item.text)
            else if (item.type === 'thinking' && Array.isArray(item.thinking)) {
              for (const inner of item.thinking) if (isObject(inner)) delta(state, choice, 'reasoning', inner.text)
            }
          }
        } else delta(state, choice, 'text', change.content)
        if (typeof change.refusal === 'string' && change.refusal !== '') emit({ type: 'refusal-delta', id: `${choice}:refusal`, delta: change.refusal, choice })
        if (Array.isArray(change.tool_calls)) for (const entry of change.tool_calls) if (isObject(entry)) toolCall(state, choice, entry)
        if (typeof raw.finish_reason === 'string') {
          close(state, choice)
          state.ended = true
          const reason = mapOpenAIFinishReason(raw.finish_reason)
          if (choice === 0) finishReason = reason
          emit({ type: 'choice-end', choice, finishReason: reason })
        }
      }
    },
    /** Closes what is open; also when [DONE] or a finish_reason never came. */
    end(emit) {
      for (const [choice, state] of [...choices].sort(([a], [b]) => a - b)) {
        if (state.ended) continue
        const block = state.open
        if (block) emit({ type: block.kind === 'tool' ? 'tool-call-end' : block.kind === 'text' ? 'text-end' : 'reasoning-end', id: block.id, choice })
        state.ended = true
        emit({ type: 'choice-end', choice, finishReason: { unified: 'other', raw: undefined } })
      }
    },
    finishReason: () => finishReason,
  })
}

interface RenderChoice {
  ended: boolean
  tools: Map<string, number>
  /** Reasoning blocks by id, to send `reasoning_details` once before the finish when they carry signatures. */
  reasoning?: Map<string, ReasoningPart>
}

/** Options of {@link renderChatStream}. */
export interface RenderChatStreamOptions {
  /** Chunk `id`; defaults to the id of `response-start`. */
  id?: string
  /** Model reported in every chunk. */
  model: string
  /** The caller asked for `stream_options.include_usage`: send the usage chunk (and `usage: null` before it). */
  includeUsage: boolean
}

/**
 * IR events -> OpenAI chat-completions SSE bytes: one `chat.completion.chunk` per event that carries
 * content (never coalesced), a finish chunk per choice, the usage chunk when asked, then `[DONE]`.
 * An `error` event becomes `data: {"error":{...}}` and ends the stream without `[DONE]`.
 */
export function renderChatStream(events: ReadableStream<StreamEvent>, options: RenderChatStreamOptions): ReadableStream<Uint8Array> {
  const choices = new Map<number, RenderChoice>()
  const chunk = (out: ChunkWriter, choice: number, delta: Json, finish: string | null = null) =>
    out.send({ choices: [{ index: choice, delta, logprobs: null, finish_reason: finish }] })
  /**
   * Signed or redacted reasoning goes out once, whole, right before the finish chunk: the
   * OpenAI SDK's stream helper keeps the last value of a field it does not know, so the
   * final message has the complete `reasoning_details` to send back.
   */
  const sendReasoningDetails = (out: ChunkWriter, choice: number, state: RenderChoice) => {
    const details = state.reasoning && toReasoningDetails([...state.reasoning.values()])
    if (details) chunk(out, choice, { reasoning_details: details })
  }
  /** The first chunk of a choice announces the assistant role, as OpenAI does. */
  const begin = (out: ChunkWriter, choice = 0): RenderChoice => {
    let state = choices.get(choice)
    if (!state) {
      choices.set(choice, (state = { ended: false, tools: new Map() }))
      chunk(out, choice, { role: 'assistant', content: '', refusal: null })
    }
    return state
  }

  return renderOpenAIChunks(events, { ...options, object: 'chat.completion.chunk' }, {
    event(event, out) {
      switch (event.type) {
        case 'text-start':
          begin(out, event.choice)
          return
        case 'reasoning-start':
          (begin(out, event.choice).reasoning ??= new Map()).set(event.id, { type: 'reasoning', text: '', ...(event.redacted !== undefined && { redacted: event.redacted }) })
          return
        case 'text-delta':
          begin(out, event.choice)
          if (event.delta !== '') chunk(out, event.choice ?? 0, { content: event.delta })
          return
        case 'reasoning-delta': {
          const part = begin(out, event.choice).reasoning?.get(event.id)
          if (part) part.text += event.delta
          if (event.delta !== '') chunk(out, event.choice ?? 0, { reasoning_content: event.delta })
          return
        }
        case 'reasoning-signature': {
          const part = begin(out, event.choice).reasoning?.get(event.id)
          if (part) part.signature = (part.signature ?? '') + event.signature
          return
        }
        case 'refusal-delta':
          begin(out, event.choice)
          if (event.delta !== '') chunk(out, event.choice ?? 0, { refusal: event.delta })
          return
        case 'tool-call-start': {
          const state = begin(out, event.choice)
          const index = state.tools.size
          state.tools.set(event.id, index)
          chunk(out, event.choice ?? 0, { tool_calls: [{ index, id: event.toolCallId, type: 'function', function: { name: event.name, arguments: '' } }] })
          return
        }
        case 'tool-call-delta': {
          const index = begin(out, event.choice).tools.get(event.id)
          if (index !== undefined && event.argumentsDelta !== '') chunk(out, event.choice ?? 0, { tool_calls: [{ index, function: { arguments: event.argumentsDelta } }] })
          return
        }
        case 'choice-end': {
          const state = begin(out, event.choice)
          if (state.ended) return
          state.ended = true
          sendReasoningDetails(out, event.choice, state)
          chunk(out, event.choice, {}, toOpenAIFinishReason(event.finishReason))
          return
        }
        case 'text-end':
        case 'reasoning-end':
        case 'tool-call-end':
          return
        default: {
          const unreachable: never = event
          return unreachable
        }
      }
    },
    finish(event, out) {
      begin(out, 0)
      for (const [choice, state] of choices) {
        if (state.ended) continue
        state.ended = true
        sendReasoningDetails(out, choice, state)
        chunk(out, choice, {}, toOpenAIFinishReason(event.finishReason))
      }
    },
  })
}
