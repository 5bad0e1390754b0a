import { withTotal, type Usage } from '@switchyard/core'
import { usageFromAnthropic } from './usage.js'

/**
 * Usage observed on the passthrough path (Anthropic SDK -> Anthropic), read from the bytes the
 * gateway relays without re-encoding them: a whole Messages body, or one stream event's data.
 *
 * A stream reports usage twice: `message_start` carries the input side (`input_tokens`, cache
 * reads and writes) and `message_delta` the final `output_tokens` (newer API versions repeat the
 * input side there). {@link mergeAnthropicUsage} combines the two.
 */
export function usageFromMessagesData(data: string): Usage | undefined {
  // Cheap test first: only the message body, `message_start` and `message_delta` carry usage.
  if (!data.includes('"usage"')) return undefined
  let json: { type?: unknown; usage?: unknown; message?: { usage?: unknown } }
  try {
    json = JSON.parse(data) as typeof json
  } catch {
    return undefined
  }
  if (typeof json !== 'object' || json === null) return undefined
  return usageFromAnthropic(json.type === 'message_start' ? json.message?.usage : json.usage)
}

/**
 * Combines two usage reports of one Anthropic stream, the later one winning where it says
 * something. The input side is rebuilt from its parts, so a later report that repeats
 * `input_tokens` without the cache counts keeps the earlier cache counts, and nothing is counted
 * twice.
 */
export function mergeAnthropicUsage(earlier: Usage, later: Usage): Usage {
  const cachedInputTokens = later.cachedInputTokens ?? earlier.cachedInputTokens
  const cacheWriteInputTokens = later.cacheWriteInputTokens ?? earlier.cacheWriteInputTokens
  let inputTokens = earlier.inputTokens
  if (later.inputTokens !== undefined) {
    // Anthropic's own `input_tokens` (without cache parts) of the later report, plus the cache parts.
    const uncached = later.inputTokens - (later.cachedInputTokens ?? 0) - (later.cacheWriteInputTokens ?? 0)
    inputTokens = uncached + (cachedInputTokens ?? 0) + (cacheWriteInputTokens ?? 0)
  }
  const merged: Usage = { inputTokens, outputTokens: later.outputTokens ?? earlier.outputTokens }
  if (cachedInputTokens !== undefined) merged.cachedInputTokens = cachedInputTokens
  if (cacheWriteInputTokens !== undefined) merged.cacheWriteInputTokens = cacheWriteInputTokens
  const reasoning = later.reasoningTokens ?? earlier.reasoningTokens
  if (reasoning !== undefined) merged.reasoningTokens = reasoning
  if (earlier.extra || later.extra) merged.extra = { ...earlier.extra, ...later.extra }
  return withTotal(merged)
}
