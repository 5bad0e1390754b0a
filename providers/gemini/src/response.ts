import * as v from 'valibot'
import { localizeResponse, type ChatChoice, type ChatResponse, type FinishReason, type Message, type Warning } from '@switchyard/core'
import { partsFromGemini, partsToGemini } from './content.js'
import { mapGeminiBlockReason, mapGeminiFinishReason, toGeminiFinishReason } from './finish-reason.js'
import { toolNamesOf } from './request.js'
import { toGeminiUsage, usageFromGemini } from './usage.js'
import { defined, isObject, PARTS, restOf, SYNTHETIC, validateWire, type Json } from './wire.js'

/**
 * The Gemini `GenerateContentResponse`, non-streaming, both directions: upstream JSON -> IR
 * `ChatResponse`, and IR -> the JSON a Gemini client expects. https://ai.google.dev/api/generate-content#generatecontentresponse
 */

const nullish = v.nullish

const CandidateSchema = v.looseObject({
  content: nullish(v.looseObject({ parts: nullish(v.array(v.unknown(), 'parts must be an array')) })),
  finishReason: nullish(v.string()),
  index: nullish(v.number()),
})

const ResponseSchema = v.looseObject({
  candidates: nullish(v.array(v.unknown(), 'candidates must be an array')),
  promptFeedback: nullish(v.looseObject({ blockReason: nullish(v.string()) })),
  usageMetadata: nullish(v.looseObject({})),
  modelVersion: nullish(v.string()),
  responseId: nullish(v.string()),
  createTime: nullish(v.string()),
})
const RESPONSE_KEYS = new Set(['candidates', 'usageMetadata', 'modelVersion', 'responseId'])
const CANDIDATE_KEYS = new Set(['content', 'finishReason', 'index'])

/** Options of {@link parseGenerateContentResponse}. */
export interface ParseGenerateContentResponseOptions {
  /** Provider id named in errors. Default `gemini`. */
  provider?: string
}

function parseCandidate(raw: unknown, position: number, provider: string | undefined): ChatChoice {
  const base = `candidates[${position}]`
  const wire = validateWire(CandidateSchema, raw, base, 'response', provider)
  const { parts, orphans } = partsFromGemini(wire.content?.parts ?? [], { side: 'response', provider, base: `${base}.content.parts`, calls: { count: 0 } })
  const message: Message = { role: 'assistant', content: parts }
  const contentRest = wire.content ? restOf(wire.content, new Set(['parts', 'role'])) : undefined
  const extra: Json = { ...restOf(wire, CANDIDATE_KEYS), ...(contentRest && { content: contentRest }), ...(orphans.length > 0 && { [PARTS]: orphans }) }
  if (Object.keys(extra).length > 0) message.extra = extra
  const calledTools = parts.some((part) => part.type === 'tool-call')
  return { index: wire.index ?? position, message, finishReason: mapGeminiFinishReason(wire.finishReason, calledTools) }
}

/**
 * Gemini `GenerateContentResponse` -> IR `ChatResponse` (dialect `gemini`). Candidates become
 * choices; a thought part is reasoning (its `thoughtSignature` the signature), a function call a
 * tool call with `JSON.stringify(args)` (and a made-up `call_<n>_<name>` id when Gemini sent none).
 * A candidate that called functions and ended with `STOP` finishes with `tool-calls`. A blocked
 * prompt (`promptFeedback.blockReason`, no candidates) is one empty choice finishing with
 * `content-filter`. Candidate members the IR does not model (`safetyRatings`, `citationMetadata`,
 * `groundingMetadata`, `finishMessage` ...) stay in the message's `extra`.
 */
export function parseGenerateContentResponse(json: unknown, options: ParseGenerateContentResponseOptions = {}): ChatResponse {
  const wire = validateWire(ResponseSchema, json, '', 'response', options.provider)
  let choices = (wire.candidates ?? []).map((candidate, position) => parseCandidate(candidate, position, options.provider))
  if (choices.length === 0) {
    const blocked = wire.promptFeedback?.blockReason
    const finishReason: FinishReason = blocked ? mapGeminiBlockReason(blocked) : { unified: 'other', raw: undefined }
    choices = [{ index: 0, message: { role: 'assistant', content: [] }, finishReason }]
  }
  const created = wire.createTime ? Math.floor(Date.parse(wire.createTime) / 1000) : NaN
  const extra = restOf(wire, RESPONSE_KEYS)
  return {
    id: wire.responseId ?? '',
    model: wire.modelVersion ?? '',
    created: Number.isFinite(created) ? created : 0,
    choices,
    usage: usageFromGemini(wire.usageMetadata),
    dialect: 'gemini',
    ...(extra && { extra }),
  }
}

/**
 * IR `ChatResponse` -> Gemini `GenerateContentResponse` for a Gemini client, reporting `model` as
 * `modelVersion`. Signature-only reasoning goes onto the part after it; redacted reasoning, which
 * Gemini has no part for, is left out with a warning. Extras of another dialect are left out.
 */
export function renderGenerateContentResponse(source: ChatResponse, model: string, warnings?: Warning[]): Json {
  const response = localizeResponse(source, 'gemini')
  const candidates = response.choices.map((choice) => {
    const extra = { ...choice.message.extra }
    const contentExtra = isObject(extra.content) ? extra.content : undefined
    delete extra.content
    const orphans = Array.isArray(extra[PARTS]) ? (extra[PARTS] as Json[]) : []
    for (const key of SYNTHETIC) delete extra[key]
    const parts = partsToGemini(choice.message.content, `choices[${choice.index}].message.content`, {
      mode: 'response', warnings, names: toolNamesOf([choice.message]), keepIds: true,
    })
    return {
      content: { parts: [...parts, ...orphans], role: 'model', ...contentExtra },
      finishReason: toGeminiFinishReason(choice.finishReason),
      index: choice.index,
      ...extra,
    }
  })
  return {
    candidates,
    ...defined({ usageMetadata: toGeminiUsage(response.usage) }),
    modelVersion: model,
    responseId: response.id,
    ...response.extra,
  }
}
