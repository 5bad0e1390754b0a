/** The gateway's finish reasons; every dialect maps onto these. */
export type UnifiedFinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other'

/**
 * Why generation ended. `raw` keeps the provider's own value so a same-dialect
 * round trip is lossless; an unknown raw value maps to `other`.
 */
export interface FinishReason {
  unified: UnifiedFinishReason
  raw: string | undefined
}

/** Builds a finish reason from a lookup table, mapping unknown values to `other`. */
export function mapFinishReason(
  raw: string | null | undefined,
  table: Readonly<Record<string, UnifiedFinishReason>>,
): FinishReason {
  if (raw === null || raw === undefined) return { unified: 'other', raw: undefined }
  return { unified: Object.hasOwn(table, raw) ? table[raw]! : 'other', raw }
}
