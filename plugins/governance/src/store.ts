import type { AtomicStore, Logger } from '@switchyard/core'
import type { Storage } from 'unstorage'
import { compile, type Snapshot } from './model.js'
import { emptyState, ENTITY_KINDS, generateKeyValue, type EntityKind, type EntityOf, type GovernanceState, type Meta } from './entities.js'

/**
 * Governance entities in storage, one key each (`governance:<kind>:<id>`), held in memory as a
 * compiled snapshot. A change is written to storage, applied here, and announced on the
 * `governance` channel of the atomic store, so every instance sharing the storage reloads the
 * changed entities; a full reload every `refreshIntervalMs` catches announcements missed while
 * the channel was down. Requests only ever read the snapshot.
 */

/** The channel entity changes are announced on. */
export const CHANGES_CHANNEL = 'governance:changes'
const SEED_LEASE = 'governance:seed'

type Stored = (EntityOf[EntityKind] & Partial<Tombstone>) | Tombstone
/** Left where a config entity was deleted through the API, so a restart does not bring it back. */
interface Tombstone {
  id: string
  deleted: true
  source: Meta['source']
  config_hash?: string
}

/** One entity to write (`entity`), delete (no `entity`), or delete for good even though the config has it (`tombstone`). */
export interface Change<K extends EntityKind = EntityKind> {
  kind: K
  id: string
  entity?: EntityOf[K]
}

export interface EntityStore {
  /** The compiled entities; replaced (never mutated) on every change. */
  readonly snapshot: Snapshot
  /** Seeds the config's entities (the file wins where it changed since the last start) and loads everything. */
  seed(config: GovernanceState, missingValues: ReadonlySet<string>): Promise<void>
  /** Writes `changes`, applies them here and tells the other instances. */
  commit(changes: readonly Change[]): Promise<void>
  /** Reads every entity from storage again. */
  reloadAll(): Promise<void>
  close(): void
}

export function storageKey(kind: EntityKind, id: string): string {
  return `governance:${kind}:${encodeURIComponent(id)}`
}

const idOfKey = (key: string) => decodeURIComponent(key.slice(key.lastIndexOf(':') + 1))
const isTombstone = (value: Stored | null | undefined): value is Tombstone => (value as Tombstone | undefined)?.deleted === true

export function createEntityStore(options: { storage: Storage; atomic: AtomicStore; log: Logger; refreshIntervalMs: number; onChange?(snapshot: Snapshot): void }): EntityStore {
  const { storage, atomic, log } = options
  let snapshot = compile(emptyState())
  const instance = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`

  const install = (state: GovernanceState) => {
    snapshot = compile(state)
    options.onChange?.(snapshot)
  }

  async function loadStored(): Promise<Record<EntityKind, Map<string, Stored>>> {
    const out = {} as Record<EntityKind, Map<string, Stored>>
    for (const kind of ENTITY_KINDS) {
      const keys = await storage.getKeys(`governance:${kind}`)
      const items = keys.length > 0 ? await storage.getItems(keys) : []
      const map = new Map<string, Stored>()
      for (const item of items) if (item.value && typeof item.value === 'object') map.set(idOfKey(item.key), item.value as Stored)
      out[kind] = map
    }
    return out
  }

  const live = (stored: Record<EntityKind, Map<string, Stored>>): GovernanceState => {
    const state = emptyState()
    for (const kind of ENTITY_KINDS) {
      for (const [id, value] of stored[kind]) if (!isTombstone(value)) (state[kind] as Map<string, unknown>).set(id, value)
    }
    return state
  }

  // Reloads run one at a time, in the order they were asked for.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task)
    queue = run.catch(() => undefined)
    return run
  }

  /** The config's entities as seeded: put back when the storage lost them (a Redis restarted empty). */
  let seeded: GovernanceState | undefined

  const reloadAll = () =>
    serial(async () => {
      const stored = await loadStored()
      const lost: Array<{ kind: EntityKind; id: string; entity: unknown }> = []
      if (seeded) {
        for (const kind of ENTITY_KINDS) {
          for (const [id, entity] of seeded[kind] as Map<string, Stored>) {
            if (stored[kind].has(id)) continue
            stored[kind].set(id, entity)
            lost.push({ kind, id, entity })
          }
        }
      }
      install(live(stored))
      if (lost.length > 0) {
        log.warn('governance: the storage lost entities of the config; they are written again (entities made through the API cannot be restored: keep Redis persistent)', { entities: lost.length })
        for (const { kind, id, entity } of lost) await storage.setItem(storageKey(kind, id), entity as never).catch(() => undefined)
      }
    })

  const reloadSome = (changed: ReadonlyArray<{ kind: EntityKind; id: string }>) =>
    serial(async () => {
      const state = { ...snapshot.state }
      for (const kind of new Set(changed.map((change) => change.kind))) (state as Record<string, unknown>)[kind] = new Map(snapshot.state[kind] as Map<string, unknown>)
      for (const { kind, id } of changed) {
        if (!ENTITY_KINDS.includes(kind)) continue
        const value = (await storage.getItem(storageKey(kind, id))) as Stored | null
        const map = state[kind] as Map<string, unknown>
        if (value && !isTombstone(value)) map.set(id, value)
        else map.delete(id)
      }
      install(state)
    })

  const unsubscribe = atomic.subscribe(CHANGES_CHANNEL, (message) => {
    let changed: Array<{ kind: EntityKind; id: string }>
    try {
      changed = (JSON.parse(message) as { changes: Array<{ kind: EntityKind; id: string }> }).changes
    } catch {
      return
    }
    if (!Array.isArray(changed)) return
    reloadSome(changed).catch((error: unknown) => log.error('governance: reloading changed entities failed', { error: String((error as Error)?.message ?? error) }))
  })

  let timer: ReturnType<typeof setInterval> | undefined
  if (options.refreshIntervalMs > 0) {
    timer = setInterval(() => {
      reloadAll().catch((error: unknown) => log.warn('governance: periodic reload failed', { error: String((error as Error)?.message ?? error) }))
    }, options.refreshIntervalMs)
    ;(timer as { unref?: () => void }).unref?.()
  }

  /** One instance seeds at a time, so two instances starting together agree on generated values. */
  async function withSeedLease<T>(task: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 30_000
    let held = false
    while (!(held = await atomic.claim(SEED_LEASE, instance, 30_000)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    if (!held) log.warn('governance: another instance held the seed lease for 30 s; seeding anyway')
    try {
      return await task()
    } finally {
      if (held) await atomic.release(SEED_LEASE, instance).catch(() => undefined)
    }
  }

  async function seed(config: GovernanceState, missingValues: ReadonlySet<string>): Promise<void> {
    await withSeedLease(async () => {
      const stored = await loadStored()
      for (const kind of ENTITY_KINDS) {
        for (const [id, entity] of config[kind] as Map<string, EntityOf[EntityKind]>) {
          const existing = stored[kind].get(id)
          if (existing && existing.config_hash === entity.config_hash) continue
          let next = entity as EntityOf[EntityKind]
          if (kind === 'virtual_key' && missingValues.has(id)) {
            const previous = existing && !isTombstone(existing) ? (existing as EntityOf['virtual_key']).value : undefined
            next = { ...(next as EntityOf['virtual_key']), value: previous || generateKeyValue() }
          }
          if (existing && !isTombstone(existing)) next = { ...next, created_at: (existing as Meta).created_at }
          await storage.setItem(storageKey(kind, id), next)
        }
        // An entity the config no longer has goes (entities made through the API stay).
        for (const [id, value] of stored[kind]) {
          if (value.source === 'config' && !config[kind].has(id)) await storage.removeItem(storageKey(kind, id))
        }
      }
    })
    await reloadAll()
    // What to put back if the storage loses them: the config's entities, generated values included.
    const restored = { ...config } as GovernanceState
    const keys = new Map(config.virtual_key)
    for (const id of missingValues) {
      const current = snapshot.state.virtual_key.get(id)
      if (current) keys.set(id, current)
    }
    restored.virtual_key = keys
    seeded = restored
  }

  async function commit(changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return
    for (const change of changes) {
      const key = storageKey(change.kind, change.id)
      if (change.entity) {
        await storage.setItem(key, change.entity)
        continue
      }
      const previous = snapshot.state[change.kind].get(change.id) as Meta | undefined
      // A config entity leaves a tombstone, or the next start would seed it again.
      if (previous?.source === 'config') await storage.setItem(key, { id: change.id, deleted: true, source: 'config', config_hash: previous.config_hash } satisfies Tombstone)
      else await storage.removeItem(key)
    }
    await serial(async () => {
      const state = { ...snapshot.state }
      for (const kind of new Set(changes.map((change) => change.kind))) (state as Record<string, unknown>)[kind] = new Map(snapshot.state[kind] as Map<string, unknown>)
      for (const change of changes) {
        const map = state[change.kind] as Map<string, unknown>
        if (change.entity) map.set(change.id, change.entity)
        else map.delete(change.id)
      }
      install(state)
    })
    try {
      await atomic.publish(CHANGES_CHANNEL, JSON.stringify({ changes: changes.map(({ kind, id }) => ({ kind, id })) }))
    } catch (error) {
      log.warn('governance: could not announce a change to the other instances (they pick it up on their next reload)', { error: String((error as Error)?.message ?? error) })
    }
  }

  return {
    get snapshot() {
      return snapshot
    },
    seed,
    commit,
    reloadAll,
    close() {
      unsubscribe()
      if (timer) clearInterval(timer)
    },
  }
}
