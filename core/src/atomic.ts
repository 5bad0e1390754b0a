import type { Storage } from 'unstorage'
import type { Logger } from './log.js'

/**
 * State that must be exact across gateway instances (rate-limit windows, budget spend, job
 * claims) goes through this small interface. The gateway hands plugins one instance: in memory
 * for a single process (`createMemoryAtomicStore`), Redis when several instances share state
 * (`@switchyard/plugin-redis`). Every method is atomic on its own.
 */
export interface AtomicStore {
  /**
   * All or nothing: adds every charge when each counter stays within its `limit` afterwards,
   * and changes nothing otherwise. Counters that do not exist start at 0 (a new window).
   */
  reserve(charges: readonly CounterCharge[]): Promise<ReserveResult>
  /** Adds each amount (negative to give back) with no limit check: settling a reservation. */
  add(charges: readonly CounterAdd[]): Promise<void>
  /** Current values; a missing or expired counter reads 0 with `resetInMs` 0. */
  get(keys: readonly string[]): Promise<CounterValue[]>
  /** Removes counters (a budget reset by an admin). */
  delete(keys: readonly string[]): Promise<void>
  /**
   * A lease: `key` becomes `owner`'s for `ttlMs` when it is free, expired, or already
   * `owner`'s (then the lease is renewed). True when `owner` holds it afterwards.
   */
  claim(key: string, owner: string, ttlMs: number): Promise<boolean>
  /** Gives a lease back; only its owner can. True when it was released. */
  release(key: string, owner: string): Promise<boolean>
  /** Delivers `message` to every subscriber of `channel` on every instance sharing this store, this one included. */
  publish(channel: string, message: string): Promise<void>
  /** Listens on `channel`; returns the unsubscribe function. */
  subscribe(channel: string, listener: (message: string) => void): () => void
  /** Reachable right now (for `/ready` and fail-open/fail-closed decisions). */
  ping(): Promise<boolean>
  close(): Promise<void>
}

/** When a counter's window ends: `windowMs` after it was created, or at an absolute time. */
export interface CounterExpiry {
  /** The counter disappears this long after it was created (a fixed window starting at first use). */
  windowMs?: number
  /** The counter disappears at this epoch time in ms (calendar-aligned windows). Wins over `windowMs`. */
  expireAt?: number
}

export interface CounterCharge extends CounterExpiry {
  key: string
  amount: number
  /** The most the counter may hold after the charge; `Infinity` for no check. */
  limit: number
}

export interface CounterAdd extends CounterExpiry {
  key: string
  amount: number
}

export interface CounterValue {
  value: number
  /** Milliseconds until the counter's window ends; 0 when it has none or does not exist. */
  resetInMs: number
}

export type ReserveResult =
  | { ok: true; values: number[] }
  /** `index`: the first charge that did not fit; `value`: its counter now; `resetInMs`: until its window ends. */
  | { ok: false; index: number; value: number; resetInMs: number }

interface Slot {
  value: number
  /** Epoch ms; 0 = never. */
  expiresAt: number
}

/** The single-process `AtomicStore`: counters, leases and channels in memory. */
export function createMemoryAtomicStore(options: { now?: () => number } = {}): AtomicStore {
  const now = options.now ?? Date.now
  const counters = new Map<string, Slot>()
  const leases = new Map<string, { owner: string; expiresAt: number }>()
  const channels = new Map<string, Set<(message: string) => void>>()

  const live = (key: string, at: number): Slot | undefined => {
    const slot = counters.get(key)
    if (slot && slot.expiresAt !== 0 && slot.expiresAt <= at) {
      counters.delete(key)
      return undefined
    }
    return slot
  }
  const expiryOf = (expiry: CounterExpiry, at: number) => expiry.expireAt ?? (expiry.windowMs ? at + expiry.windowMs : 0)
  const apply = (charge: CounterAdd, at: number) => {
    const slot = live(charge.key, at)
    if (slot) slot.value += charge.amount
    else counters.set(charge.key, { value: charge.amount, expiresAt: expiryOf(charge, at) })
  }

  return {
    async reserve(charges) {
      const at = now()
      // Several charges may hit the same key: check against the running sum.
      const pending = new Map<string, number>()
      for (let index = 0; index < charges.length; index++) {
        const charge = charges[index]!
        const slot = live(charge.key, at)
        const next = (pending.get(charge.key) ?? slot?.value ?? 0) + charge.amount
        if (next > charge.limit) return { ok: false, index, value: slot?.value ?? 0, resetInMs: slot && slot.expiresAt ? slot.expiresAt - at : 0 }
        pending.set(charge.key, next)
      }
      for (const charge of charges) apply(charge, at)
      return { ok: true, values: charges.map((charge) => counters.get(charge.key)!.value) }
    },
    async add(charges) {
      const at = now()
      for (const charge of charges) apply(charge, at)
    },
    async get(keys) {
      const at = now()
      return keys.map((key) => {
        const slot = live(key, at)
        return slot ? { value: slot.value, resetInMs: slot.expiresAt ? slot.expiresAt - at : 0 } : { value: 0, resetInMs: 0 }
      })
    },
    async delete(keys) {
      for (const key of keys) counters.delete(key)
    },
    async claim(key, owner, ttlMs) {
      const at = now()
      const lease = leases.get(key)
      if (lease && lease.owner !== owner && lease.expiresAt > at) return false
      leases.set(key, { owner, expiresAt: at + ttlMs })
      return true
    },
    async release(key, owner) {
      const lease = leases.get(key)
      if (!lease || lease.owner !== owner) return false
      leases.delete(key)
      return true
    },
    async publish(channel, message) {
      for (const listener of channels.get(channel) ?? []) {
        try {
          listener(message)
        } catch {
          // A failing subscriber does not stop the others.
        }
      }
    },
    subscribe(channel, listener) {
      let set = channels.get(channel)
      if (!set) channels.set(channel, (set = new Set()))
      set.add(listener)
      return () => void set.delete(listener)
    },
    async ping() {
      return true
    },
    async close() {
      counters.clear()
      leases.clear()
      channels.clear()
    },
  }
}

/**
 * Where shared state lives when several gateway instances run: the runtime loads a package by
 * name (`@switchyard/plugin-redis` for `storage.type: "redis"`) and calls its
 * `createSharedState` export, so the core never imports a database client.
 */
export interface SharedStateOptions {
  /** Connection URL (`redis://host:6379/0`, `rediss://` for TLS). */
  url: string
  /** Prefix of every key and channel, so several deployments can share one server. */
  prefix: string
  log: Logger
}

/** Storage and exact counters on one shared backend. */
export interface SharedState {
  /** Persistent shared state (virtual keys, jobs ...), an unstorage instance. */
  storage: Storage
  /** Exact counters, leases and channels. */
  atomic: AtomicStore
}

/** What a shared-state package exports. */
export interface SharedStateModule {
  createSharedState(options: SharedStateOptions): SharedState | Promise<SharedState>
}
