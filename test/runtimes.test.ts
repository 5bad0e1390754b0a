/**
 * The Bun and Deno runtime packages (runtimes/bun, runtimes/deno), run from source through
 * their real CLI entries and called with the official OpenAI SDK: serving, flags, config
 * errors and graceful shutdown. (Node's CLI: cli.test.ts; the whole e2e suite on each
 * runtime: `npm run test:bun`, `npm run test:deno`; several workers: workers.test.ts.)
 *
 * A missing runtime binary skips locally but fails under CI=true.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliCommand, findRuntimeBinary, inCI, repoRoot, startCli, type CliProcess } from './support/runtime-process.js'

const STARTUP_MS = 30_000

/** Runs a CLI that is expected to exit by itself; resolves with its exit code and output. */
function runToExit(runtime: 'bun' | 'deno', args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { command, args: argv } = cliCommand(runtime, args)
  const child = spawn(command, argv, { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}

for (const runtime of ['bun', 'deno'] as const) {
  const binary = findRuntimeBinary(runtime)
  // Locally a missing runtime skips the block; under CI every test in it fails instead.
  describe.skipIf(!binary && !inCI)(`switchyard-${runtime}`, () => {
    let dir: string
    let starting: Promise<CliProcess> | undefined

    /** The running server, or the reason there is none (a missing binary, a failed start) as a test failure. */
    const running = async (): Promise<{ server: CliProcess; client: OpenAI }> => {
      const server = await starting!
      return { server, client: new OpenAI({ baseURL: `${server.url}/openai`, apiKey: 'x', maxRetries: 0, timeout: 10_000 }) }
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `switchyard-${runtime}-`))
      const config = join(dir, 'config.json')
      // A slow stream, so the shutdown test can signal in the middle of one.
      await writeFile(config, JSON.stringify({ providers: { mock: { options: { chunk_delay_ms: 40 } } } }))
      starting = Promise.resolve().then(() => startCli(runtime, ['--config', config, '--port', '0', '--data-dir', join(dir, 'data')], { startupMs: STARTUP_MS }))
      await starting.catch(() => {}) // reported by each test through running()
    }, STARTUP_MS + 5_000)

    afterAll(async () => {
      const server = await starting?.catch(() => undefined)
      await server?.stop()
    })

    it('logs one start line with address, providers, config source and runtime', async () => {
      const { server } = await running()
      const line = server.output().split('\n').find((entry) => entry.includes('switchyard listening on'))!
      expect(JSON.parse(line)).toMatchObject({ level: 'info', msg: `switchyard listening on ${server.url}`, providers: ['mock'], config: join(dir, 'config.json'), runtime })
    })

    it('answers a mock/echo chat completion, without the debug worker header', async () => {
      const { client } = await running()
      const text = `Hello from ${runtime}: ünïcödé ✓`
      const { data: reply, response } = await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: text }] }).withResponse()
      expect(reply.object).toBe('chat.completion')
      expect(reply.choices[0]?.message.content).toBe(text)
      expect(reply.choices[0]?.finish_reason).toBe('stop')
      expect(response.headers.get('x-switchyard-worker')).toBeNull()
    })

    it('streams a mock/echo chat completion to the end', async () => {
      const { client } = await running()
      const text = `Stream this back from ${runtime}, word by word: ünïcödé ✓`
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

    it('rejects an unknown flag with the usage and exit code 2', async () => {
      if (!binary) throw new Error(`${runtime} binary not found; CI=true requires it`)
      const { code, stderr } = await runToExit(runtime, ['--bogus'])
      expect(code).toBe(2)
      expect(stderr).toContain(`Usage: switchyard-${runtime}`)
    })

    it('refuses a bad config file at start with exit code 1, naming the bad field', async () => {
      if (!binary) throw new Error(`${runtime} binary not found; CI=true requires it`)
      const path = join(dir, 'bad.json')
      await writeFile(path, JSON.stringify({ providers: { openai: { keys: [{ value: 'k', weight: 'heavy' }] } } }))
      const { code, stderr } = await runToExit(runtime, ['--config', path, '--port', '0'])
      expect(code).toBe(1)
      expect(stderr).toContain('providers.openai.keys[0].weight')
    })

    it('on SIGTERM lets an in-flight stream finish, refuses new connections, and exits 0', async () => {
      const { server, client } = await running()
      const words = 'one two three four five six seven eight nine ten'
      const stream = await client.chat.completions.create({ model: 'mock/echo', stream: true, messages: [{ role: 'user', content: words }] })
      let text = ''
      let signalled = false
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        if (!signalled && text.length > 0) {
          signalled = true
          server.child.kill('SIGTERM')
          await new Promise((resolve) => setTimeout(resolve, 100))
          await expect(fetch(`${server.url}/health`)).rejects.toThrow()
        }
      }
      expect(text).toBe(words)
      expect(await server.exited, server.output()).toEqual({ code: 0, signal: null })
    })
  })
}
