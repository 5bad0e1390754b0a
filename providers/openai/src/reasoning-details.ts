import type { ReasoningPart } from '@switchyard/core'

/**
 * Reasoning that must go back to its provider unchanged (Anthropic thinking signatures,
 * redacted thinking) rides on the OpenAI dialect as `reasoning_details`, the convention
 * OpenRouter uses: `{type:'reasoning.text', text, signature}` and
 * `{type:'reasoning.encrypted', data}`. `reasoning_content` keeps the plain text for
 * clients that only show it. A client that sends the assistant turn back with
 * `reasoning_details` gives the upstream its original blocks.
 */
export type ReasoningDetail =
  | { type: 'reasoning.text'; text: string; signature?: string; index: number }
  | { type: 'reasoning.encrypted'; data: string; index: number }

/**
 * Reasoning parts -> `reasoning_details`, or undefined when none carries a signature or redacted
 * data (unless `always`: an upstream that takes reasoning back only this way gets plain text too).
 */
export function toReasoningDetails(parts: readonly ReasoningPart[], options: { always?: boolean } = {}): ReasoningDetail[] | undefined {
  if (!options.always && !parts.some((part) => part.signature !== undefined || part.redacted !== undefined)) return undefined
  return parts.map((part, index) =>
    part.redacted !== undefined
      ? { type: 'reasoning.encrypted', data: part.redacted, index }
      : { type: 'reasoning.text', text: part.text, ...(part.signature !== undefined && { signature: part.signature }), index },
  )
}

/** `reasoning_details` from a caller's assistant message -> reasoning parts; undefined when absent or unusable. */
export function fromReasoningDetails(value: unknown): ReasoningPart[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined
  const parts: ReasoningPart[] = []
  for (const item of value) {
    if (typeof item !== 'object' || item === null) return undefined
    const detail = item as Record<string, unknown>
    if (detail.type === 'reasoning.text' && typeof detail.text === 'string') {
      parts.push({ type: 'reasoning', text: detail.text, ...(typeof detail.signature === 'string' && { signature: detail.signature }) })
    } else if (detail.type === 'reasoning.encrypted' && typeof detail.data === 'string') {
      parts.push({ type: 'reasoning', text: '', redacted: detail.data })
    } else if (detail.type === 'reasoning.summary' && typeof detail.summary === 'string') {
      parts.push({ type: 'reasoning', text: detail.summary })
    } else {
      return undefined
    }
  }
  return parts
}
