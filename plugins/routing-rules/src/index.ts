import { definePlugin, type HookContext, type RouteOverride } from '@switchyard/core'
import { activationOf, splitModel } from './activation.js'
import { resolveOptions } from './options.js'
import { compileRules, findRule, pickTarget, type Activation, type CompiledRule } from './rules.js'

export type { RoutingRule, RoutingRulesOptions, RuleScope, RuleTarget, CheckedRule } from './options.js'
export { resolveOptions } from './options.js'
export type { Activation, CompiledRule } from './rules.js'
export { compileRules, createEnvironment, findRule, pickTarget, VARIABLES } from './rules.js'
export { activationOf, splitModel, TEAM_STATE, VIRTUAL_KEY_STATE } from './activation.js'

/** Package name; also the `ctx.state` key of the decision. */
export const PLUGIN_NAME = '@switchyard/plugin-routing-rules'

/** What the plugin decided for a request (`ctx.state.get(PLUGIN_NAME)`). */
export interface RoutingDecision {
  /** Name of the rule that matched. */
  rule: string
  /** What `ctx.route` was set to: the target drawn by weight (one), and the rule's fallbacks. */
  route: RouteOverride
}

export interface RoutingRulesDependencies {
  /** Random numbers in [0, 1) for drawing a weighted target (tests inject their own). Default `Math.random`. */
  random?: () => number
}

/** The first line of an error message (cel-js adds a source excerpt below it). */
const firstLine = (error: unknown) => String((error as Error)?.message ?? error).split('\n')[0]

/**
 * Conditional routing: the first rule whose CEL `when` holds sends the request to one of its
 * weighted targets, with its fallbacks.
 *
 * ```json
 * { "plugins": [{ "name": "@switchyard/plugin-routing-rules", "config": { "rules": [
 *   { "name": "beta-to-claude", "scope": "global", "priority": 10,
 *     "when": "headers[\"x-tier\"] == \"beta\" && model.startsWith(\"gpt-4o\")",
 *     "targets": [{ "provider": "anthropic", "model": "claude-sonnet-4-5", "weight": 1 }],
 *     "fallbacks": ["openai/gpt-4o"] }
 * ] } }] }
 * ```
 *
 * Expressions are compiled once, at setup; a bad one stops the gateway's start with the rule's
 * name. Per request, `onRequest` runs the precompiled programs in order until one matches.
 */
export function createRoutingRules(input?: unknown, dependencies: RoutingRulesDependencies = {}) {
  const checked = resolveOptions(input)
  const random = dependencies.random ?? Math.random
  let rules: CompiledRule[] = []
  /** Rules whose run-time failure was already logged: once per rule, not once per request. */
  const reported = new Set<string>()

  /** The route for an activation, or undefined when no rule matches. */
  function decide(activation: Activation, log?: HookContext['log']): RoutingDecision | undefined {
    const rule = findRule(rules, activation, (failed, error) => {
      if (reported.has(failed.name)) return
      reported.add(failed.name)
      log?.warn('routing-rules: a rule failed to evaluate and does not match (logged once per rule)', { rule: failed.name, error: firstLine(error) })
    })
    if (!rule) return undefined
    const target = pickTarget(rule.targets, random)
    const model = target.model ?? splitModel(activation.model).name
    return {
      rule: rule.name,
      route: { targets: [{ provider: target.provider, model, weight: 1 }], ...(rule.fallbacks.length > 0 ? { fallbacks: [...rule.fallbacks] } : {}) },
    }
  }

  return definePlugin({
    name: PLUGIN_NAME,
    setup({ log }) {
      rules = compileRules(checked)
      reported.clear()
      log.debug('routing-rules: rules compiled', { rules: rules.map((rule) => rule.name) })
    },
    hooks: {
      onRequest(ctx) {
        // A forwarded call (GET /responses/{id} ...) names its provider itself: nothing to route.
        if (rules.length === 0 || ctx.forwarded) return
        const decision = decide(activationOf(ctx), ctx.log)
        if (!decision) return
        ctx.route = decision.route
        ctx.state.set(PLUGIN_NAME, decision)
      },
    },
    /** Runs the rules against an activation without a request (tests, dry runs); setup must have run. */
    decide(activation: Activation): RoutingDecision | undefined {
      return decide(activation)
    },
  })
}

export default createRoutingRules
