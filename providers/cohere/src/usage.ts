import type { Usage } from '@switchyard/core'
import { isObject } from './wire.js'

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

/**
 * Cohere `usage` (chat) or `meta` (embed) -> IR usage.
 *
 * Cohere reports two counts: `tokens` (what the model processed, its prompt template included) and
 * `billed_units` (what is charged: the caller's own tokens). `cached_tokens` is a part of `tokens`,
 * so the IR counts are taken from `tokens` (keeping "cached is part of input"), falling back to
 * `billed_units`; `billed_units` is kept whole in `extra` for pricing.
 */
export function usageFromCohere(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined
  const tokens = isObject(raw.tokens) ? raw.tokens : undefined
  const billed = isObject(raw.billed_units) ? raw.billed_units : undefined
  const inputTokens = count(tokens?.input_tokens) ?? count(billed?.input_tokens)
  const outputTokens = count(tokens?.output_tokens) ?? count(billed?.output_tokens)
  const usage: Usage = {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens !== undefined && outputTokens !== undefined ? inputTokens + outputTokens : undefined,
  }
  const cached = count(raw.cached_tokens)
  if (cached !== undefined) usage.cachedInputTokens = cached
  const extra: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(raw)) if (name !== 'tokens' && name !== 'cached_tokens') extra[name] = value
  if (Object.keys(extra).length > 0) usage.extra = extra
  return usage
}
