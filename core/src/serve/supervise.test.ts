import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../log.js'
import { superviseWorkers, type ShutdownSignal, type WorkerProcess } from './supervise.js'

interface FakeWorker extends WorkerProcess {
  signals: string[]
  listen(): void
  end(code: number | null, signal?: string | null): void
}

let nextPid = 100
function fakeWorker(): FakeWorker {
  let listened!: () => void
  let ended!: (result: { code: number | null; signal: string | null }) => void
  const worker: FakeWorker = {
    pid: nextPid++,
    signals: [],
    listening: new Promise((resolve) => (listened = resolve)),
    exited: new Promise((resolve) => (ended = resolve)),
    kill: (signal) => void worker.signals.push(signal),
    listen: () => listened(),
    end: (code, signal = null) => ended({ code, signal }),
  }
  return worker
}

function supervise(count: number) {
  const workers: FakeWorker[] = []
  const exits: number[] = []
  let signal: ((signal: ShutdownSignal) => void) | undefined
  superviseWorkers({
    count,
    spawn: () => {
      const worker = fakeWorker()
      workers.push(worker)
      return worker
    },
    log: silentLogger,
    onSignal: (handler) => (signal = handler),
    exit: (code) => void exits.push(code),
    graceMs: 1_000,
  })
  return { workers, exits, signal: (name: ShutdownSignal) => signal!(name) }
}

describe('superviseWorkers', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('starts count workers, passes SIGTERM on, and exits 0 once all exited 0', async () => {
    const group = supervise(2)
    group.workers.forEach((worker) => worker.listen())
    await vi.advanceTimersByTimeAsync(0)
    group.signal('SIGINT')
    expect(group.workers.map((worker) => worker.signals)).toEqual([['SIGTERM'], ['SIGTERM']])
    group.workers[0]!.end(0)
    await vi.advanceTimersByTimeAsync(0)
    expect(group.exits).toEqual([])
    group.workers[1]!.end(0)
    await vi.advanceTimersByTimeAsync(0)
    expect(group.exits).toEqual([0])
  })

  it('replaces a worker that crashed after listening, with backoff', async () => {
    const group = supervise(2)
    group.workers.forEach((worker) => worker.listen())
    await vi.advanceTimersByTimeAsync(0)
    group.workers[0]!.end(null, 'SIGKILL')
    await vi.advanceTimersByTimeAsync(50)
    expect(group.workers).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(200)
    expect(group.workers).toHaveLength(3)
    expect(group.exits).toEqual([])
  })

  it('stops the group with exit 1 when a worker dies before it listened', async () => {
    const group = supervise(2)
    group.workers[1]!.listen()
    await vi.advanceTimersByTimeAsync(0)
    group.workers[0]!.end(1)
    await vi.advanceTimersByTimeAsync(0)
    expect(group.workers[1]!.signals).toEqual(['SIGTERM'])
    group.workers[1]!.end(0)
    await vi.advanceTimersByTimeAsync(0)
    expect(group.exits).toEqual([1])
    expect(group.workers).toHaveLength(2)
  })

  it('kills workers that outlive the grace period and exits 1', async () => {
    const group = supervise(1)
    group.workers[0]!.listen()
    await vi.advanceTimersByTimeAsync(0)
    group.signal('SIGTERM')
    await vi.advanceTimersByTimeAsync(6_000)
    expect(group.workers[0]!.signals).toEqual(['SIGTERM', 'SIGKILL'])
    group.workers[0]!.end(null, 'SIGKILL')
    await vi.advanceTimersByTimeAsync(0)
    expect(group.exits).toEqual([1])
  })
})
