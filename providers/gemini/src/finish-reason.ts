import { mapFinishReason, type FinishReason, type UnifiedFinishReason } from '@switchyard/core'

/** Gemini `finishReason` values (https://ai.google.dev/api/generate-content#FinishReason). */
const FINISH_REASONS: Readonly<Record<string, UnifiedFinishReason>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content-filter',
  RECITATION: 'content-filter',
  BLOCKLIST: 'content-filter',
  PROHIBITED_CONTENT: 'content-filter',
  SPII: 'content-filter',
  IMAGE_SAFETY: 'content-filter',
  IMAGE_PROHIBITED_CONTENT: 'content-filter',
  MALFORMED_FUNCTION_CALL: 'error',
  UNEXPECTED_TOOL_CALL: 'error',
  LANGUAGE: 'other',
  OTHER: 'other',
  FINISH_REASON_UNSPECIFIED: 'other',
}

/**
 * Gemini `finishReason` -> IR finish reason; unknown values map to `other` with `raw` kept.
 * Gemini ends a turn that called functions with `STOP`: pass `calledTools` so it maps to
 * `tool-calls` (the raw `STOP` is kept).
 */
export function mapGeminiFinishReason(raw: string | null | undefined, calledTools = false): FinishReason {
  const reason = mapFinishReason(raw, FINISH_REASONS)
  return calledTools && reason.unified === 'stop' ? { unified: 'tool-calls', raw: reason.raw } : reason
}

/** `promptFeedback.blockReason` (the prompt itself was blocked) -> IR finish reason: always `content-filter`. */
export function mapGeminiBlockReason(raw: string): FinishReason {
  return { unified: 'content-filter', raw }
}

/** IR finish reason -> Gemini `finishReason`: the raw value when it is Gemini's own, else mapped from `unified`. */
export function toGeminiFinishReason(reason: FinishReason): string {
  if (reason.raw !== undefined && Object.hasOwn(FINISH_REASONS, reason.raw)) return reason.raw
  switch (reason.unified) {
    case 'stop':
    case 'tool-calls':
      return 'STOP'
    case 'length':
      return 'MAX_TOKENS'
    case 'content-filter':
      return 'SAFETY'
    case 'error':
    case 'other':
      return 'OTHER'
  }
}
