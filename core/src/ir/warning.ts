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

/**
 * The `extra` fields an encoder for `dialect` may copy into its body: all of them when the
 * request was parsed from that same dialect (or built without one); otherwise none, and each
 * is reported as unsupported so nothing is dropped silently.
 */
export function extraFor(
  dialect: string,
  request: { dialect?: string; extra: Record<string, unknown> },
  warnings: Warning[] | undefined,
  /** Fields the encoder handles itself and must not report. */
  handled: readonly string[] = [],
): Record<string, unknown> {
  if (request.dialect === undefined || request.dialect === dialect) return request.extra
  if (warnings) {
    for (const name of Object.keys(request.extra)) {
      if (!handled.includes(name)) warnings.push({ type: 'unsupported', feature: name, details: `${request.dialect} field has no ${dialect} equivalent` })
    }
  }
  return {}
}
