import * as v from 'valibot'
import {
  extraFor,
  isLocalDialect,
  localizeUsage,
  mapFinishReason,
  type CompletionRequest,
  type CompletionResponse,
  type FinishReason,
  type StreamEvent,
  type UnifiedFinishReason,
} from '@switchyard/core'
import { decodeOpenAIChunks, renderOpenAIChunks, type ChunkWriter } from './stream-frame.js'
import { toOpenAIChatUsage, usageFromOpenAI } from './usage.js'
import { defined, restOf, validateWire, type Json } from './wire.js'

const nullish = v.nullish
const int = v.pipe(v.number(), v.integer())

const RequestSchema = v.looseObject({
  prompt: v.union([v.string(), v.array(v.string())], 'prompt must be a string or an array of strings (token prompts are not supported)'),
  max_tokens: nullish(int),
  temperature: nullish(v.number()),
  top_p: nullish(v.number()),
  stop: nullish(v.union([v.string(), v.array(v.string())], 'stop must be a string or an array of strings')),
  n: nullish(v.pipe(int, v.minValue(1))),
  seed: nullish(int),
  stream: nullish(v.boolean()),
  stream_options: nullish(v.looseObject({ include_usage: nullish(v.boolean()) })),
})
const REQUEST_KEYS = new Set(['model', ...Object.keys(RequestSchema.entries)])

const FINISH_REASONS: Readonly<Record<string, UnifiedFinishReason>> = { stop: 'stop', length: 'length', content_filter: 'content-filter' }

const mapCompletionFinishReason = (raw: string | null | undefined) => mapFinishReason(raw, FINISH_REASONS)

/** IR finish reason -> legacy completions `finish_reason` (stop, length, content_filter). */
function toCompletionFinishReason(reason: FinishReason): string {
  if (reason.raw !== undefined && Object.hasOwn(FINISH_REASONS, reason.raw)) return reason.raw
  switch (reason.unified) {
    case 'length': return 'length'
    case 'content-filter': return 'content_filter'
    case 'stop':
    case 'tool-calls':
    case 'error':
    case 'other': return 'stop'
    default: {
      const unreachable: never = reason.unified
      return unreachable
    }
  }
}

/**
 * Legacy `/v1/completions` request body -> IR `CompletionRequest` for `model`; unmodeled fields
 * (`echo`, `logprobs`, `suffix`, `best_of` ...) stay in `extra`. Bad input throws a 400.
 * https://platform.openai.com/docs/api-reference/completions/create
 */
export function parseCompletionRequest(body: Record<string, unknown>, model: string): CompletionRequest {
  const wire = validateWire(RequestSchema, body)
  const extra: Json = restOf(body, REQUEST_KEYS) ?? {}
  const request: CompletionRequest = { model, prompt: wire.prompt, dialect: 'openai', extra }
  if (wire.max_tokens != null) request.maxTokens = wire.max_tokens
  if (wire.temperature != null) request.temperature = wire.temperature
  if (wire.top_p != null) request.topP = wire.top_p
  if (wire.stop != null) request.stop = typeof wire.stop === 'string' ? [wire.stop] : wire.stop
  if (wire.n != null) request.n = wire.n
  if (wire.seed != null) request.seed = wire.seed
  if (wire.stream != null) request.stream = wire.stream
  if (wire.stream_options != null) {
    if (wire.stream_options.include_usage != null) request.streamUsage = wire.stream_options.include_usage
    const options = restOf(wire.stream_options, new Set(['include_usage']))
    if (options) extra.stream_options = options
  }
  return request
}

/** IR `CompletionRequest` -> legacy completions body; `extra` copied back, usage always asked for in streams. */
export function toCompletionBody(request: CompletionRequest): Record<string, unknown> {
  const body = defined({
    model: request.model,
    prompt: request.prompt,
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    top_p: request.topP,
    stop: request.stop,
    n: request.n,
    seed: request.seed,
    stream: request.stream,
  })
  const extra = extraFor('openai', request, undefined)
  for (const [key, value] of Object.entries(extra)) if (!(key in body)) body[key] = value
  if (request.stream) body.stream_options = { ...(extra.stream_options as Json | undefined), include_usage: true }
  return body
}

const ResponseSchema = v.looseObject({
  id: nullish(v.string()),
  created: nullish(v.number()),
  model: nullish(v.string()),
  choices: v.array(v.looseObject({ text: nullish(v.string()), index: nullish(v.number()), finish_reason: nullish(v.string()) })),
})
const RESPONSE_KEYS = new Set(['id', 'object', 'created', 'model', 'choices', 'usage'])

/** Legacy `text_completion` object -> IR `CompletionResponse`. */
export function parseCompletionResponse(json: unknown): CompletionResponse {
  const wire = validateWire(ResponseSchema, json, '', 'response')
  const extra = restOf(wire, RESPONSE_KEYS)
  return {
    id: wire.id ?? '',
    model: wire.model ?? '',
    created: wire.created ?? 0,
    choices: wire.choices.map((choice, position) => ({
      index: choice.index ?? position,
      text: choice.text ?? '',
      finishReason: mapCompletionFinishReason(choice.finish_reason),
      ...(choice.logprobs != null && { logprobs: choice.logprobs }),
    })),
    usage: usageFromOpenAI(wire.usage),
    dialect: 'openai',
    ...(extra && { extra }),
  }
}

/** IR `CompletionResponse` -> `text_completion` object as OpenAI sends it, reporting `model`. */
export function renderCompletionResponse(response: CompletionResponse, model: string): Record<string, unknown> {
  return {
    id: response.id,
    object: 'text_completion',
    created: response.created,
    model,
    choices: response.choices.map((choice) => ({
      text: choice.text,
      index: choice.index,
      logprobs: choice.logprobs ?? null,
      finish_reason: toCompletionFinishReason(choice.finishReason),
    })),
    ...(response.usage && { usage: toOpenAIChatUsage(localizeUsage(response.usage, 'openai', response.dialect)!) }),
    ...(isLocalDialect('openai', response.dialect) && response.extra),
  }
}

/**
 * Legacy completions SSE -> IR events: `response-start`, per choice one text block and `choice-end`,
 * `usage`, then one `finish`. Upstream errors and bad chunks become one `error` event.
 */
export function parseCompletionStream(body: ReadableStream<Uint8Array>): ReadableStream<StreamEvent> {
  const open = new Set<number>()
  const ended = new Set<number>()
  let finishReason: FinishReason | undefined

  return decodeOpenAIChunks(body, {
    chunk(chunk, emit) {
      for (const [position, raw] of (Array.isArray(chunk.choices) ? chunk.choices : []).entries()) {
        if (typeof raw !== 'object' || raw === null) continue
        const choice = typeof raw.index === 'number' ? raw.index : position
        if (ended.has(choice)) continue
        const id = `${choice}:text`
        // Every choice gets its block, also an empty one, so `text-end` always has a start.
        if (!open.has(choice)) {
          open.add(choice)
          emit({ type: 'text-start', id, choice })
        }
        if (typeof raw.text === 'string' && raw.text !== '') emit({ type: 'text-delta', id, delta: raw.text, choice })
        if (typeof raw.finish_reason === 'string') {
          ended.add(choice)
          const reason = mapCompletionFinishReason(raw.finish_reason)
          if (choice === 0) finishReason = reason
          emit({ type: 'text-end', id, choice })
          emit({ type: 'choice-end', choice, finishReason: reason })
        }
      }
    },
    end(emit) {
      for (const choice of [...open].sort((a, b) => a - b)) {
        if (ended.has(choice)) continue
        emit({ type: 'text-end', id: `${choice}:text`, choice })
        emit({ type: 'choice-end', choice, finishReason: { unified: 'other', raw: undefined } })
      }
    },
    finishReason: () => finishReason,
  })
}

/**
 * IR events -> legacy completions SSE bytes: a `text_completion` chunk per text delta, a finish chunk
 * per choice, the usage chunk when `includeUsage`, then `[DONE]`; an `error` event ends the stream.
 * Reasoning and tool events have no legacy equivalent and are not rendered.
 */
export function renderCompletionStream(events: ReadableStream<StreamEvent>, options: { id?: string; model: string; includeUsage: boolean }): ReadableStream<Uint8Array> {
  const ended = new Set<number>()
  const seen = new Set<number>()
  const chunk = (out: ChunkWriter, choice: number, text: string, finish: string | null = null) => {
    seen.add(choice)
    out.send({ choices: [{ text, index: choice, logprobs: null, finish_reason: finish }] })
  }

  return renderOpenAIChunks(events, { ...options, object: 'text_completion' }, {
    event(event, out) {
      switch (event.type) {
        case 'text-delta':
          if (event.delta !== '' && !ended.has(event.choice ?? 0)) chunk(out, event.choice ?? 0, event.delta)
          return
        case 'choice-end':
          if (ended.has(event.choice)) return
          ended.add(event.choice)
          chunk(out, event.choice, '', toCompletionFinishReason(event.finishReason))
          return
        case 'text-start':
        case 'text-end':
        case 'reasoning-start':
        case 'reasoning-delta':
        case 'reasoning-signature':
        case 'reasoning-end':
        case 'tool-call-start':
        case 'tool-call-delta':
        case 'tool-call-end':
        case 'refusal-delta':
          return
        default: {
          const unreachable: never = event
          return unreachable
        }
      }
    },
    finish(event, out) {
      seen.add(0)
      for (const choice of seen) {
        if (ended.has(choice)) continue
        ended.add(choice)
        chunk(out, choice, '', toCompletionFinishReason(event.finishReason))
      }
    },
  })
}
