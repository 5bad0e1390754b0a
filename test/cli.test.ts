import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const children: ChildProcess[] = []

/** Starts the `switchyard` CLI the way `npm start` does; resolves with the logged URL. */
function startCli(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(process.execPath, ['--conditions=switchyard-source', '--import', 'tsx', 'runtimes/node/src/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, OPENAI_API_KEY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  const lines: string[] = []
  return new Promise((resolve, reject) => {
    let buffer = ''
    child.stderr!.on('data', (data: Buffer) => {
      buffer += data.toString()
      let newline: number
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        lines.push(line)
        const match = /listening on (http:\/\/[^"\s]+)/.exec(line)
        if (match) resolve({ child, url: match[1]!, lines })
      }
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${lines.join('\n')}${buffer}`)))
  })
}

const exitOf = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))))

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
})

describe('switchyard CLI', () => {
  it('starts with no config, logs one line with address, providers and config source, and serves mock/echo', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'))
    const { url, lines } = await startCli(['--port', '0', '--data-dir', dataDir])
    const started = JSON.parse(lines.find((line) => line.includes('listening'))!)
    expect(started).toMatchObject({ level: 'info', config: 'environment' })
    expect(started.providers).toContain('mock')
    const client = new OpenAI({ baseURL: `${url}/openai`, apiKey: 'unused', maxRetries: 0 })
    const reply = await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'hello from the CLI test' }] })
    expect(reply.choices[0]!.message.content).toBe('hello from the CLI test')
    const health = await fetch(`${url}/health`)
    expect(await health.json()).toEqual({ status: 'ok' })
  })

  it('refuses a bad config file at start, naming the bad field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'))
    const path = join(dir, 'config.json')
    await writeFile(path, JSON.stringify({ providers: { openai: { keys: [{ value: 'k', weight: 'heavy' }] } } }))
    const child = spawn(process.execPath, ['--conditions=switchyard-source', '--import', 'tsx', 'runtimes/node/src/cli.ts', '--config', path, '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let stderr = ''
    child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()))
    expect(await exitOf(child)).toBe(1)
    expect(stderr).toContain('providers.openai.keys[0].weight')
  })

  it('rejects unknown flags with usage and exit code 2', async () => {
    const child = spawn(process.execPath, ['--conditions=switchyard-source', '--import', 'tsx', 'runtimes/node/src/cli.ts', '--bogus'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let stderr = ''
    child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()))
    expect(await exitOf(child)).toBe(2)
    expect(stderr).toContain('Usage: switchyard')
  })

  it('on SIGTERM lets an in-flight stream finish, refuses new connections, and exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'))
    const path = join(dir, 'config.json')
    await writeFile(path, JSON.stringify({ providers: { mock: { options: { chunk_delay_ms: 60 } } } }))
    const { child, url } = await startCli(['--config', path, '--port', '0', '--data-dir', dir])
    const client = new OpenAI({ baseURL: `${url}/openai`, apiKey: 'unused', maxRetries: 0 })
    const words = 'one two three four five six seven eight nine ten'
    const stream = await client.chat.completions.create({ model: 'mock/echo', stream: true, messages: [{ role: 'user', content: words }] })
    const exited = exitOf(child)
    let text = ''
    let signalled = false
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (!signalled && text.length > 0) {
        signalled = true
        child.kill('SIGTERM')
        // Give the server a moment to stop listening, then check new connections are refused.
        await new Promise((resolve) => setTimeout(resolve, 100))
        await expect(fetch(`${url}/health`)).rejects.toThrow()
      }
    }
    expect(text).toBe(words)
    expect(await exited).toBe(0)
  })
})
