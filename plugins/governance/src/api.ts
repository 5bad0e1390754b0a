import type { AtomicStore, Config, Logger, PluginDefinition } from '@switchyard/core'
import { bearerOf, hasKeyPrefix, sameSecret } from './credentials.js'
import { maskSecret, type GovernanceState } from './entities.js'
import { counterKey, ownerLimits, windowOf, type Limit, type Snapshot } from './model.js'
import * as mutate from './mutations.js'
import { ApiError, type Mutation, type Principal } from './mutations.js'
import type { EntityStore } from './store.js'
import { customerView, keyOwners, keyUsage, teamView, usageLine, usageOf, viewContext, virtualKeyView, budgetView, rateLimitView } from './views.js'

/**
 * The management API under `/api`: CRUD for virtual keys, teams, customers, budgets and rate
 * limits in Bifrost's paths and shapes, their usage, and the providers with masked keys.
 *
 * Every call needs an admin credential (`Authorization: Bearer $SWITCHYARD_ADMIN_TOKEN`, or the
 * `governance.auth_config` user and password as Basic auth). A virtual key with `can_mint` may
 * mint keys within its own limits and see or delete the keys it minted, and nothing else.
 */

type App = Parameters<NonNullable<PluginDefinition['routes']>>[0]

/** The admin credentials, resolved at start. */
export interface AdminCredentials {
  /** Bearer tokens that grant admin access. */
  tokens: string[]
  /** Basic auth user and password (`auth_config` with `is_enabled`). */
  basic?: { username: string; password: string }
}

export interface ApiDependencies {
  store: Pick<EntityStore, 'snapshot' | 'commit'>
  atomic: AtomicStore
  config: Config
  credentials: AdminCredentials
  log: Logger
  /** False until setup finished: the API answers 503 before. */
  ready(): boolean
}

const json = (body: unknown, status = 200) => Response.json(body, { status, headers: { 'cache-control': 'no-store' } })
const failure = (status: number, message: string, type: string, headers?: Record<string, string>) => Response.json({ error: { message, type } }, { status, headers })

function authenticate(request: Request, deps: ApiDependencies, snapshot: Snapshot): Principal | Response {
  const { credentials } = deps
  const authorization = request.headers.get('authorization') ?? ''
  const bearer = bearerOf(request.headers)
  if (bearer !== undefined && credentials.tokens.some((token) => sameSecret(bearer, token))) return { kind: 'admin' }
  if (credentials.basic && authorization.slice(0, 6).toLowerCase() === 'basic ') {
    let decoded = ''
    try {
      decoded = atob(authorization.slice(6).trim())
    } catch {
      decoded = ''
    }
    const colon = decoded.indexOf(':')
    if (colon > 0 && sameSecret(decoded.slice(0, colon), credentials.basic.username) && sameSecret(decoded.slice(colon + 1), credentials.basic.password)) return { kind: 'admin' }
  }
  const keyValue = request.headers.get('x-bf-vk')?.trim() || (bearer && hasKeyPrefix(bearer) ? bearer : undefined)
  if (keyValue) {
    const key = snapshot.byValue.get(keyValue)
    if (key && !key.problem && key.entity.can_mint && (key.expiresAt === undefined || Date.now() < key.expiresAt)) return { kind: 'minter', key }
    return failure(403, 'this virtual key may not use the management API (it needs can_mint, and only mints keys)', 'permission_denied')
  }
  if (credentials.tokens.length === 0 && !credentials.basic) {
    return failure(401, 'the management API needs an admin credential: set SWITCHYARD_ADMIN_TOKEN (or governance.auth_config) and send it as Authorization: Bearer <token>', 'unauthorized', { 'www-authenticate': 'Bearer realm="switchyard"' })
  }
  return failure(401, 'admin credential missing or wrong', 'unauthorized', { 'www-authenticate': credentials.basic ? 'Basic realm="switchyard"' : 'Bearer realm="switchyard"' })
}

async function readBody(request: Request): Promise<unknown> {
  try {
    return await request.json()
  } catch {
    throw new ApiError(400, 'the body must be a JSON object')
  }
}

/** The provider keys of the config, masked: a name, the key's last characters, its models and weight. */
function providersView(config: Config) {
  return {
    providers: Object.entries(config.providers).map(([id, provider]) => ({
      id,
      keys: provider.keys.map((key) => ({ ...(key.name !== undefined && { name: key.name }), value: maskSecret(key.value), models: key.models, weight: key.weight })),
      ...(provider.network_config?.base_url !== undefined && { base_url: provider.network_config.base_url }),
      ...(provider.fallbacks !== undefined && { fallbacks: provider.fallbacks }),
    })),
  }
}

export function registerApi(app: App, deps: ApiDependencies): void {
  const { store, atomic } = deps

  /** Runs a handler with the caller authenticated; `admin` routes refuse minters. */
  const guard = (access: 'admin' | 'minter', handler: (request: Request, principal: Principal, params: Record<string, string>) => Promise<Response>) => {
    return async (c: { req: { raw: Request; param(): Record<string, string> } }) => {
      if (!deps.ready()) return failure(503, 'governance is starting', 'unavailable', { 'retry-after': '1' })
      const principal = authenticate(c.req.raw, deps, store.snapshot)
      if (principal instanceof Response) return principal
      if (access === 'admin' && principal.kind !== 'admin') return failure(403, 'this call needs an admin credential', 'permission_denied')
      try {
        return await handler(c.req.raw, principal, c.req.param())
      } catch (error) {
        if (error instanceof ApiError) return failure(error.status, error.message, error.type)
        deps.log.error('governance: management call failed', { error: String((error as Error)?.stack ?? error) })
        return failure(500, 'the change could not be saved; try again', 'internal')
      }
    }
  }

  /** Every compiled limit with this id (budgets and rate limits can be shared by several owners). */
  const limitsWithId = (kind: 'budget' | 'rate_limit', id: string): Limit[] => {
    const { state, byId } = store.snapshot
    const all = [
      ...[...byId.values()].flatMap((key) => [...key.limits, ...[...key.providers.values()].flatMap((config) => config.limits)]),
      ...[...state.team.values()].flatMap((team) => ownerLimits(state, 'team', team)),
      ...[...state.customer.values()].flatMap((customer) => ownerLimits(state, 'customer', customer)),
    ]
    return all.filter((limit) => limit.id === id && (kind === 'budget') === (limit.kind === 'budget'))
  }

  /** Writes a mutation and clears the counters of the limits it resets (their current window). */
  const apply = async (mutation: Mutation) => {
    await store.commit(mutation.changes)
    const at = Date.now()
    const keys = new Set(mutation.resets.flatMap(({ kind, id }) => limitsWithId(kind, id).map((limit) => counterKey(limit, windowOf(limit, at)))))
    if (keys.size > 0) await atomic.delete([...keys])
  }

  const keyAnswer = async (id: string, message?: string, reveal = false) => {
    const state = store.snapshot.state
    const key = state.virtual_key.get(id)!
    const context = await viewContext(atomic, state, keyOwners([key]))
    return json({ ...(message && { message }), virtual_key: virtualKeyView(key, context, reveal) })
  }

  /** A key a minter may see: one it minted (or itself). */
  const visibleTo = (principal: Principal, keyId: string) => {
    if (principal.kind === 'admin') return true
    if (keyId === principal.key.entity.id) return true
    return store.snapshot.state.virtual_key.get(keyId)?.parent_id === principal.key.entity.id
  }

  const base = '/api/governance'

  // ---- Virtual keys
  app.get(`${base}/virtual-keys`, guard('minter', async (_request, principal) => {
    const state = store.snapshot.state
    const keys = [...state.virtual_key.values()].filter((key) => principal.kind === 'admin' || key.parent_id === principal.key.entity.id)
    const context = await viewContext(atomic, state, keyOwners(keys))
    return json({ virtual_keys: keys.map((key) => virtualKeyView(key, context)), count: keys.length })
  }))
  app.post(`${base}/virtual-keys`, guard('minter', async (request, principal) => {
    const mutation = mutate.createVirtualKey(store.snapshot.state, await readBody(request), principal)
    await apply(mutation)
    return keyAnswer(mutation.id, 'virtual key created', true)
  }))
  app.get(`${base}/virtual-keys/:id`, guard('minter', async (_request, principal, { id }) => {
    if (!store.snapshot.state.virtual_key.has(id!) || !visibleTo(principal, id!)) throw new ApiError(404, `virtual key "${id}" not found`)
    return keyAnswer(id!)
  }))
  app.get(`${base}/virtual-keys/:id/usage`, guard('minter', async (_request, principal, { id }) => {
    const key = store.snapshot.byId.get(id!)
    if (!key || !visibleTo(principal, id!)) throw new ApiError(404, `virtual key "${id}" not found`)
    return json(await keyUsage(atomic, key))
  }))
  app.put(`${base}/virtual-keys/:id`, guard('admin', async (request, _principal, { id }) => {
    const mutation = mutate.updateVirtualKey(store.snapshot.state, id!, await readBody(request))
    await apply(mutation)
    return keyAnswer(id!, 'virtual key updated')
  }))
  app.delete(`${base}/virtual-keys/:id`, guard('minter', async (_request, principal, { id }) => {
    if (principal.kind === 'minter' && (id === principal.key.entity.id || !visibleTo(principal, id!))) throw new ApiError(404, `virtual key "${id}" not found`)
    await apply(mutate.deleteVirtualKey(store.snapshot.state, id!))
    return json({ message: 'virtual key deleted' })
  }))

  // ---- Teams and customers
  for (const kind of ['team', 'customer'] as const) {
    const path = `${base}/${kind}s`
    const view = async (id: string, message?: string) => {
      const state = store.snapshot.state
      const entity = state[kind].get(id)!
      const context = await viewContext(atomic, state, [{ scope: kind, owner: entity }])
      return json({ ...(message && { message }), [kind]: kind === 'team' ? teamView(entity as never, context) : customerView(entity as never, context) })
    }
    app.get(path, guard('admin', async () => {
      const state = store.snapshot.state
      const entities = [...state[kind].values()]
      const context = await viewContext(atomic, state, entities.map((entity) => ({ scope: kind, owner: entity })))
      return json({ [`${kind}s`]: entities.map((entity) => (kind === 'team' ? teamView(entity as never, context) : customerView(entity as never, context))), count: entities.length })
    }))
    app.post(path, guard('admin', async (request) => {
      const mutation = mutate.createGroup(kind, store.snapshot.state, await readBody(request))
      await apply(mutation)
      return view(mutation.id, `${kind} created`)
    }))
    app.get(`${path}/:id`, guard('admin', async (_request, _principal, { id }) => {
      if (!store.snapshot.state[kind].has(id!)) throw new ApiError(404, `${kind} "${id}" not found`)
      return view(id!)
    }))
    app.get(`${path}/:id/usage`, guard('admin', async (_request, _principal, { id }) => {
      const state = store.snapshot.state
      const entity = state[kind].get(id!)
      if (!entity) throw new ApiError(404, `${kind} "${id}" not found`)
      const usage = await usageOf(atomic, ownerLimits(state, kind, entity))
      return json({ [kind]: { id: entity.id, name: entity.name }, limits: usage.map((entry) => usageLine(entry)) })
    }))
    app.put(`${path}/:id`, guard('admin', async (request, _principal, { id }) => {
      await apply(mutate.updateGroup(kind, store.snapshot.state, id!, await readBody(request)))
      return view(id!, `${kind} updated`)
    }))
    app.delete(`${path}/:id`, guard('admin', async (_request, _principal, { id }) => {
      await apply(mutate.deleteGroup(kind, store.snapshot.state, id!))
      return json({ message: `${kind} deleted` })
    }))
  }

  // ---- Budgets and rate limits
  const limitContext = async (state: GovernanceState) => {
    // Every owner: the usage of any budget or rate limit is read in its owner's windows.
    const owners = [
      ...keyOwners(state.virtual_key.values()),
      ...[...state.team.values()].map((team) => ({ scope: 'team' as const, owner: team })),
      ...[...state.customer.values()].map((customer) => ({ scope: 'customer' as const, owner: customer })),
    ]
    return viewContext(atomic, state, owners)
  }
  const limitRoutes = [
    { kind: 'budget' as const, path: `${base}/budgets`, plural: 'budgets', create: mutate.createBudget, update: mutate.updateBudget, view: budgetView },
    { kind: 'rate_limit' as const, path: `${base}/rate-limits`, plural: 'rate_limits', create: mutate.createRateLimit, update: mutate.updateRateLimit, view: rateLimitView },
  ]
  for (const route of limitRoutes) {
    const one = async (id: string, message?: string) => {
      const state = store.snapshot.state
      const context = await limitContext(state)
      return json({ ...(message && { message }), [route.kind]: route.view(state[route.kind].get(id)! as never, context) })
    }
    app.get(route.path, guard('admin', async () => {
      const state = store.snapshot.state
      const context = await limitContext(state)
      const entities = [...state[route.kind].values()]
      return json({ [route.plural]: entities.map((entity) => route.view(entity as never, context)), count: entities.length })
    }))
    app.post(route.path, guard('admin', async (request) => {
      const mutation = route.create(store.snapshot.state, await readBody(request))
      await apply(mutation)
      return one(mutation.id, `${route.kind.replace('_', ' ')} created`)
    }))
    app.get(`${route.path}/:id`, guard('admin', async (_request, _principal, { id }) => {
      if (!store.snapshot.state[route.kind].has(id!)) throw new ApiError(404, `${route.kind.replace('_', ' ')} "${id}" not found`)
      return one(id!)
    }))
    app.put(`${route.path}/:id`, guard('admin', async (request, _principal, { id }) => {
      await apply(route.update(store.snapshot.state, id!, await readBody(request)))
      return one(id!, `${route.kind.replace('_', ' ')} updated`)
    }))
    app.delete(`${route.path}/:id`, guard('admin', async (_request, _principal, { id }) => {
      await apply(mutate.deleteLimit(route.kind, store.snapshot.state, id!))
      return json({ message: `${route.kind.replace('_', ' ')} deleted` })
    }))
  }

  // ---- Providers, keys masked
  app.get('/api/providers', guard('admin', async () => json(providersView(deps.config))))
}
