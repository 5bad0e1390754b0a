/**
 * The published artifacts work on their own: build, `npm pack` every publishable package,
 * install the tarballs into an empty project, and run `switchyard` from there, with plain
 * Node (no `switchyard-source` condition, no tsx, nothing resolved from this repository).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, ensurePacked, run, type PackedPackage } from './packaging/build.js'
import { installProject, startServer, type RunningProcess } from './packaging/project.js'

let packed: PackedPackage[] = []
let project: Awaited<ReturnType<typeof installProject>> | undefined
let server: RunningProcess | undefined

beforeAll(async () => {
  packed = (await ensurePacked()).filter((entry) => !entry.example)
  project = await installProject('pack-install', packed)
}, 600_000)

afterAll(async () => {
  await server?.stop()
  await project?.remove()
})

/** Files a published package may contain. */
const belongs = (path: string) =>
  /^(package\.json|README\.md|LICENSE(\.\w+)?|CHANGELOG\.md)$/.test(path) ||
  (path.startsWith('bin/') && !/\.test\./.test(path)) ||
  (path.startsWith('dist/') && !/\.test\.|\/fixtures\/|\.tsbuildinfo$/.test(path))

type ExportTarget = { types?: string; default?: string; [condition: string]: string | undefined }

describe('npm pack', () => {
  it('packs every public workspace package', () => {
    expect(packed.map((entry) => entry.name)).toEqual(expect.arrayContaining(['@switchyard/core', '@switchyard/provider-mock', '@switchyard/provider-openai', '@switchyard/node']))
  })

  it('ships only dist, bin, README and package.json: no sources, tests or fixtures', () => {
    for (const entry of packed) {
      expect(entry.files, entry.name).toContain('package.json')
      expect(entry.files.filter((path) => !belongs(path)), `${entry.name} ships files that do not belong`).toEqual([])
    }
  })

  it('ships every exports target as ESM with .d.ts and a source map carrying its sources', () => {
    for (const entry of packed) {
      const manifest = JSON.parse(readFileSync(join(entry.dir, 'package.json'), 'utf8')) as { type?: string; exports: Record<string, ExportTarget>; bin?: Record<string, string> }
      expect(manifest.type, entry.name).toBe('module')
      for (const [subpath, target] of Object.entries(manifest.exports)) {
        const types = target.types?.replace(/^\.\//, '')
        const code = target.default?.replace(/^\.\//, '')
        expect(types, `${entry.name} ${subpath} types`).toMatch(/^dist\/.*\.d\.ts$/)
        expect(code, `${entry.name} ${subpath} default`).toMatch(/^dist\/.*\.js$/)
        expect(entry.files, `${entry.name} ${subpath}`).toEqual(expect.arrayContaining([types, code, `${code}.map`]))
        const map = JSON.parse(readFileSync(join(entry.dir, `${code}.map`), 'utf8')) as { sourcesContent?: string[] }
        expect(map.sourcesContent?.length, `${entry.name} ${code}.map has inline sources`).toBeGreaterThan(0)
      }
      for (const bin of Object.values(manifest.bin ?? {})) expect(entry.files, `${entry.name} bin`).toContain(bin.replace(/^\.\//, ''))
    }
  })
})

describe('installed from tarballs into an empty project', () => {
  const node = (code: string) => run(process.execPath, ['--input-type=module', '-e', code], { cwd: project!.dir })

  it('resolves @switchyard/* to the installed dist, not to this repository', async () => {
    const { stdout } = await node(`for (const name of ['@switchyard/core', '@switchyard/node', '@switchyard/provider-openai']) console.log(import.meta.resolve(name))`)
    const resolved = stdout.trim().split('\n')
    expect(resolved).toHaveLength(3)
    for (const url of resolved) expect(url).toMatch(new RegExp(`^file://${project!.dir}/node_modules/@switchyard/[^/]+/dist/index\\.js$`))
  })

  it('@switchyard/core loads without vitest; only @switchyard/core/testing needs it', async () => {
    const { stdout } = await node(
      `const core = await import('@switchyard/core'); console.log(typeof core.createGateway, typeof core.definePlugin)
       try { await import('@switchyard/core/testing'); console.log('testing loaded') } catch (error) { console.log(error.code) }`,
    )
    expect(stdout.trim().split('\n')).toEqual(['function function', 'ERR_MODULE_NOT_FOUND'])
  })

  it('`npx switchyard --port 0` serves mock/echo, plain and streamed, and stops on SIGTERM', async () => {
    const bin = join(project!.dir, 'node_modules', '.bin', 'switchyard')
    server = await startServer(bin, ['--port', '0', '--data-dir', join(project!.dir, 'data')], { cwd: project!.dir, env: cleanEnv({ OPENAI_API_KEY: '' }) })
    const started = JSON.parse(server.lines.find((line) => line.includes('listening'))!) as { providers: string[] }
    expect(started.providers).toContain('mock')

    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' })
    expect((await fetch(`${server.url}/ready`)).status).toBe(200)

    const chat = (stream: boolean) =>
      fetch(`${server!.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'hello from a tarball' }], stream }),
      })
    const plain = await chat(false)
    expect(plain.status).toBe(200)
    const body = (await plain.json()) as { choices: Array<{ message: { content: string } }> }
    expect(body.choices[0]!.message.content).toBe('hello from a tarball')

    const streamed = await chat(true)
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/)
    let text = ''
    for (const line of (await streamed.text()).split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
      text += (JSON.parse(line.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? ''
    }
    expect(text).toBe('hello from a tarball')

    expect(await server.stop()).toBe(0)
    server = undefined
  }, 60_000)
})
