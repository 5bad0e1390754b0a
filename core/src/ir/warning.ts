/**
 * Something the target could not say exactly as the caller asked. Translators never
 * drop or clamp silently: they push a warning (reported to the caller in the
 * `x-switchyard-warnings` header) or reject with a 400.
 */
export type Warning =
  | { type: 'unsupported'; feature: string; details?: string }
  | { type: 'other'; message: string }

/** Renders warnings as one header value (JSON array), or undefined when there are none. */
export function formatWarnings(warnings: readonly Warning[]): string | undefined {
  return warnings.length === 0 ? undefined : JSON.stringify(warnings)
}
