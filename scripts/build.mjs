#!/usr/bin/env node
/**
 * `npm run build`: builds every workspace package to `dist/` in dependency order (a package
 * after the workspace packages it depends on; packages of one level in parallel), then the
 * third-party examples under `examples/*`, which compile against the built `@switchyard/core`
 * types exactly as an outside package would.
 *
 * Each package's own `build` script does the work (it removes `dist/` first, so no stale
 * file is ever packed). Exits non-zero on the first level that fails.
 *
 *   node scripts/build.mjs            all workspace packages, then examples
 *   node scripts/build.mjs --no-examples
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const withExamples = !process.argv.includes('--no-examples')

/** Expands the `workspaces` patterns this repository uses ("core", "providers/*"). */
function expand(patterns) {
  const dirs = []
  for (const pattern of patterns) {
    if (pattern.endsWith('/*')) {
      const parent = join(root, pattern.slice(0, -2))
      if (!existsSync(parent)) continue
      for (const entry of readdirSync(parent, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (entry.isDirectory()) dirs.push(join(parent, entry.name))
      }
    } else dirs.push(join(root, pattern))
  }
  return dirs.filter((dir) => existsSync(join(dir, 'package.json')))
}

const readManifest = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))

/** Groups packages into levels: each level depends only on earlier ones. */
function levelsOf(dirs) {
  const packages = dirs.map((dir) => ({ dir, manifest: readManifest(dir) }))
  const names = new Set(packages.map((entry) => entry.manifest.name))
  const needs = new Map(
    packages.map(({ manifest }) => {
      const all = { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies }
      return [manifest.name, Object.keys(all).filter((name) => names.has(name) && name !== manifest.name)]
    }),
  )
  const done = new Set()
  const levels = []
  let left = packages
  while (left.length > 0) {
    const ready = left.filter(({ manifest }) => needs.get(manifest.name).every((name) => done.has(name)))
    if (ready.length === 0) throw new Error(`dependency cycle among: ${left.map(({ manifest }) => manifest.name).join(', ')}`)
    levels.push(ready)
    for (const { manifest } of ready) done.add(manifest.name)
    left = left.filter((entry) => !ready.includes(entry))
  }
  return levels
}

/** Runs a package's `build` script; resolves with its exit code and output. */
function runBuild(dir) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' })
    let output = ''
    child.stdout.on('data', (data) => (output += data))
    child.stderr.on('data', (data) => (output += data))
    child.on('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

async function buildLevel(level) {
  const results = await Promise.all(
    level.map(async ({ dir, manifest }) => {
      if (!manifest.scripts?.build) return { name: manifest.name, code: 0, output: '', skipped: true }
      const started = performance.now()
      const result = await runBuild(dir)
      return { name: manifest.name, dir, ms: Math.round(performance.now() - started), ...result }
    }),
  )
  let failed = false
  for (const result of results) {
    if (result.skipped) continue
    if (result.code === 0) process.stdout.write(`built ${result.name} (${relative(root, result.dir)}, ${result.ms} ms)\n`)
    else {
      failed = true
      process.stderr.write(`\nbuild failed: ${result.name} (${relative(root, result.dir)})\n${result.output}\n`)
    }
  }
  return !failed
}

const rootManifest = readManifest(root)
const levels = levelsOf(expand(rootManifest.workspaces ?? []))
if (withExamples) levels.push(expand(['examples/*']).map((dir) => ({ dir, manifest: readManifest(dir) })))

for (const level of levels) {
  if (!(await buildLevel(level))) process.exit(1)
}
