/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as written by `node --cpu-prof`, e.g. through
 * `BENCH_CPU_PROF=DIR npm run bench`): where the process spent its time, by area (gateway
 * core, providers, hono, undici, node internals, GC ...) and by function, self and inclusive.
 *
 * Usage: node --import tsx bench/profile.ts FILE.cpuprofile [--top 40] [--filter substring]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, filter: { type: 'string' } } })
if (positionals.length === 0) {
  process.stderr.write('usage: bench/profile.ts FILE.cpuprofile [--top N] [--filter substring]\n')
  process.exit(2)
}

/** The area a frame belongs to, from its script URL. */
function areaOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'gc'
  if (name === '(idle)' || name === '(program)' || name === '(root)') return name
  if (url === '') return 'native/builtin'
  const nodeModules = url.lastIndexOf('node_modules/')
  if (nodeModules !== -1) {
    const rest = url.slice(nodeModules + 'node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (url.startsWith('node:')) {
    if (url.includes('internal/deps/undici')) return 'node: bundled undici (global fetch)'
    if (url.includes('webstreams')) return 'node: web streams'
    if (url.includes('internal/http') || url.includes('_http_')) return 'node: http'
    if (url.includes('net') || url.includes('stream_base') || url.includes('tcp')) return 'node: net'
    if (url.includes('internal/streams')) return 'node: streams'
    return 'node: other'
  }
  const match = /\/(core|providers\/[^/]+|plugins\/[^/]+|runtimes\/[^/]+|bench)\/src\/(.*)$/.exec(url)
  if (match) return match[1]!.startsWith('core') ? `core/${match[2]!.split('/')[0]}` : match[1]!
  return url
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const selfTime = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) selfTime.set(profile.samples[i]!, (selfTime.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0))
  let total = 0
  let idle = 0
  for (const [id, time] of selfTime) {
    const name = byId.get(id)!.callFrame.functionName
    if (name === '(idle)') idle += time
    total += time
  }
  const busy = total - idle
  const pct = (time: number) => `${((time / busy) * 100).toFixed(1).padStart(5)}%`
  const label = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame
    const short = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/main\//, '').replace(/^node:internal\//, 'node:')
    return `${functionName || '(anonymous)'} ${short}${short ? `:${lineNumber + 1}` : ''}`
  }

  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, time] of selfTime) {
    const node = byId.get(id)!
    if (node.callFrame.functionName === '(idle)') continue
    const area = areaOf(node.callFrame.url, node.callFrame.functionName)
    areas.set(area, (areas.get(area) ?? 0) + time)
    const key = label(node)
    functions.set(key, (functions.get(key) ?? 0) + time)
    // Inclusive: every distinct frame on the stack gets the sample once.
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = label(byId.get(at)!)
      if (seen.has(frame)) continue
      seen.add(frame)
      inclusive.set(frame, (inclusive.get(frame) ?? 0) + time)
    }
  }
  const top = Number(values.top)
  const sorted = (map: Map<string, number>) => [...map].filter(([key]) => !values.filter || key.includes(values.filter)).sort((a, b) => b[1] - a[1])
  process.stdout.write(`\n# ${file}\n${(busy / 1000).toFixed(0)} ms busy of ${(total / 1000).toFixed(0)} ms sampled\n\n## by area (self time)\n`)
  for (const [area, time] of sorted(areas)) process.stdout.write(`${pct(time)}  ${area}\n`)
  process.stdout.write(`\n## top functions (self time)\n`)
  for (const [name, time] of sorted(functions).slice(0, top)) process.stdout.write(`${pct(time)}  ${name}\n`)
  process.stdout.write(`\n## top frames (inclusive time)\n`)
  for (const [name, time] of sorted(inclusive).slice(0, top)) process.stdout.write(`${pct(time)}  ${name}\n`)
}
