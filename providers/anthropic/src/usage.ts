import type { Usage } from '@switchyard/core'

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

/**
 * Anthropic `usage` -> IR. Anthropic's `input_tokens` excludes cache reads and writes; the IR's
 * `inputTokens` is the whole prompt, so the three are added here and split again on the way
 * back (`toAnthropicUsage`): nothing is counted twice.
 */
export function usageFromAnthropic(raw: unknown): Usage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const usage = raw as Record<string, unknown>
  const input = count(usage.input_tokens)
  const cacheRead = count(usage.cache_read_input_tokens)
  const cacheWrite = count(usage.cache_creation_input_tokens)
  const output = count(usage.output_tokens)
  const result: Usage = {
    inputTokens: input === undefined ? undefined : input + (cacheRead ?? 0) + (cacheWrite ?? 0),
    outputTokens: output,
  }
  if (result.inputTokens !== undefined && output !== undefined) result.totalTokens = result.inputTokens + output
  if (cacheRead !== undefined) result.cachedInputTokens = cacheRead
  if (cacheWrite !== undefined) result.cacheWriteInputTokens = cacheWrite
  const details = usage.output_tokens_details as Record<string, unknown> | undefined
  const thinking = count(details?.thinking_tokens)
  if (thinking !== undefined) result.reasoningTokens = thinking
  const extra: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(usage)) {
    if (!KNOWN.has(name)) extra[name] = value
  }
  if (details && typeof details === 'object') {
    const { thinking_tokens: _, ...rest } = details
    if (Object.keys(rest).length > 0) extra.output_tokens_details = rest
  }
  if (Object.keys(extra).length > 0) result.extra = extra
  return result
}

const KNOWN = new Set(['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'output_tokens_details'])

/** Usage fields only OpenAI reports; they never go into an Anthropic body. */
const OPENAI_ONLY = new Set(['prompt_tokens_details', 'completion_tokens_details'])

/** IR usage -> Anthropic `usage` (input without cached parts). Unknown counts stay out; `input_tokens`/`output_tokens` default to 0 because the SDK types require them. */
export function toAnthropicUsage(usage: Usage | undefined): Record<string, unknown> {
  if (!usage) return { input_tokens: 0, output_tokens: 0 }
  const cacheRead = usage.cachedInputTokens ?? 0
  const cacheWrite = usage.cacheWriteInputTokens ?? 0
  const out: Record<string, unknown> = {
    input_tokens: usage.inputTokens === undefined ? 0 : Math.max(0, usage.inputTokens - cacheRead - cacheWrite),
  }
  if (usage.cacheWriteInputTokens !== undefined) out.cache_creation_input_tokens = usage.cacheWriteInputTokens
  if (usage.cachedInputTokens !== undefined) out.cache_read_input_tokens = usage.cachedInputTokens
  out.output_tokens = usage.outputTokens ?? 0
  const extra = usage.extra ?? {}
  if (usage.reasoningTokens !== undefined) out.output_tokens_details = { ...(extra.output_tokens_details as object | undefined), thinking_tokens: usage.reasoningTokens }
  for (const [name, value] of Object.entries(extra)) {
    if (!OPENAI_ONLY.has(name) && !(name in out)) out[name] = value
  }
  return out
}
