/**
 * Shared by the tests that need built or packed packages (pack-install, examples, deploy).
 * Vitest runs test files in parallel processes, so the build and the packing happen once,
 * under a lock directory, and are reused while no input changed.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))
const cacheDir = join(root, 'node_modules', '.cache', 'switchyard-tests')

/** Environment for child processes: no loader or condition flags, no npm lifecycle variables. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name === 'NODE_OPTIONS' || name.startsWith('npm_') || name.startsWith('VITEST') || name === 'TSX_TSCONFIG_PATH') continue
    env[name] = value
  }
  return { ...env, ...extra }
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (data) => (stdout += data))
    child.stderr.on('data', (data) => (stderr += data))
    child.on('error', reject)
    child.on('close', (code) => {
      const result = { code: code ?? 1, stdout, stderr }
      if (result.code === 0) resolve(result)
      else reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) exited with ${result.code}\n${stdout}\n${stderr}`))
    })
  })
}

/** Package folders: the workspaces (as declared in the root package.json) and the examples. */
export function packageDirs(): { workspaces: string[]; examples: string[] } {
  const expand = (pattern: string) => {
    if (!pattern.endsWith('/*')) return [join(root, pattern)]
    const parent = join(root, pattern.slice(0, -2))
    if (!existsSync(parent)) return []
    return readdirSync(parent, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(parent, entry.name))
      .sort()
  }
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
  const withManifest = (dirs: string[]) => dirs.filter((dir) => existsSync(join(dir, 'package.json')))
  return { workspaces: withManifest(manifest.workspaces.flatMap(expand)), examples: withManifest(expand('examples/*')) }
}

/** Hash of everything a build reads: sources, manifests, tsconfigs, the build script. */
function inputsHash(): string {
  const hash = createHash('sha256')
  const add = (path: string) => {
    const stat = statSync(path)
    hash.update(`${relative(root, path)}:${stat.size}:${stat.mtimeMs}\n`)
  }
  const walk = (dir: string) => {
    if (!existsSync(dir)) return
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else add(path)
    }
  }
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.base.json', 'scripts/build.mjs']) if (existsSync(join(root, file))) add(join(root, file))
  const { workspaces, examples } = packageDirs()
  for (const dir of [...workspaces, ...examples]) {
    for (const entry of readdirSync(dir)) if (/^(package\.json|tsconfig.*\.json|README\.md|LICENSE.*)$/.test(entry)) add(join(dir, entry))
    walk(join(dir, 'src'))
    walk(join(dir, 'bin'))
    hash.update(`${relative(root, dir)}/dist:${existsSync(join(dir, 'dist'))}\n`)
  }
  return hash.digest('hex').slice(0, 16)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** True while the process that took `lock` runs (or while it is still writing its pid). */
function holderAlive(lock: string): boolean {
  let pid: number
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'))
  } catch {
    // No pid yet: just created, or left by a run that died at once; give it a minute.
    const stat = statSync(lock, { throwIfNoEntry: false })
    return stat !== undefined && Date.now() - stat.mtimeMs < 60_000
  }
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Runs `work` while holding a lock directory (atomic mkdir), so parallel test files take turns. */
async function withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
  mkdirSync(cacheDir, { recursive: true })
  const lock = join(cacheDir, `${name}.lock`)
  const deadline = Date.now() + 10 * 60_000
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      // A lock whose holder is gone (a run that was killed) is stale.
      if (!holderAlive(lock)) rmSync(lock, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`)
      await sleep(250)
    }
  }
  try {
    return await work()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** `npm run build` once for the current sources; returns the inputs' hash. */
export function ensureBuilt(): Promise<string> {
  return withLock('build', async () => {
    const stamp = join(cacheDir, 'build.stamp')
    const before = inputsHash()
    if (existsSync(stamp) && readFileSync(stamp, 'utf8') === before) return before
    await run('npm', ['run', 'build', '--silent'], { cwd: root })
    // The build creates dist folders, which the hash notes: stamp the state after it.
    const after = inputsHash()
    writeFileSync(stamp, after)
    return after
  })
}

export interface PackedPackage {
  name: string
  version: string
  /** Package folder in the repository. */
  dir: string
  /** Absolute path of the tarball. */
  tarball: string
  /** Paths inside the tarball (`package.json`, `dist/index.js` ...). */
  files: string[]
  private: boolean
  example: boolean
}

/** Builds, then `npm pack`s every publishable workspace package and every example, once per input state. */
export async function ensurePacked(): Promise<PackedPackage[]> {
  const hash = await ensureBuilt()
  return withLock('pack', async () => {
    const dir = join(cacheDir, `packs-${hash}`)
    const index = join(dir, 'packages.json')
    if (existsSync(index)) return JSON.parse(readFileSync(index, 'utf8')) as PackedPackage[]
    for (const entry of existsSync(cacheDir) ? readdirSync(cacheDir) : []) if (entry.startsWith('packs-')) rmSync(join(cacheDir, entry), { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    const { workspaces, examples } = packageDirs()
    const packed: PackedPackage[] = []
    for (const packageDir of [...workspaces, ...examples]) {
      const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { name: string; version: string; private?: boolean }
      if (manifest.private) continue
      const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: packageDir })
      const [result] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
      packed.push({
        name: manifest.name,
        version: manifest.version,
        dir: packageDir,
        tarball: join(dir, result!.filename),
        files: result!.files.map((file) => file.path).sort(),
        private: false,
        example: examples.includes(packageDir),
      })
    }
    writeFileSync(index, JSON.stringify(packed, null, 2))
    return packed
  })
}
