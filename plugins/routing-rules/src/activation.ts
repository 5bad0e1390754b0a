import type { HookContext } from '@switchyard/core'
import type { Activation } from './rules.js'

/**
 * `ctx.state` keys under which an authenticating plugin (governance) leaves the virtual key
 * and the team of the request, for rules scoped to them. A string, or an object with an `id`.
 */
export const VIRTUAL_KEY_STATE = 'switchyard:virtual_key'
export const TEAM_STATE = 'switchyard:team'

const idOf = (value: unknown): string => {
  if (typeof value === 'string') return value
  const id = (value as { id?: unknown } | undefined)?.id
  return typeof id === 'string' ? id : ''
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({})

/** The request body's `metadata` object (OpenAI's `metadata`, Anthropic's `metadata.user_id` ...), or `{}`. */
function metadataOf(ctx: HookContext): Record<string, unknown> {
  const metadata = ctx.body?.metadata
  return typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : {}
}

/** Splits the provider prefix off a model as the router does: everything before the first `/`. */
export function splitModel(model: string): { provider: string; name: string } {
  const slash = model.indexOf('/')
  return slash === -1 ? { provider: '', name: model } : { provider: model.slice(0, slash), name: model.slice(slash + 1) }
}

/**
 * The activation for one request. `headers` and `metadata` are built on first use, so rules
 * that never read them cost nothing for them; `body` is the parsed request itself, never copied.
 */
export function activationOf(ctx: HookContext): Activation {
  let headers: Record<string, string> | undefined
  let metadata: Record<string, unknown> | undefined
  return {
    model: ctx.requestedModel,
    provider: splitModel(ctx.requestedModel).provider,
    get headers() {
      if (!headers) {
        headers = {}
        // Headers iterates lower-case names, repeated headers joined with ", ".
        for (const [name, value] of ctx.headers) headers[name] = value
      }
      return headers
    },
    get metadata() {
      return (metadata ??= metadataOf(ctx))
    },
    body: ctx.body ?? EMPTY,
    stream: ctx.stream,
    operation: ctx.operation,
    virtual_key: idOf(ctx.state.get(VIRTUAL_KEY_STATE)),
    team: idOf(ctx.state.get(TEAM_STATE)),
    surface: ctx.surface,
  }
}
