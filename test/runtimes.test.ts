/**
 * Smoke test: the unchanged gateway (core + providers from source) served by Bun and by Deno,
 * called with the official OpenAI SDK. Entries: test/runtimes/serve-bun.ts, serve-deno.ts.
 *
 * The runtimes come from the `bun` and `deno` dev dependencies (node_modules/.bin), else PATH;
 * SWITCHYARD_TEST_BUN / SWITCHYARD_TEST_DENO name another binary. A missing runtime skips
 * locally but fails under CI=true.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const inCI = process.env.CI === 'true' || process.env.CI === '1'
const STARTUP_MS = 30_000
const STOP_MS = 5_000

interface Runtime {
  name: 'bun' | 'deno'
  /** Arguments after the binary; paths relative to the repo root. */
  args: string[]
}

const runtimes: Runtime[] = [
  { name: 'bun', args: ['--conditions=switchyard-source', 'test/runtimes/serve-bun.ts'] },
  {
    name: 'deno',
    args: ['run', '--conditions=switchyard-source', '--sloppy-imports', '--no-prompt', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', 'test/runtimes/serve-deno.ts'],
  },
]

/** The first candidate binary that answers `--version`, or undefined. */
function findBinary(name: Runtime['name']): string | undefined {
  const override = process.env[`SWITCHYARD_TEST_${name.toUpperCase()}`]
  const local = join(root, 'node_modules', '.bin', name)
  const candidates = override ? [override] : [...(existsSync(local) ? [local] : []), name]
  return candidates.find((candidate) => spawnSync(candidate, ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0)
}

interface Server {
  url: string
  child: ChildProcess
  /** Everything the process wrote so far (for failure messages). */
  output(): string
}

/** Spawns an entry and resolves once it printed `listening <url>`. */
function startServer(binary: string, runtime: Runtime): Promise<Server> {
  const child = spawn(binary, runtime.args, {
    cwd: root,
    env: { ...process.env, PORT: '0', NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', SWITCHYARD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const output = () => `--- stdout\n${stdout}--- stderr\n${stderr}`
  return new Promise<Server>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => fail(new Error(`${runtime.name}: no "listening" line within ${STARTUP_MS} ms`)), STARTUP_MS)
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${error.message}\n${output()}`))
    }
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const match = /^listening (http:\/\/\S+)$/m.exec(stdout)
      if (match && !settled) {
        settled = true
        clearTimeout(timer)
        resolve({ url: match[1]!, child, output })
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.once('error', (error) => fail(error))
    child.once('exit', (code, signal) => fail(new Error(`${runtime.name} exited before listening (code ${code}, signal ${signal})`)))
  })
}

/** SIGTERM, then SIGKILL after STOP_MS; resolves with how the process ended. */
function stopServer(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_MS)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal })
    })
    child.kill('SIGTERM')
  })
}

for (const runtime of runtimes) {
  const binary = findBinary(runtime.name)
  // Locally a missing runtime skips the block; under CI every test in it fails instead.
  describe.skipIf(!binary && !inCI)(`gateway on ${runtime.name}`, () => {
    let starting: Promise<Server> | undefined

    /** The running server, or the reason there is none (a missing binary, a failed start) as a test failure. */
    const running = async (): Promise<{ server: Server; client: OpenAI }> => {
      if (!binary) throw new Error(`${runtime.name} binary not found (node_modules/.bin/${runtime.name} or PATH); CI=true requires it`)
      const server = await starting!
      return { server, client: new OpenAI({ baseURL: `${server.url}/openai`, apiKey: 'x', maxRetries: 0, timeout: 10_000 }) }
    }

    beforeAll(async () => {
      if (!binary) return
      starting = startServer(binary, runtime)
      await starting.catch(() => {}) // reported by each test through running()
    }, STARTUP_MS + 5_000)

    afterAll(async () => {
      const server = await starting?.catch(() => undefined)
      if (server) await stopServer(server.child)
    })

    it('answers a mock/echo chat completion', async () => {
      const { client } = await running()
      const text = `Hello from ${runtime.name}: ünïcödé ✓`
      const reply = await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: text }] })
      expect(reply.object).toBe('chat.completion')
      expect(reply.choices[0]?.message.content).toBe(text)
      expect(reply.choices[0]?.finish_reason).toBe('stop')
    })

    it('streams a mock/echo chat completion to the end', async () => {
      const { client } = await running()
      const text = `Stream this back from ${runtime.name}, word by word: ünïcödé ✓`
      const stream = await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: text }], stream: true })
      let content = ''
      let chunks = 0
      let finishReason: string | null | undefined
      for await (const chunk of stream) {
        chunks++
        expect(chunk.object).toBe('chat.completion.chunk')
        content += chunk.choices[0]?.delta.content ?? ''
        finishReason = chunk.choices[0]?.finish_reason ?? finishReason
      }
      expect(content).toBe(text)
      expect(chunks).toBeGreaterThan(2)
      expect(finishReason).toBe('stop')
    })

    it('exits cleanly on SIGTERM', async () => {
      const { server } = await running()
      const ended = await stopServer(server.child)
      expect(ended, server.output()).toEqual({ code: 0, signal: null })
    })
  })
}
