import type { AtomicStore, CounterAdd, CounterCharge, Logger } from '@switchyard/core'
import { Redis, type RedisOptions } from 'ioredis'
import { ADD, CLAIM, GET, RELEASE, RESERVE } from './scripts.js'

/** Options of {@link createRedisAtomicStore}. */
export interface RedisAtomicOptions {
  /** `redis://host:6379/0` (`rediss://` for TLS). */
  url: string
  /** Prefix of every key and channel. Default `switchyard:`. */
  prefix?: string
  log?: Logger
  /**
   * How long one command may take before it fails (ms). A failed command is what the
   * governance failure policy acts on, so this bounds how long a request waits on an
   * unreachable Redis. Default 2000.
   */
  commandTimeoutMs?: number
  /** Extra ioredis options (TLS, auth ...), merged over the defaults. */
  redis?: RedisOptions
}

/** ioredis options for a connection whose commands fail fast while Redis is unreachable. */
export function failFastOptions(commandTimeoutMs: number): RedisOptions {
  return {
    // One reconnection attempt per queued command, then it fails: callers decide what an
    // unreachable Redis means (fail closed or open) instead of waiting for it indefinitely.
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(commandTimeoutMs, 1_000),
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    enableReadyCheck: true,
  }
}

interface Commands {
  syReserve(numberOfKeys: number, ...args: Array<string | number>): Promise<Array<string | number>>
  syAdd(numberOfKeys: number, ...args: Array<string | number>): Promise<number>
  syGet(numberOfKeys: number, ...args: Array<string | number>): Promise<Array<string | number>>
  syClaim(key: string, owner: string, ttlMs: number): Promise<number>
  syRelease(key: string, owner: string): Promise<number>
}

const toArg = (value: number | undefined) => (value === undefined || value === Infinity ? '' : String(value))

/** KEYS then ARGV of a list of charges, as the scripts read them. */
function chargeArgs(prefix: string, charges: readonly (CounterCharge | CounterAdd)[]): Array<string | number> {
  const keys: string[] = []
  const args: string[] = []
  for (const charge of charges) {
    keys.push(prefix + charge.key)
    const limit = 'limit' in charge ? charge.limit : undefined
    if (!Number.isFinite(charge.amount)) throw new TypeError(`counter "${charge.key}": amount must be a finite number`)
    args.push(String(charge.amount), toArg(limit), charge.expireAt === undefined ? '' : String(Math.floor(charge.expireAt)), charge.windowMs ? String(Math.floor(charge.windowMs)) : '')
  }
  return [keys.length, ...keys, ...args]
}

/**
 * The `AtomicStore` on Redis: counters, leases and channels shared by every gateway instance
 * that uses the same server and prefix. Reservations run as one Lua script (all charges or
 * none); pub/sub uses a second connection, opened on the first `subscribe`.
 *
 * Commands fail (rather than wait) when Redis is unreachable: one reconnection attempt, then an
 * error, and never longer than `commandTimeoutMs`.
 */
export function createRedisAtomicStore(options: RedisAtomicOptions): AtomicStore & { readonly client: Redis } {
  const prefix = options.prefix ?? 'switchyard:'
  const counters = `${prefix}c:`
  const leases = `${prefix}l:`
  const channels = `${prefix}ch:`
  const log = options.log
  const redisOptions: RedisOptions = { ...failFastOptions(options.commandTimeoutMs ?? 2_000), ...options.redis }
  const client = new Redis(options.url, redisOptions)
  const commands = client as unknown as Commands
  client.defineCommand('syReserve', { lua: RESERVE })
  client.defineCommand('syAdd', { lua: ADD })
  client.defineCommand('syGet', { lua: GET })
  client.defineCommand('syClaim', { lua: CLAIM, numberOfKeys: 1 })
  client.defineCommand('syRelease', { lua: RELEASE, numberOfKeys: 1 })

  // An unreachable Redis is reported once per outage, not once per reconnection attempt.
  const watch = (connection: Redis, role: string) => {
    let down = false
    connection.on('error', (error: Error) => {
      if (down) return
      down = true
      log?.error('redis connection failed', { role, error: error.message })
    })
    connection.on('ready', () => {
      if (down) log?.info('redis connection restored', { role })
      down = false
    })
  }
  watch(client, 'commands')

  let subscriber: Redis | undefined
  const listeners = new Map<string, Set<(message: string) => void>>()
  const subscriberOf = () => {
    if (subscriber) return subscriber
    // Subscriptions wait for the connection (offline queue) and are restored after a reconnect.
    subscriber = new Redis(options.url, { ...redisOptions, maxRetriesPerRequest: null, commandTimeout: undefined })
    watch(subscriber, 'subscriber')
    subscriber.on('message', (channel: string, message: string) => {
      for (const listener of listeners.get(channel.slice(channels.length)) ?? []) {
        try {
          listener(message)
        } catch (error) {
          log?.error('redis subscriber failed', { channel, error: String((error as Error)?.message ?? error) })
        }
      }
    })
    return subscriber
  }

  let closed = false
  return {
    client,
    async reserve(charges) {
      if (charges.length === 0) return { ok: true, values: [] }
      const reply = await commands.syReserve(...(chargeArgs(counters, charges) as [number, ...string[]]))
      if (Number(reply[0]) === 1) return { ok: true, values: reply.slice(1).map(Number) }
      return { ok: false, index: Number(reply[1]), value: Number(reply[2]), resetInMs: Number(reply[3]) }
    },
    async add(charges) {
      if (charges.length === 0) return
      await commands.syAdd(...(chargeArgs(counters, charges) as [number, ...string[]]))
    },
    async get(keys) {
      if (keys.length === 0) return []
      const reply = await commands.syGet(keys.length, ...keys.map((key) => counters + key))
      return keys.map((_, index) => ({ value: Number(reply[index * 2]), resetInMs: Number(reply[index * 2 + 1]) }))
    },
    async delete(keys) {
      if (keys.length > 0) await client.del(...keys.map((key) => counters + key))
    },
    async claim(key, owner, ttlMs) {
      return (await commands.syClaim(leases + key, owner, Math.max(1, Math.floor(ttlMs)))) === 1
    },
    async release(key, owner) {
      return (await commands.syRelease(leases + key, owner)) === 1
    },
    async publish(channel, message) {
      await client.publish(channels + channel, message)
    },
    subscribe(channel, listener) {
      let set = listeners.get(channel)
      if (!set) {
        listeners.set(channel, (set = new Set()))
        subscriberOf()
          .subscribe(channels + channel)
          .catch((error: unknown) => log?.error('redis subscribe failed', { channel, error: String((error as Error)?.message ?? error) }))
      }
      set.add(listener)
      return () => {
        if (!set.delete(listener) || set.size > 0 || listeners.get(channel) !== set) return
        listeners.delete(channel)
        if (!closed) subscriber?.unsubscribe(channels + channel).catch(() => undefined)
      }
    },
    async ping() {
      try {
        return (await client.ping()) === 'PONG'
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      listeners.clear()
      await Promise.all([client, subscriber].filter((connection): connection is Redis => connection !== undefined).map(closeConnection))
    },
  }
}

/** QUIT when connected (pending replies arrive first), else drop the connection attempts. */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    try {
      await connection.quit()
      return
    } catch {
      // Fall through: the connection went away while quitting.
    }
  }
  connection.disconnect()
}
