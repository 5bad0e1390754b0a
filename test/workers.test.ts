/**
 * `--workers N`: N processes serve one port (Node: node:cluster; Bun: N processes with
 * `reusePort`), the primary replaces a crashed worker, and SIGTERM stops them all with exit 0.
 * Which worker answered is visible only with SWITCHYARD_DEBUG_WORKER=1 (`x-switchyard-worker`).
 * Deno has no `--workers` (`deno serve --parallel` instead, see docs/runtimes.md).
 */
import { request } from 'node:http'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { findRuntimeBinary, inCI, startCli, type CliProcess } from './support/runtime-process.js'

/** GET on a fresh TCP connection (no keep-alive pool), so each request may land on another worker. */
function workerOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = request(`${url}/health`, { agent: false, timeout: 2_000 }, (response) => {
      response.resume()
      response.once('end', () => resolve(Number(response.headers['x-switchyard-worker'])))
    })
    // A connection handed to a worker that was just killed may never be answered.
    call.once('timeout', () => call.destroy(new Error('no answer within 2 s')))
    call.once('error', reject)
    call.end()
  })
}

/** Asks until `wanted` distinct workers answered (or `timeoutMs` passed); returns who answered. */
async function collectWorkers(url: string, wanted: (seen: Set<number>) => boolean, timeoutMs = 15_000): Promise<Set<number>> {
  const seen = new Set<number>()
  const deadline = Date.now() + timeoutMs
  while (!wanted(seen) && Date.now() < deadline) {
    try {
      seen.add(await workerOf(url))
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50)) // a worker between crash and restart
    }
  }
  return seen
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const started: CliProcess[] = []
afterEach(async () => {
  for (const server of started.splice(0)) await server.stop(1_000)
})

for (const runtime of ['node', 'bun'] as const) {
  const missing = runtime === 'bun' && !findRuntimeBinary('bun')
  describe.skipIf(missing && !inCI)(`--workers 2 on ${runtime}`, () => {
    it('both workers answer on one port, a crashed worker is replaced, SIGTERM stops all with exit 0', async () => {
      const dir = await mkdtemp(join(tmpdir(), `switchyard-workers-${runtime}-`))
      const server = await startCli(runtime, ['--workers', '2', '--port', '0', '--data-dir', dir], { env: { SWITCHYARD_DEBUG_WORKER: '1' } })
      started.push(server)
      const primary = server.child.pid!

      const first = await collectWorkers(server.url, (seen) => seen.size >= 2)
      expect([...first], server.output()).toHaveLength(2)
      expect(first.has(primary)).toBe(false)

      const [crashed, survivor] = [...first] as [number, number]
      process.kill(crashed, 'SIGKILL')
      const after = await collectWorkers(server.url, (seen) => [...seen].some((pid) => !first.has(pid)))
      const replacement = [...after].find((pid) => !first.has(pid))
      expect(replacement, server.output()).toBeDefined()
      expect(alive(crashed)).toBe(false)

      const ended = await server.stop(20_000)
      expect(ended, server.output()).toEqual({ code: 0, signal: null })
      expect([survivor, replacement!].filter(alive)).toEqual([])
      expect(server.output()).toContain('worker exited; restarting it')
    }, 60_000)
  })
}

describe.skipIf(!findRuntimeBinary('deno') && !inCI)('--workers on deno', () => {
  it('is refused with exit code 2, pointing at docs/runtimes.md', async () => {
    await expect(startCli('deno', ['--workers', '2', '--port', '0'])).rejects.toThrow(/exited before listening \(code 2[\s\S]*--workers is not supported on deno \(see docs\/runtimes.md\)/)
  })
})
