import { mapFinishReason, type FinishReason, type UnifiedFinishReason } from '@switchyard/core'

/** Cohere v2 `finish_reason` values (https://docs.cohere.com/reference/chat). */
const FINISH_REASONS: Readonly<Record<string, UnifiedFinishReason>> = {
  COMPLETE: 'stop',
  STOP_SEQUENCE: 'stop',
  MAX_TOKENS: 'length',
  TOOL_CALL: 'tool-calls',
  ERROR: 'error',
  TIMEOUT: 'error',
}

/** Cohere `finish_reason` -> IR finish reason (unknown values -> `other`, raw kept). */
export function mapCohereFinishReason(raw: string | null | undefined): FinishReason {
  return mapFinishReason(raw, FINISH_REASONS)
}
