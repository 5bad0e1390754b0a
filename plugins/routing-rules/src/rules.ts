import { Environment, type ParseResult } from '@marcbachmann/cel-js'
import type { CheckedRule, RuleScope } from './options.js'

/** What a rule's expression sees. Every field is always present (`''` or `{}` when unknown). */
export interface Activation {
  /** The model as the caller wrote it (`openai/gpt-4o`, `gpt-4o`). */
  model: string
  /** Its provider prefix, or `''` for a bare model. */
  provider: string
  /** The caller's request headers, lower-case names. */
  headers: Record<string, string>
  /** The request body's `metadata` object, or `{}`. */
  metadata: Record<string, unknown>
  /** The whole request body as parsed JSON (the surface's dialect), or `{}`. */
  body: Readonly<Record<string, unknown>>
  /** The caller asked for a stream. */
  stream: boolean
  /** The operation: `chat`, `completions`, `embeddings`, `responses`, `rerank`, `imageGenerations` ... */
  operation: string
  /** The virtual key the request authenticated with, or `''`. */
  virtual_key: string
  /** The team of that virtual key, or `''`. */
  team: string
  /** The inbound dialect (`openai`, `anthropic`, `genai`). */
  surface: string
}

/** A rule ready to run: its expression compiled once. */
export interface CompiledRule extends CheckedRule {
  program: ParseResult
}

/** The variables every expression may use, with their CEL types. */
export const VARIABLES: Readonly<Record<keyof Activation, string>> = {
  model: 'string',
  provider: 'string',
  headers: 'map<string, string>',
  metadata: 'map<string, dyn>',
  body: 'map<string, dyn>',
  stream: 'bool',
  operation: 'string',
  virtual_key: 'string',
  team: 'string',
  surface: 'string',
}

/** Builds the CEL environment (expensive: once per plugin instance, never per request). */
export function createEnvironment(): Environment {
  const environment = new Environment({ limits: { maxAstNodes: 2_000, maxDepth: 50, maxListElements: 1_000, maxMapEntries: 1_000, maxCallArguments: 32 } })
  for (const [name, type] of Object.entries(VARIABLES)) environment.registerVariable(name, type)
  return environment
}

const SPECIFICITY: Readonly<Record<RuleScope, number>> = { virtual_key: 2, team: 1, global: 0 }

/** The first line of a cel-js error (the rest is a source excerpt with a caret). */
const firstLine = (error: unknown) => String((error as Error)?.message ?? error).split('\n')[0]

/**
 * Compiles every rule's expression and type-checks it against {@link VARIABLES}; returns the
 * rules in evaluation order: virtual-key rules, then team rules, then global ones, each by
 * priority (higher first), then config order.
 * @throws TypeError naming the rule and the parse or type error.
 */
export function compileRules(rules: readonly CheckedRule[], environment: Environment = createEnvironment()): CompiledRule[] {
  const compiled = rules.map((rule): CompiledRule => {
    let program: ParseResult
    try {
      program = environment.parse(rule.when)
    } catch (error) {
      throw new TypeError(`routing-rules: rule "${rule.name}": cannot parse "when": ${firstLine(error)}`)
    }
    const checked = program.check()
    if (!checked.valid) throw new TypeError(`routing-rules: rule "${rule.name}": "when" is not valid: ${firstLine(checked.error)}`)
    if (checked.type !== 'bool' && checked.type !== 'dyn') throw new TypeError(`routing-rules: rule "${rule.name}": "when" must be a condition (bool), it gives ${checked.type}`)
    return { ...rule, program }
  })
  return compiled.sort((a, b) => SPECIFICITY[b.scope] - SPECIFICITY[a.scope] || b.priority - a.priority || a.index - b.index)
}

/** True when the rule's scope covers the request (checked before any expression runs). */
function inScope(rule: CompiledRule, activation: Activation): boolean {
  if (rule.scope === 'global') return true
  return rule.scopeId === (rule.scope === 'team' ? activation.team : activation.virtual_key)
}

/**
 * The first rule in scope whose expression yields `true`, or undefined. A rule whose
 * expression fails at run time (a missing key, a type mismatch) does not match; `onError`
 * hears of it.
 */
export function findRule(rules: readonly CompiledRule[], activation: Activation, onError: (rule: CompiledRule, error: unknown) => void): CompiledRule | undefined {
  for (const rule of rules) {
    if (!inScope(rule, activation)) continue
    let result: unknown
    try {
      result = rule.program(activation)
    } catch (error) {
      onError(rule, error)
      continue
    }
    if (result === true) return rule
  }
  return undefined
}

/** Draws one target by weight; `random` gives [0, 1). */
export function pickTarget<T extends { weight: number }>(targets: readonly T[], random: () => number): T {
  if (targets.length === 1) return targets[0]!
  let total = 0
  for (const target of targets) total += target.weight
  let pick = random() * total
  for (const target of targets) {
    if (target.weight <= 0) continue
    pick -= target.weight
    if (pick < 0) return target
  }
  // Rounding at the top end: the last target that can be picked.
  return targets.findLast((target) => target.weight > 0)!
}
