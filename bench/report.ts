/**
 * The bench's results as markdown (bench/results/latest.md): the #10 targets with a verdict
 * each, the saturation and fixed-rate tables, the #5 retry pairs, the #9 workers and
 * runtimes comparison, the transport before/after and the soak.
 */
import type { Percentiles } from './load.js'
import { NOISY_PCT, type RateRun, type Saturation } from './measure.js'
import type { TargetId } from './targets.js'
import { LABELS, DESCRIPTIONS } from './targets.js'
import { PACE_MS, type Mode, type Route } from './wire.js'

export interface Row {
  target: TargetId
  label: string
  route: Route
  mode: Mode
  saturation: Saturation
  rate: RateRun
  errors: number
  statusCodes: Record<string, number>
  /** RSS after start and one request of each kind, before any load (MiB). */
  idleRssMiB: number | undefined
  rssAfterMiB: number
  /** SSE events in one (unpaced) stream answer. */
  streamEvents: number | undefined
}

export interface PairResult {
  /** The section it belongs to (#5, the transport, an A/B). */
  title: string
  mode: Mode
  variants: string[]
  runs: Array<{ repeat: number; variant: string; rps: number; cpuUsPerReq: number; otherCpuPct: number; errors: number }>
}

export interface WorkersResult {
  connections: number
  runs: Array<{ workers: number; mode: Mode; rps: number; cpuUsPerReq: number; otherCpuPct: number; errors: number; rssMiB: number }>
}

export interface SoakResult {
  seconds: number
  rate: number
  requests: number
  errors: number
  samples: Array<{ seconds: number; rssMiB: number }>
}

export interface Report {
  machine: { date: string; cpuModel: string; cores: number; memoryGiB: number; platform: string; commit: string; pinned: string; versions: Record<string, string> }
  settings: Record<string, unknown> & { connections: number; durationSeconds: number; segments: number; warmupSeconds: number; rate: number; rateSeconds: number; pairSeconds: number; pairRepeats: number; build: boolean }
  production: string
  rows: Row[]
  pairs: PairResult[]
  workers: WorkersResult | undefined
  soak: SoakResult | undefined
  elapsedSeconds: number
  errors: number
}

/** Title of the interleaved floor comparison (the #10 ratios round by round), per route. */
export const FLOOR_TITLE = '#10 ratios, interleaved: the floor and the gateway side by side'

/** The soak grew when RSS at the end exceeds RSS after its first third by more than this (MiB, or 10%). */
const SOAK_GROWTH_MIB = 8

const fmt = (value: number | undefined, digits = 0) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits))
const signed = (value: number | undefined, digits = 2) => (value === undefined || !Number.isFinite(value) ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`)
const ratio = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(2)}x`)
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length

function table(header: string[], rows: string[][], leftColumns = 1): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < leftColumns ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((cells) => `| ${cells.join(' | ')} |`)].join('\n')
}

function find(report: Report, target: TargetId, route: Route, mode: Mode): Row | undefined {
  return report.rows.find((row) => row.target === target && row.route === route && row.mode === mode)
}

/** CPU µs/req of a row over the floor (the undici bare proxy, same route and mode). */
function vsFloor(report: Report, row: Row | undefined): number | undefined {
  if (!row) return undefined
  const floor = find(report, 'bare', row.route, row.mode)
  return floor ? row.saturation.cpuUsPerReq / floor.saturation.cpuUsPerReq : undefined
}

/** This row's percentile minus upstream direct's, same route and mode. */
function added(report: Report, row: Row | undefined, pick: (rate: RateRun) => Percentiles | undefined, p: 'p50' | 'p99'): number | undefined {
  if (!row || row.target === 'direct') return undefined
  const direct = find(report, 'direct', row.route, row.mode)
  const mine = pick(row.rate)?.[p]
  const theirs = direct && pick(direct.rate)?.[p]
  return mine !== undefined && theirs !== undefined ? mine - theirs : undefined
}

const verdict = (value: number | undefined, limit: number) => (value === undefined || !Number.isFinite(value) ? 'not measured' : value <= limit ? 'met' : '**not met**')
const noisy = (row: Row | undefined) => (row && row.saturation.otherCpuPct > NOISY_PCT ? ' (noisy)' : '')

function targetsSection(report: Report): string {
  const items: string[][] = []
  /** The interleaved rounds' ratio of `target` over the floor (mean, min, max), when that group ran. */
  const rounds = (target: TargetId, route: Route, mode: Mode) => {
    const pair = report.pairs.find((each) => each.title === `${FLOOR_TITLE} (${route})` && each.mode === mode)
    if (!pair) return undefined
    const floorRuns = pair.runs.filter((run) => run.variant === LABELS.bare)
    const ratios = pair.runs.filter((run) => run.variant === LABELS[target]).map((run) => run.cpuUsPerReq / floorRuns.find((other) => other.repeat === run.repeat)!.cpuUsPerReq)
    return ratios.length ? { mean: mean(ratios), low: Math.min(...ratios), high: Math.max(...ratios) } : undefined
  }
  const cpuTarget = (name: string, target: TargetId, route: Route, mode: Mode, limit: number) => {
    const row = find(report, target, route, mode)
    const value = vsFloor(report, row)
    const interleaved = rounds(target, route, mode)
    const measured = [
      interleaved ? `${ratio(interleaved.mean)} interleaved (rounds ${ratio(interleaved.low)}–${ratio(interleaved.high)})` : undefined,
      row ? `${ratio(value)} in the table (${fmt(row.saturation.cpuUsPerReq)} vs ${fmt(find(report, 'bare', route, mode)?.saturation.cpuUsPerReq)} µs/req)${noisy(row)}` : undefined,
    ].filter(Boolean)
    // The interleaved rounds decide when they ran: they are the ones a busy machine moves least.
    items.push([name, measured.length ? measured.join('; ') : '—', `≤ ${limit}x`, verdict(interleaved?.mean ?? value, limit)])
  }
  cpuTarget('default passthrough, non-stream: CPU/req vs bare proxy', 'switchyard', 'openai', 'non-stream', 1.3)
  cpuTarget('production-like, non-stream: CPU/req vs bare proxy', 'switchyard-prod', 'openai', 'non-stream', 2)
  cpuTarget('production-like, stream: CPU/req vs bare proxy', 'switchyard-prod', 'openai', 'stream', 2)
  cpuTarget('translation OpenAI -> Anthropic, stream: CPU/req vs bare passthrough of the same stream', 'switchyard', 'anthropic', 'stream', 2.5)
  for (const route of ['openai', 'anthropic'] as const) {
    const row = find(report, 'switchyard', route, 'stream')
    const value = added(report, row, (rate) => rate.ttfb, 'p99')
    items.push([`stream time to first byte added, p99 (${route === 'openai' ? 'passthrough' : 'translation'}, ${report.settings.rate} req/s)`, row ? `${signed(value)} ms (p50 ${signed(added(report, row, (rate) => rate.ttfb, 'p50'))} ms)` : '—', '≤ 1 ms', verdict(value, 1)])
  }
  for (const route of ['openai', 'anthropic'] as const) {
    const row = find(report, 'switchyard', route, 'stream')
    const direct = find(report, 'direct', route, 'stream')
    if (!row?.rate.events) continue
    const gap = row.rate.events.maxGapP99 - (direct?.rate.events?.maxGapP99 ?? 0)
    const ok = row.rate.events.coalesced <= (direct?.rate.events?.coalesced ?? 0) && gap <= 1
    items.push([`stream chunks neither coalesced nor delayed (${route === 'openai' ? 'passthrough' : 'translation'}; events ${PACE_MS} ms apart)`, `${row.rate.events.coalesced} of ${row.rate.events.total} events arrived merged with another (direct: ${direct?.rate.events?.coalesced ?? '—'}); longest gap p99 ${signed(gap)} ms vs direct`, 'none merged, gap ≤ +1 ms', ok ? 'met' : '**not met**'])
  }
  const idle = report.rows.find((row) => row.target === 'switchyard')?.idleRssMiB
  items.push(['RSS idle, Node (default config)', `${fmt(idle, 1)} MiB`, '≤ 80 MB', verdict(idle === undefined ? undefined : (idle * 1.048576), 80)])
  if (report.soak) {
    const growth = soakGrowth(report.soak)
    items.push([`RSS growth over a ${report.soak.seconds} s soak at ${report.soak.rate} req/s`, `${signed(growth.mib, 1)} MiB from ${fmt(growth.from, 1)} to ${fmt(growth.to, 1)} MiB (after the first third)`, `none (≤ ${SOAK_GROWTH_MIB} MiB or 10%)`, growth.grew ? '**not met**' : 'met'])
  }
  return table(['#10 target', 'measured', 'limit', 'verdict'], items)
}

function soakGrowth(soak: SoakResult): { from: number; to: number; mib: number; grew: boolean } {
  const samples = soak.samples
  const third = samples.find((sample) => sample.seconds >= soak.seconds / 3) ?? samples[0]!
  const to = samples[samples.length - 1]!.rssMiB
  const mib = to - third.rssMiB
  return { from: third.rssMiB, to, mib, grew: mib > Math.max(SOAK_GROWTH_MIB, third.rssMiB * 0.1) }
}

function saturationTable(report: Report): string {
  return table(
    ['target', 'route', 'mode', 'req/s', 'CPU µs/req', 'vs floor', 'upstream µs/req', 'RSS idle MiB', 'RSS load MiB', 'other CPU %', 'errors'],
    report.rows.map((row) => [
      row.label,
      row.route === 'openai' ? 'openai' : row.target === 'direct' || row.target.startsWith('bare') ? 'anthropic' : 'openai -> anthropic',
      row.mode,
      fmt(row.saturation.rps),
      fmt(row.saturation.cpuUsPerReq),
      row.target === 'direct' ? '—' : ratio(vsFloor(report, row)),
      fmt(row.saturation.upstreamCpuUsPerReq),
      fmt(row.idleRssMiB, 1),
      fmt(row.saturation.peakRssMiB, 1),
      `${fmt(row.saturation.otherCpuPct)}${row.saturation.otherCpuPct > NOISY_PCT ? ' ⚠' : ''}`,
      String(row.errors),
    ]),
    3,
  )
}

function rateTable(report: Report): string {
  return table(
    ['target', 'route', 'mode', 'p50 ms', 'p99 ms', 'added p50', 'added p99', 'TTFB p50', 'TTFB p99', 'added TTFB p50', 'added TTFB p99', 'events merged', 'gap p99 ms', 'other CPU %'],
    report.rows.map((row) => {
      const stream = row.mode === 'stream'
      return [
        row.label,
        row.route,
        row.mode,
        fmt(row.rate.latency?.p50, 2),
        fmt(row.rate.latency?.p99, 2),
        signed(added(report, row, (rate) => rate.latency, 'p50')),
        signed(added(report, row, (rate) => rate.latency, 'p99')),
        stream ? fmt(row.rate.ttfb?.p50, 2) : '—',
        stream ? fmt(row.rate.ttfb?.p99, 2) : '—',
        stream ? signed(added(report, row, (rate) => rate.ttfb, 'p50')) : '—',
        stream ? signed(added(report, row, (rate) => rate.ttfb, 'p99')) : '—',
        stream && row.rate.events ? `${row.rate.events.coalesced}/${row.rate.events.total}` : '—',
        stream && row.rate.events ? fmt(row.rate.events.maxGapP99, 2) : '—',
        `${fmt(row.rate.otherCpuPct)}${row.rate.otherCpuPct > NOISY_PCT ? ' ⚠' : ''}`,
      ]
    }),
    3,
  )
}

function pairsSection(pairs: PairResult[]): string {
  const parts: string[] = []
  for (const pair of pairs) {
    const base = pair.variants[0]!
    const baseRuns = pair.runs.filter((run) => run.variant === base)
    const rows = pair.variants.map((variant) => {
      const runs = pair.runs.filter((run) => run.variant === variant)
      const ratios = runs.map((run) => run.cpuUsPerReq / baseRuns.find((other) => other.repeat === run.repeat)!.cpuUsPerReq)
      const meanRatio = mean(ratios)
      // A difference counts when every round agrees on its side of 1 and it is over 3%; else it is noise.
      const low = Math.min(...ratios)
      const high = Math.max(...ratios)
      const within = variant === base ? '—' : Math.abs(meanRatio - 1) <= 0.03 || (low <= 1 && high >= 1) ? `within noise (±${(((high - low) / 2) * 100).toFixed(0)}%)` : meanRatio > 1 ? '**costs more**' : 'cheaper'
      const noisyRuns = runs.filter((run) => run.otherCpuPct > NOISY_PCT).length
      return [variant, runs.map((run) => fmt(run.cpuUsPerReq)).join(' / '), fmt(mean(runs.map((run) => run.cpuUsPerReq))), variant === base ? '1.00x' : `${ratio(meanRatio)} (${ratio(Math.min(...ratios))}–${ratio(Math.max(...ratios))})`, fmt(mean(runs.map((run) => run.rps))), `${within}${noisyRuns > 0 ? ` (${noisyRuns} noisy run${noisyRuns > 1 ? 's' : ''} ⚠)` : ''}`]
    })
    parts.push(`**${pair.mode}**\n\n${table(['variant', 'CPU µs/req per repeat', 'mean', `vs ${base} (per-repeat ratio: mean, min–max)`, 'req/s mean', 'verdict'], rows)}`)
  }
  return parts.join('\n\n')
}

function workersSection(report: Report): string {
  const workers = report.workers!
  const rows = [...new Set(workers.runs.map((run) => run.mode))].map((mode) => {
    const one = workers.runs.find((run) => run.mode === mode && run.workers === 1)
    const two = workers.runs.find((run) => run.mode === mode && run.workers === 2)
    return [mode, fmt(one?.rps), fmt(two?.rps), one && two ? ratio(two.rps / one.rps) : '—', `${fmt(one?.cpuUsPerReq)} / ${fmt(two?.cpuUsPerReq)}`, `${fmt(one?.rssMiB, 1)} / ${fmt(two?.rssMiB, 1)}`]
  })
  return table(['mode', '1 worker req/s', '2 workers req/s', '2 vs 1', 'CPU µs/req (1 / 2, whole process tree)', 'RSS MiB (1 / 2)'], rows)
}

function runtimesSection(report: Report): string {
  const rows: string[][] = []
  for (const mode of ['non-stream', 'stream'] as const) {
    for (const target of ['switchyard', 'bun', 'deno'] as const) {
      const row = find(report, target, 'openai', mode)
      if (!row) continue
      rows.push([target === 'switchyard' ? 'node' : target, mode, fmt(row.saturation.rps), fmt(row.saturation.cpuUsPerReq), ratio(vsFloor(report, row)), fmt(row.rate.latency?.p50, 2), fmt(row.rate.latency?.p99, 2), mode === 'stream' ? fmt(row.rate.ttfb?.p99, 2) : '—', fmt(row.idleRssMiB, 1), fmt(row.saturation.peakRssMiB, 1)])
    }
  }
  return table(['runtime', 'mode', 'req/s', 'CPU µs/req', 'vs floor (Node undici proxy)', 'p50 ms', 'p99 ms', 'TTFB p99 ms', 'RSS idle MiB', 'RSS load MiB'], rows, 2)
}

function transportSection(report: Report): string {
  const rows: string[][] = []
  for (const mode of ['non-stream', 'stream'] as const) {
    const before = find(report, 'switchyard-fetch', 'openai', mode)
    const after = find(report, 'switchyard', 'openai', mode)
    if (!before || !after) continue
    rows.push([mode, fmt(before.saturation.cpuUsPerReq), fmt(after.saturation.cpuUsPerReq), ratio(after.saturation.cpuUsPerReq / before.saturation.cpuUsPerReq), `${fmt(before.saturation.rps)} -> ${fmt(after.saturation.rps)}`])
  }
  return rows.length ? table(['mode', 'global fetch µs/req', 'undici transport µs/req', 'after / before', 'req/s'], rows) : ''
}

export function renderMarkdown(report: Report): string {
  const { machine, settings } = report
  const out: string[] = ['# Switchyard bench', '']
  out.push(`${machine.date} · ${machine.cpuModel} · ${machine.cores} cores · ${machine.memoryGiB} GiB · ${machine.platform} · commit ${machine.commit} · ${Object.entries(machine.versions).map(([name, value]) => `${name} ${value}`).join(' · ')}`)
  out.push('', `Pinned: ${machine.pinned}. Gateway on Node: ${settings.build ? 'built from the sources with esbuild (bench/build.ts), run by plain node' : 'sources through tsx (BENCH_BUILD=0)'}. Bun and Deno run the TypeScript sources.`)
  if (report.rows.length > 0) {
    out.push('', '## #10 targets', '', targetsSection(report))
    out.push('', `## Saturation: ${settings.connections} connections, ${settings.durationSeconds} s (${settings.segments} segments) after a ${settings.warmupSeconds} s warmup`, '', saturationTable(report))
    out.push('', `## At a fixed ${settings.rate} req/s for ${settings.rateSeconds} s (streams paced: events ${PACE_MS} ms apart)`, '', rateTable(report))
    const runtimes = runtimesSection(report)
    if (runtimes.includes('bun') || runtimes.includes('deno')) out.push('', '## #9: the three runtimes (same run, OpenAI passthrough)', '', runtimes)
    const transport = transportSection(report)
    if (transport) out.push('', '## #10 first optimisation: the Node transport (same run)', '', transport)
  }
  for (const title of [...new Set(report.pairs.map((pair) => pair.title))]) {
    out.push('', `## ${title} (${settings.pairRepeats} interleaved repeats of ${settings.pairSeconds} s each, ${settings.connections} connections)`, '', pairsSection(report.pairs.filter((pair) => pair.title === title)))
  }
  if (report.workers) out.push('', `## #9: \`--workers 1\` vs \`--workers 2\` (${report.workers.connections} connections; nothing pinned: the load generator and the upstream share the same ${machine.cores} cores)`, '', workersSection(report))
  if (report.soak) {
    const soak = report.soak
    const growth = soakGrowth(soak)
    out.push('', `## Soak: ${soak.seconds} s at ${soak.rate} req/s (non-stream and stream alternating), default config`, '', `${soak.requests} requests, ${soak.errors} errors. RSS (MiB) over time: ${soak.samples.map((sample) => `${fmt(sample.seconds)} s ${fmt(sample.rssMiB, 1)}`).join(', ')}. From the end of the first third to the end: ${signed(growth.mib, 1)} MiB${growth.grew ? ' — **grew**' : ' (no growth)'}.`)
  }
  const described = (Object.keys(DESCRIPTIONS) as TargetId[]).filter((id) => report.rows.some((row) => row.target === id) || report.pairs.some((pair) => pair.variants.includes(LABELS[id])))
  const notes = [
    ...(described.length ? [`- **Targets**: ${described.map((id) => `*${LABELS[id]}*: ${DESCRIPTIONS[id]}`).join('; ')}.`] : []),
    `- Production-like row: ${report.production}.`,
    `- CPU µs/req = utime+stime of the server's whole process tree (all threads: GC, libuv) from /proc over the quiet saturation segments (other processes ≤ ${NOISY_PCT}% of a core; else the quietest one) / responses. "vs floor" = over the undici bare proxy, same route and mode. The upstream-direct row is the upstream's own CPU. req/s is whole-system: the load generator and the upstream share the machine.`,
    `- p50/p99 and TTFB: an open-loop client sends ${settings.rate} req/s evenly spaced over up to ${String(report.settings.rateConnections)} keep-alive connections; "added" = minus upstream direct, same route and mode. "events merged" = SSE events that reached the client in the same read as an earlier one; "gap p99" = p99 over streams of the longest silence between two reads.`,
  ]
  const noisyRows = report.rows.filter((row) => row.saturation.otherCpuPct > NOISY_PCT || row.rate.otherCpuPct > NOISY_PCT)
  if (noisyRows.length > 0) notes.push(`- **Warning** (⚠): other processes used over ${NOISY_PCT}% of a core during: ${noisyRows.map((row) => `${row.label} ${row.route} ${row.mode}`).join(', ')}; rerun before trusting those figures.`)
  notes.push(`- ${report.elapsedSeconds} s in all; ${report.errors} failed requests.`)
  out.push('', '## Notes', '', ...notes, '')
  return out.join('\n')
}
