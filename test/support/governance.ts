import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRedisAtomicStore } from '@switchyard/plugin-redis'
import { expect } from 'vitest'
import { inCI, startCli } from './runtime-process.js'

/**
 * Helpers of the governance e2e suites: Redis (the machine's shared one, or a private
 * `redis-server` a test may kill), gateway processes on one Redis, and the management API.
 */

/** The machine's Redis (`$REDIS_URL`, default 127.0.0.1:6379). */
export const SHARED_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
/** The admin token the suites' gateways accept. */
export const ADMIN_TOKEN = 'governance-e2e-admin-token'

/** True when Redis answers at `url`. */
export async function redisAnswers(url: string = SHARED_REDIS_URL): Promise<boolean> {
  const probe = createRedisAtomicStore({ url, commandTimeoutMs: 1_000 })
  try {
    return await probe.ping()
  } finally {
    await probe.close()
  }
}

/**
 * Whether the suites that need the shared Redis run: they do when it answers; when it does not,
 * they fail under CI=true (`requireRedis` throws) and are skipped elsewhere.
 */
export async function sharedRedisAvailable(): Promise<boolean> {
  const available = await redisAnswers()
  if (!available && inCI) throw new Error(`CI needs Redis at ${SHARED_REDIS_URL} (.ci/run starts it); it does not answer`)
  return available
}

/** A key prefix no other test run uses. */
export function uniquePrefix(name: string): string {
  return `switchyard-test:${name}:${process.pid}:${Date.now().toString(36)}:`
}

/** Deletes every key under `prefix` (the test's own). */
export async function dropPrefix(prefix: string, url: string = SHARED_REDIS_URL): Promise<void> {
  const store = createRedisAtomicStore({ url })
  try {
    const keys = await store.client.keys(`${prefix}*`)
    if (keys.length > 0) await store.client.del(...keys)
  } finally {
    await store.close()
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface PrivateRedis {
  url: string
  port: number
  /** Kills the server (SIGKILL: no goodbye to clients, as a crash or a network cut). */
  kill(): Promise<void>
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>
}

/**
 * A `redis-server` of the test's own on a free port (no persistence), for tests that stop Redis:
 * the machine's shared Redis is never touched.
 */
export async function startPrivateRedis(binary = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'): Promise<PrivateRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' })
    const deadline = Date.now() + 10_000
    while (!(await redisAnswers(url))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start on port ${port}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const kill = async () => {
    const running = child
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  await start()
  return { url, port, kill, restart: start }
}

export interface GatewayProcess {
  url: string
  close(): Promise<void>
  output(): string
}

/** The gateway's CLI (Node, from source) as a child process with `config`, on a free port. */
export async function startGatewayProcess(config: Record<string, unknown>, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-governance-'))
  const path = join(dir, 'config.json')
  await writeFile(path, JSON.stringify(config))
  const child = await startCli('node', ['--config', path, '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data')], { env: { SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN, ...env } }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true })
    throw error
  })
  return {
    url: child.url,
    output: child.output,
    async close() {
      const ended = await child.stop(15_000)
      await rm(dir, { recursive: true, force: true })
      if (ended.code !== 0) throw new Error(`gateway did not exit cleanly (code ${ended.code}, signal ${ended.signal})\n${child.output()}`)
    },
  }
}

/** A call to the management API with the admin token. */
export async function admin(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, json: await response.json() }
}

/** Settlements run after the answer: waits until `read` gives `expected`. */
export async function eventually<T>(read: () => Promise<T>, expected: T): Promise<void> {
  await expect.poll(read, { timeout: 10_000, interval: 25 }).toEqual(expected)
}

/** USD spent so far on the budget `budgetId` of a virtual key, from the management API. */
export async function spentOn(url: string, keyId: string, budgetId?: string): Promise<number> {
  const { json } = await admin(url, 'GET', `/api/governance/virtual-keys/${encodeURIComponent(keyId)}/usage`)
  const line = (json.limits as Array<{ kind: string; id: string; used: number }>).find((limit) => limit.kind === 'budget' && (budgetId === undefined || limit.id === budgetId))
  return line?.used ?? Number.NaN
}

/** Requests counted so far against the rate limit `limitId` of a virtual key. */
export async function requestsOn(url: string, keyId: string, limitId?: string): Promise<number> {
  const { json } = await admin(url, 'GET', `/api/governance/virtual-keys/${encodeURIComponent(keyId)}/usage`)
  const line = (json.limits as Array<{ kind: string; id: string; used: number }>).find((limit) => limit.kind === 'requests' && (limitId === undefined || limit.id === limitId))
  return line?.used ?? Number.NaN
}
