import type { Config } from '@switchyard/core'

/**
 * Label values must come from bounded sets: every distinct value is a new time series kept in
 * memory until the process ends. A caller can send any model string or header value, so
 * nothing the caller wrote becomes a label value unless the operator's config names it.
 */

/** Label value for a model the config does not name. */
export const OTHER = 'other'
/** Label value for the provider (and model) of a request refused before it was routed. */
export const NONE = 'none'
/** Longest value taken from a `client.prometheus_labels` header. */
export const MAX_HEADER_VALUE = 64

/** Names the plugin's own metrics use; an extra label may not take one of them. */
export const BUILTIN_LABELS: ReadonlySet<string> = new Set(['surface', 'provider', 'model', 'status_code', 'type', 'code', 'from_provider', 'to_provider', 'le', 'quantile'])

/** Package whose rule targets count as known routes. */
const ROUTING_RULES_PLUGIN = '@switchyard/plugin-routing-rules'

/** A request header turned into a label. */
export interface HeaderLabel {
  /** Lower-case header name. */
  header: string
  /** Prometheus label name. */
  name: string
}

/** Prometheus label name for a header: `[a-zA-Z_][a-zA-Z0-9_]*`, lower case (`x-team` -> `x_team`). */
export function toLabelName(header: string): string {
  const name = header.toLowerCase().replace(/[^a-z0-9_]/g, '_')
  return /^[0-9]/.test(name) ? `_${name}` : name
}

/**
 * The labels `client.prometheus_labels` asks for. Throws when two headers give the same label
 * name, or one collides with a built-in label or the reserved `__` prefix.
 */
export function headerLabelsOf(headers: readonly string[]): HeaderLabel[] {
  const labels: HeaderLabel[] = []
  const taken = new Map<string, string>()
  for (const raw of headers) {
    const header = raw.toLowerCase()
    const name = toLabelName(header)
    if (BUILTIN_LABELS.has(name)) throw new TypeError(`metrics: client.prometheus_labels: header "${raw}" would become the label "${name}", which the metrics use themselves`)
    if (name.startsWith('__')) throw new TypeError(`metrics: client.prometheus_labels: header "${raw}" would become "${name}"; names starting with __ are reserved by Prometheus`)
    const other = taken.get(name)
    if (other !== undefined) {
      if (other === header) continue
      throw new TypeError(`metrics: client.prometheus_labels: headers "${other}" and "${raw}" both become the label "${name}"`)
    }
    taken.set(name, header)
    labels.push({ header, name })
  }
  return labels
}

/** Values of the header labels for one request: `""` when absent, cut to 64 characters. */
export function headerLabelValues(labels: readonly HeaderLabel[], headers: Headers, into: Record<string, string>): void {
  for (const label of labels) {
    const value = headers.get(label.header)
    into[label.name] = value === null ? '' : value.length > MAX_HEADER_VALUE ? value.slice(0, MAX_HEADER_VALUE) : value
  }
}

/**
 * Every `provider/model` the config names: the models of each provider's keys, the routing
 * rules' targets and fallbacks, the models virtual keys allow by name, and `extra` (the plugin's
 * `models` option).
 */
export function knownModelsOf(config: Config, extra: readonly string[]): Set<string> {
  const known = new Set<string>(extra)
  for (const [id, provider] of Object.entries(config.providers)) {
    for (const key of provider.keys) for (const model of key.models) known.add(`${id}/${model}`)
  }
  for (const entry of config.plugins) {
    if (entry.name !== ROUTING_RULES_PLUGIN || entry.enabled === false) continue
    const rules = (entry.config as { rules?: unknown } | undefined)?.rules
    if (!Array.isArray(rules)) continue
    for (const rule of rules as Array<{ targets?: unknown; fallbacks?: unknown }>) {
      if (Array.isArray(rule?.targets)) {
        for (const target of rule.targets as Array<{ provider?: unknown; model?: unknown }>) {
          if (typeof target?.provider === 'string' && typeof target.model === 'string') known.add(`${target.provider}/${target.model}`)
        }
      }
      if (Array.isArray(rule?.fallbacks)) for (const fallback of rule.fallbacks) if (typeof fallback === 'string' && fallback.includes('/')) known.add(fallback)
    }
  }
  // The models virtual keys allow by name (governance provider configs; `*` names none).
  const keys = (config as { governance?: { virtual_keys?: unknown } }).governance?.virtual_keys
  if (Array.isArray(keys)) {
    for (const key of keys as Array<{ provider_configs?: unknown }>) {
      if (!Array.isArray(key?.provider_configs)) continue
      for (const entry of key.provider_configs as Array<{ provider?: unknown; allowed_models?: unknown }>) {
        if (typeof entry?.provider !== 'string' || !Array.isArray(entry.allowed_models)) continue
        for (const model of entry.allowed_models) if (typeof model === 'string' && model !== '*') known.add(`${entry.provider}/${model}`)
      }
    }
  }
  return known
}

/** The `model` label: the routed model when the config names it for that provider, else `other`. */
export function createModelLabel(known: ReadonlySet<string>): (provider: string | undefined, model: string | undefined) => string {
  return (provider, model) => {
    if (provider === undefined) return NONE
    return model !== undefined && known.has(`${provider}/${model}`) ? model : OTHER
  }
}

/**
 * A label whose values the code does not control (an upstream's error type): the first `max`
 * distinct values are kept, later new ones become `other`.
 */
export function createCappedLabel(max: number): (value: string | undefined) => string {
  const seen = new Set<string>()
  return (value) => {
    if (value === undefined || value === '') return NONE
    if (seen.has(value)) return value
    if (seen.size >= max || value.length > 64) return OTHER
    seen.add(value)
    return value
  }
}
