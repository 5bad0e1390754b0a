import type { Usage } from '@switchyard/core'

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

/** OpenAI `usage` (chat/completions/embeddings or Responses API shape) -> IR usage. */
export function usageFromOpenAI(raw: unknown): Usage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const usage = raw as Record<string, any>
  // Chat/completions: prompt_tokens/completion_tokens. Responses API: input_tokens/output_tokens.
  const input = count(usage.prompt_tokens ?? usage.input_tokens)
  const output = count(usage.completion_tokens ?? usage.output_tokens)
  const inputDetails = usage.prompt_tokens_details ?? usage.input_tokens_details
  const outputDetails = usage.completion_tokens_details ?? usage.output_tokens_details
  const extra: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(usage)) {
    if (!KNOWN.has(name)) extra[name] = value
  }
  if (inputDetails && typeof inputDetails === 'object') {
    for (const [name, value] of Object.entries(inputDetails)) if (name !== 'cached_tokens' && name !== 'cache_write_tokens') (extra.prompt_tokens_details ??= {} as any)[name] = value
  }
  if (outputDetails && typeof outputDetails === 'object') {
    for (const [name, value] of Object.entries(outputDetails)) if (name !== 'reasoning_tokens') (extra.completion_tokens_details ??= {} as any)[name] = value
  }
  const result: Usage = {
    inputTokens: input,
    outputTokens: output,
    totalTokens: count(usage.total_tokens),
  }
  const cached = count(inputDetails?.cached_tokens)
  if (cached !== undefined) result.cachedInputTokens = cached
  // Part of prompt_tokens written to the prompt cache (`prompt_cache_key` requests), like Anthropic's cache_creation_input_tokens.
  const written = count(inputDetails?.cache_write_tokens)
  if (written !== undefined) result.cacheWriteInputTokens = written
  const reasoning = count(outputDetails?.reasoning_tokens)
  if (reasoning !== undefined) result.reasoningTokens = reasoning
  if (Object.keys(extra).length > 0) result.extra = extra
  return result
}

const KNOWN = new Set([
  'prompt_tokens', 'completion_tokens', 'total_tokens', 'input_tokens', 'output_tokens',
  'prompt_tokens_details', 'completion_tokens_details', 'input_tokens_details', 'output_tokens_details',
])

/** IR usage -> chat/completions `usage`. Unknown counts are omitted, never written as 0. */
export function toOpenAIChatUsage(usage: Usage): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (usage.inputTokens !== undefined) out.prompt_tokens = usage.inputTokens
  if (usage.outputTokens !== undefined) out.completion_tokens = usage.outputTokens
  const total = usage.totalTokens ?? (usage.inputTokens !== undefined && usage.outputTokens !== undefined ? usage.inputTokens + usage.outputTokens : undefined)
  if (total !== undefined) out.total_tokens = total
  const extra = usage.extra ?? {}
  const promptDetails = { ...(extra.prompt_tokens_details as object | undefined) } as Record<string, unknown>
  if (usage.cachedInputTokens !== undefined) promptDetails.cached_tokens = usage.cachedInputTokens
  if (usage.cacheWriteInputTokens !== undefined) promptDetails.cache_write_tokens = usage.cacheWriteInputTokens
  if (Object.keys(promptDetails).length > 0) out.prompt_tokens_details = promptDetails
  const completionDetails = { ...(extra.completion_tokens_details as object | undefined) } as Record<string, unknown>
  if (usage.reasoningTokens !== undefined) completionDetails.reasoning_tokens = usage.reasoningTokens
  if (Object.keys(completionDetails).length > 0) out.completion_tokens_details = completionDetails
  for (const [name, value] of Object.entries(extra)) {
    if (name !== 'prompt_tokens_details' && name !== 'completion_tokens_details' && !(name in out)) out[name] = value
  }
  return out
}

/** IR usage -> Responses API `usage` (input_tokens/output_tokens with details). */
export function toOpenAIResponsesUsage(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.inputTokens ?? 0,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    output_tokens: usage.outputTokens ?? 0,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens ?? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0),
  }
}
