/** Which requests a rule may apply to. */
export type RuleScope = 'global' | 'team' | 'virtual_key'

/** One weighted destination of a rule. */
export interface RuleTarget {
  /** Provider id (`openai`, `anthropic`, `mock` ...). */
  provider: string
  /** Model name at that provider; omitted = the model the caller asked for (prefix removed). */
  model?: string
  /** Relative weight among the rule's targets. Default 1; 0 = never picked. */
  weight?: number
}

/** One rule of `plugins[].config.rules`. */
export interface RoutingRule {
  /** Unique name, used in logs and errors. */
  name: string
  /** `global` (default) applies to every request; `team` and `virtual_key` only to the one named by `scope_id`. */
  scope?: RuleScope
  /** The team or virtual key the rule belongs to; required for those scopes. */
  scope_id?: string
  /** Higher runs first among rules of the same scope. Default 0. */
  priority?: number
  /**
   * A CEL expression (https://cel.dev) over `model`, `provider`, `headers`, `metadata`, `body`,
   * `stream`, `operation`, `virtual_key`, `team` and `surface` that must yield `true` for the rule
   * to apply (docs/routing-rules.md lists what each holds).
   */
  when: string
  /** Where a matching request goes: one target is drawn by weight. */
  targets: RuleTarget[]
  /** `provider/model` names tried in order when the target fails. */
  fallbacks?: string[]
}

/** The plugin's `config` in the Switchyard config file (`plugins[].config`). */
export interface RoutingRulesOptions {
  rules: RoutingRule[]
}

/** A rule with defaults applied, in config order. */
export interface CheckedRule {
  name: string
  scope: RuleScope
  scopeId: string | undefined
  priority: number
  when: string
  targets: Array<{ provider: string; model: string | undefined; weight: number }>
  fallbacks: string[]
  /** Position in the config, the last tie-breaker. */
  index: number
}

const SCOPES: readonly RuleScope[] = ['global', 'team', 'virtual_key']
const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]*$/

const fail = (message: string): never => {
  throw new TypeError(`routing-rules: ${message}`)
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function checkRule(input: unknown, index: number, names: Set<string>): CheckedRule {
  const at = `config.rules[${index}]`
  if (!isObject(input)) return fail(`${at} must be an object`)
  const name = input.name
  if (typeof name !== 'string' || name.trim() === '') fail(`${at}.name must be a non-empty string`)
  const label = `${at} ("${name as string}")`
  if (names.has(name as string)) fail(`${label}: another rule has the same name`)
  names.add(name as string)
  const scope = input.scope ?? 'global'
  if (!SCOPES.includes(scope as RuleScope)) fail(`${label}.scope must be one of ${SCOPES.join(', ')}`)
  const scopeId = input.scope_id
  if (scope === 'global') {
    if (scopeId !== undefined) fail(`${label}.scope_id is only for team and virtual_key rules`)
  } else if (typeof scopeId !== 'string' || scopeId === '') fail(`${label}.scope_id must name the ${scope === 'team' ? 'team' : 'virtual key'}`)
  const priority = input.priority ?? 0
  if (typeof priority !== 'number' || !Number.isFinite(priority)) fail(`${label}.priority must be a number`)
  const when = input.when
  if (typeof when !== 'string' || when.trim() === '') fail(`${label}.when must be a CEL expression`)
  if (!Array.isArray(input.targets) || input.targets.length === 0) fail(`${label}.targets must list at least one target`)
  const targets = (input.targets as unknown[]).map((target, position) => {
    const where = `${label}.targets[${position}]`
    if (!isObject(target)) return fail(`${where} must be an object`)
    if (typeof target.provider !== 'string' || !PROVIDER_ID.test(target.provider)) fail(`${where}.provider must be a provider id`)
    if (target.model !== undefined && (typeof target.model !== 'string' || target.model === '')) fail(`${where}.model must be a non-empty string when given`)
    const weight = target.weight ?? 1
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) fail(`${where}.weight must be a number >= 0`)
    return { provider: target.provider as string, model: target.model as string | undefined, weight: weight as number }
  })
  if (!targets.some((target) => target.weight > 0)) fail(`${label}.targets: at least one weight must be above 0`)
  const fallbacks = input.fallbacks ?? []
  if (!Array.isArray(fallbacks) || !fallbacks.every((fallback) => typeof fallback === 'string' && /^[a-z0-9][a-z0-9_-]*\/.+/.test(fallback))) {
    fail(`${label}.fallbacks must be a list of "provider/model" names`)
  }
  return { name: name as string, scope: scope as RuleScope, scopeId: scopeId as string | undefined, priority: priority as number, when: when as string, targets, fallbacks: fallbacks as string[], index }
}

/** Checks the options' shape (the expressions are compiled at setup); a bad field fails the start, naming it. */
export function resolveOptions(input: unknown): CheckedRule[] {
  const options = input ?? {}
  if (!isObject(options)) return fail('config must be an object')
  const rules = options.rules ?? []
  if (!Array.isArray(rules)) return fail('config.rules must be a list')
  const names = new Set<string>()
  return rules.map((rule, index) => checkRule(rule, index, names))
}
