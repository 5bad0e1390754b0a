/**
 * Token usage of one upstream call, in the gateway's own terms.
 *
 * Every count is `number | undefined`: a count the provider did not report stays
 * `undefined` and is never reported as 0.
 *
 * `inputTokens` is the whole prompt, cached parts included (OpenAI's `prompt_tokens`).
 * Dialects that report cached tokens beside the input (Anthropic) add them up when
 * decoding and split them again when encoding, so nothing is counted twice.
 */
export interface Usage {
  /** Prompt tokens, including cache reads and cache writes. */
  inputTokens: number | undefined
  /** Completion tokens, including reasoning tokens. */
  outputTokens: number | undefined
  /** Sum as reported by the provider, or input + output when both are known. */
  totalTokens?: number | undefined
  /** Part of `inputTokens` read from the provider's prompt cache. */
  cachedInputTokens?: number | undefined
  /** Part of `inputTokens` written to the provider's prompt cache. */
  cacheWriteInputTokens?: number | undefined
  /** Part of `outputTokens` spent on reasoning. */
  reasoningTokens?: number | undefined
  /** Provider-specific usage fields that must survive (timings, billed units ...). */
  extra?: Record<string, unknown>
}

/** Adds two optional counts; unknown plus unknown stays unknown. */
export function addCounts(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return a + b
}

/** Fills `totalTokens` from input and output when the provider left it out. */
export function withTotal(usage: Usage): Usage {
  if (usage.totalTokens !== undefined) return usage
  const total = usage.inputTokens !== undefined && usage.outputTokens !== undefined
    ? usage.inputTokens + usage.outputTokens
    : undefined
  return { ...usage, totalTokens: total }
}
