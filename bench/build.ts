/**
 * Builds the Node gateway the bench runs: every workspace package (`@switchyard/*`) bundled
 * from its current sources with esbuild, one ES module per `exports` entry, into a shadow
 * `node_modules` under `node_modules/.cache/switchyard-bench/`. npm dependencies stay
 * external and resolve from the repository's `node_modules` (it is the next one up), the
 * `@switchyard/*` packages resolve to each other's bundles — the same module graph a user's
 * `npm install @switchyard/node` gives, run by plain `node` without a TypeScript loader (tsx
 * adds ~30 MB of RSS and a loader thread; that is not what the gateway costs).
 *
 * The packages' own `dist/` is not touched (others may be building it), and types are not
 * checked here (`npm run typecheck` does that).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { build } from 'esbuild'

interface PackageJson {
  name: string
  exports?: Record<string, { 'switchyard-source'?: string } | string>
}

/** Workspace folders holding a package.json, as the root `workspaces` globs list them. */
function workspaceDirs(root: string): string[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
  const out: string[] = []
  for (const pattern of workspaces) {
    if (!pattern.endsWith('/*')) {
      out.push(join(root, pattern))
      continue
    }
    const parent = join(root, pattern.slice(0, -2))
    for (const entry of readdirSync(parent, { withFileTypes: true })) if (entry.isDirectory()) out.push(join(parent, entry.name))
  }
  return out.filter((dir) => existsSync(join(dir, 'package.json')))
}

/**
 * Bundles the workspace at `root` into `<root>/node_modules/.cache/switchyard-bench-<name>/node_modules`
 * and returns the path of the Node CLI's bundle (`@switchyard/node/cli.mjs`). A tree without
 * `node_modules` (an exported commit to compare with) gets a link to `modules`, this repository's.
 */
export async function buildGateway(root: string, name: string, modules?: string): Promise<{ cli: string; seconds: number }> {
  const started = performance.now()
  if (!existsSync(join(root, 'node_modules'))) {
    if (!modules) throw new Error(`bench build: ${root} has no node_modules`)
    symlinkSync(modules, join(root, 'node_modules'), 'dir')
  }
  const shadow = join(root, `node_modules/.cache/switchyard-bench-${name}/node_modules`)
  rmSync(shadow, { recursive: true, force: true })
  const jobs: Array<{ entry: string; out: string }> = []
  let cli = ''
  for (const dir of workspaceDirs(root)) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson
    if (!pkg.name.startsWith('@switchyard/') || !pkg.exports) continue
    const target = join(shadow, pkg.name)
    const exportsMap: Record<string, string> = {}
    for (const [subpath, conditions] of Object.entries(pkg.exports)) {
      const source = typeof conditions === 'object' ? conditions['switchyard-source'] : undefined
      // A package being written (no source yet) is left out; the gateway only loads what its config names.
      if (!source || !existsSync(join(dir, source))) continue
      const file = subpath === '.' ? 'index.mjs' : `${subpath.slice(2).replace(/\//g, '-')}.mjs`
      exportsMap[subpath] = `./${file}`
      jobs.push({ entry: join(dir, source), out: join(target, file) })
    }
    if (pkg.name === '@switchyard/node') {
      cli = join(target, 'cli.mjs')
      jobs.push({ entry: join(dir, 'src/cli.ts'), out: cli })
    }
    mkdirSync(target, { recursive: true })
    writeFileSync(join(target, 'package.json'), `${JSON.stringify({ name: pkg.name, type: 'module', exports: exportsMap }, null, 2)}\n`)
  }
  if (!cli) throw new Error('bench build: no @switchyard/node package in the workspace')
  await Promise.all(
    jobs.map((job) =>
      build({
        entryPoints: [job.entry],
        outfile: job.out,
        bundle: true,
        // Every bare specifier (npm packages and the other @switchyard/* packages) stays an import.
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: 'linked',
        sourcesContent: false,
        logLevel: 'silent',
      }).catch((error: unknown) => {
        throw new Error(`bench build: ${relative(root, job.entry)}: ${(error as Error).message}`)
      }),
    ),
  )
  mkdirSync(dirname(cli), { recursive: true })
  return { cli, seconds: (performance.now() - started) / 1000 }
}
