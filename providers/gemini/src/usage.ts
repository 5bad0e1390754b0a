import type { Usage } from '@switchyard/core'
import { isObject, type Json } from './wire.js'

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

/** `usageMetadata` members read into the IR counts; the rest (per-modality details ...) stays in `extra`. */
const KNOWN = new Set(['promptTokenCount', 'candidatesTokenCount', 'cachedContentTokenCount', 'thoughtsTokenCount', 'totalTokenCount'])

/**
 * Gemini `usageMetadata` -> IR usage (https://ai.google.dev/api/generate-content#UsageMetadata).
 * - `inputTokens` = `promptTokenCount` (+ `toolUsePromptTokenCount`, the tool results Gemini
 *   added to the prompt, which `promptTokenCount` leaves out); `cachedContentTokenCount` is part of it.
 * - `outputTokens` = `candidatesTokenCount` + `thoughtsTokenCount`: Gemini counts the thinking
 *   apart from the candidates, the IR's output includes it (`reasoningTokens`).
 * Counts Gemini did not send stay undefined: a stream's first events carry only the prompt count.
 */
export function usageFromGemini(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined
  const prompt = count(raw.promptTokenCount)
  const toolUse = count(raw.toolUsePromptTokenCount)
  const candidates = count(raw.candidatesTokenCount)
  const thoughts = count(raw.thoughtsTokenCount)
  const usage: Usage = {
    inputTokens: prompt === undefined ? toolUse : prompt + (toolUse ?? 0),
    outputTokens: candidates === undefined && thoughts === undefined ? undefined : (candidates ?? 0) + (thoughts ?? 0),
  }
  const total = count(raw.totalTokenCount)
  if (total !== undefined) usage.totalTokens = total
  const cached = count(raw.cachedContentTokenCount)
  if (cached !== undefined) usage.cachedInputTokens = cached
  if (thoughts !== undefined) usage.reasoningTokens = thoughts
  const extra: Json = {}
  for (const [name, value] of Object.entries(raw)) if (!KNOWN.has(name)) extra[name] = value
  if (Object.keys(extra).length > 0) usage.extra = extra
  return usage
}

/**
 * IR usage -> Gemini `usageMetadata`: the inverse of {@link usageFromGemini}. Unknown counts are
 * left out. `extra` is copied only when it is Gemini's own (the caller localizes usage first).
 */
export function toGeminiUsage(usage: Usage | undefined): Json | undefined {
  if (!usage) return undefined
  const extra = usage.extra ?? {}
  const toolUse = count(extra.toolUsePromptTokenCount) ?? 0
  const out: Json = {}
  if (usage.inputTokens !== undefined) out.promptTokenCount = Math.max(0, usage.inputTokens - toolUse)
  if (usage.outputTokens !== undefined) out.candidatesTokenCount = Math.max(0, usage.outputTokens - (usage.reasoningTokens ?? 0))
  if (usage.cachedInputTokens !== undefined) out.cachedContentTokenCount = usage.cachedInputTokens
  if (usage.reasoningTokens !== undefined) out.thoughtsTokenCount = usage.reasoningTokens
  const total = usage.totalTokens ?? (usage.inputTokens !== undefined && usage.outputTokens !== undefined ? usage.inputTokens + usage.outputTokens : undefined)
  if (total !== undefined) out.totalTokenCount = total
  for (const [name, value] of Object.entries(extra)) if (!(name in out) && !KNOWN.has(name)) out[name] = value
  return out
}
