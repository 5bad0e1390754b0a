/**
 * Child processes of the bench and what /proc says about them: start (optionally pinned to
 * CPUs with taskset), wait for a port, stop all, CPU time and RSS of a process tree, and the
 * machine's busy time (to tell when other processes skewed a measurement).
 */
import { spawn, execFileSync, fork, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import os from 'node:os'
import type { LoadJob, LoadResult } from './load.js'

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

export interface Child {
  name: string
  proc: ChildProcess
  /** Last lines of stdout+stderr, shown when something goes wrong. */
  tail: string[]
  exited: boolean
  exitCode: number | null
  exitSignal: NodeJS.Signals | null
  /** Settles once the process exited and its output pipes are drained. */
  closed: Promise<void>
}

const children: Child[] = []

function track(name: string, proc: ChildProcess): Child {
  const child: Child = { name, proc, tail: [], exited: false, exitCode: null, exitSignal: null, closed: new Promise((done) => proc.once('close', () => done())) }
  const keep = (data: Buffer) => {
    for (const line of data.toString('utf8').split('\n')) {
      if (line.trim() === '') continue
      child.tail.push(line)
      if (child.tail.length > 60) child.tail.shift()
    }
  }
  proc.stdout?.on('data', keep)
  proc.stderr?.on('data', keep)
  proc.on('exit', (code, signal) => {
    child.exited = true
    child.exitCode = code
    child.exitSignal = signal
  })
  proc.on('error', (error) => {
    child.tail.push(`spawn error: ${error.message}`)
    child.exited = true
  })
  children.push(child)
  return child
}

/** `taskset` is there and the machine has a CPU to give the server under test alone. */
export const CAN_PIN = os.availableParallelism() >= 2 && (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** CPU lists: the server under test gets the last CPU, everything else the others. */
export const CPUS = (() => {
  const count = os.availableParallelism()
  return { server: String(count - 1), rest: count > 2 ? `0-${count - 2}` : '0', all: `0-${count - 1}` }
})()

/**
 * Starts `command args` with an IPC channel (every bench process exits when the runner's
 * channel closes), pinned to `cpus` with taskset when given.
 */
export function spawnProcess(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd: string; cpus?: string; ipc?: boolean }): Child {
  const [file, argv] = options.cpus ? ['taskset', ['-c', options.cpus, command, ...args]] : [command, args]
  const proc = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: options.ipc === false ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'ipc'] })
  return track(name, proc)
}

/** Sets the CPU affinity of every thread of `pid` and its descendants (`taskset -a -p`). */
export function pin(pid: number, cpus: string): void {
  for (const each of treePids(pid)) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpus, String(each)], { stdio: 'ignore' })
    } catch {
      // the process ended meanwhile
    }
  }
}

export function describeExit(child: Child): string {
  const how = child.exitSignal ? `signal ${child.exitSignal}` : `code ${child.exitCode}`
  return `${child.name} exited (${how})${child.tail.length ? `; last output:\n    ${child.tail.slice(-25).join('\n    ')}` : ''}`
}

let cleaning: Promise<void> | undefined
/** Stops every child: SIGTERM, then SIGKILL for the ones still alive after a grace period. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const alive = children.filter((child) => !child.exited && child.proc.pid !== undefined)
    for (const child of alive) child.proc.kill('SIGTERM')
    const deadline = Date.now() + 4000
    while (alive.some((child) => !child.exited) && Date.now() < deadline) await sleep(50)
    for (const child of alive) if (!child.exited) child.proc.kill('SIGKILL')
  })()
  return cleaning
}

/** Stops one child (SIGTERM, SIGKILL after 4 s). */
export async function stopChild(child: Child): Promise<void> {
  if (child.exited) return
  child.proc.kill('SIGTERM')
  const deadline = Date.now() + 4000
  while (!child.exited && Date.now() < deadline) await sleep(50)
  if (!child.exited) child.proc.kill('SIGKILL')
}

// Last resort: whatever path the runner leaves by, no child survives it.
process.on('exit', () => {
  for (const child of children) if (!child.exited) child.proc.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping children\n`)
    void cleanup().finally(() => process.exit(130))
  })
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ port, host: '127.0.0.1' })
    const finish = (ok: boolean) => {
      socket.destroy()
      done(ok)
    }
    socket.setTimeout(500, () => finish(false))
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
  })
}

/** Polls the port until it accepts connections; fails if the child dies or time runs out. */
export async function waitForPort(child: Child, port: number, timeoutMs = 60_000): Promise<void> {
  const start = Date.now()
  while (Date.now() - start < timeoutMs) {
    if (child.exited) {
      await Promise.race([child.closed, sleep(1000)]) // its last words are still in the pipe
      throw new Error(`${child.name} failed to start: ${describeExit(child)}`)
    }
    if (await canConnect(port)) return
    await sleep(100)
  }
  throw new Error(`${child.name} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s${child.tail.length ? `; last output:\n    ${child.tail.join('\n    ')}` : ''}`)
}

// ---------------------------------------------------------------------------------------
// CPU and memory, from /proc

export const CLK_TCK = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(value) && value > 0 ? value : 100
  } catch {
    return 100
  }
})()

/** `pid` and every descendant (a `--workers` primary and its workers, a taskset or shell wrapper's child). */
export function treePids(pid: number): number[] {
  const out: number[] = []
  const visit = (at: number) => {
    out.push(at)
    const taskDir = `/proc/${at}/task`
    if (!existsSync(taskDir)) return
    for (const task of readdirSync(taskDir)) {
      let children = ''
      try {
        children = readFileSync(`${taskDir}/${task}/children`, 'utf8')
      } catch {
        continue
      }
      for (const child of children.trim().split(/\s+/)) if (child) visit(Number(child))
    }
  }
  visit(pid)
  return out
}

/** utime+stime of one process (all threads), in microseconds; 0 once it is gone. */
function processCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(rest[11]) + Number(rest[12])) * 1e6) / CLK_TCK
  } catch {
    return 0
  }
}

/** CPU of a process tree in microseconds (children that exited are not counted: the trees here are long-lived). */
export function cpuMicros(pid: number): number {
  return treePids(pid).reduce((sum, each) => sum + processCpuMicros(each), 0)
}

/** Busy and steal time of the whole machine (all CPUs) from /proc/stat, in microseconds. */
export function machineCpuMicros(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[]
  const toUs = (ticks: number) => (ticks * 1e6) / CLK_TCK
  return { busy: toUs(user! + nice! + system! + irq! + softirq! + steal!), steal: toUs(steal!) }
}

/** CPU of this runner process itself, in microseconds. */
export function selfCpuMicros(): number {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

/** Resident memory of a process tree, MiB. */
export function rssMiB(pid: number): number {
  let kb = 0
  for (const each of treePids(pid)) {
    try {
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${each}/status`, 'utf8'))
      if (match) kb += Number(match[1])
    } catch {
      // gone
    }
  }
  return Math.round(kb / 102.4) / 10
}

// ---------------------------------------------------------------------------------------
// The load generator (its own process, one job at a time)

/** A job as the runner writes it (the generator numbers it). */
type JobInput = LoadJob extends infer Job ? (Job extends LoadJob ? Omit<Job, 'id'> : never) : never

export interface LoadGenerator {
  pid: number
  run(job: JobInput): Promise<LoadResult>
}

export async function startLoadGenerator(file: string, execArgv: string[], cwd: string, cpus?: string): Promise<LoadGenerator> {
  const proc = fork(file, [], { cwd, execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  const child = track('load generator', proc)
  if (cpus) pin(proc.pid!, cpus)
  const pending = new Map<number, { resolve: (result: LoadResult) => void; reject: (error: Error) => void }>()
  let nextId = 1
  let readyResolve!: () => void
  const ready = new Promise<void>((done) => (readyResolve = done))
  proc.on('message', (message: LoadResult | { ready: true }) => {
    if ('ready' in message) return readyResolve()
    const waiter = pending.get(message.id)
    if (!waiter) return
    pending.delete(message.id)
    if (message.error) waiter.reject(new Error(`load generator: ${message.error}`))
    else waiter.resolve(message)
  })
  proc.on('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(describeExit(child)))
    pending.clear()
  })
  await Promise.race([
    ready,
    sleep(30_000).then(() => {
      throw new Error(`load generator did not start within 30 s: ${describeExit(child)}`)
    }),
    new Promise<never>((_, reject) => proc.once('exit', () => reject(new Error(describeExit(child))))),
  ])
  return {
    pid: proc.pid!,
    run(job: JobInput) {
      const id = nextId++
      return new Promise((resolveJob, reject) => {
        pending.set(id, { resolve: resolveJob, reject })
        proc.send({ ...job, id } as LoadJob)
      })
    },
  }
}
