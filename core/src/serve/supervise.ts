import type { Logger } from '../log.js'

/** A worker process as the supervisor sees it; each runtime wraps its own process API. */
export interface WorkerProcess {
  pid: number
  /** Resolves once the worker accepts requests (never, if it dies first). */
  listening: Promise<void>
  /** Resolves when the process has ended. */
  exited: Promise<{ code: number | null; signal: string | null }>
  kill(signal: 'SIGTERM' | 'SIGKILL'): void
}

export type ShutdownSignal = 'SIGTERM' | 'SIGINT'

export interface SuperviseOptions {
  /** Workers kept running. */
  count: number
  /** Starts the worker for a slot (0 .. count-1); called again for a slot whose worker crashed. */
  spawn(slot: number): WorkerProcess
  log: Logger
  /** Registers the shutdown handler for SIGTERM and SIGINT. */
  onSignal(handler: (signal: ShutdownSignal) => void): void
  exit(code: number): void
  /** How long workers get to finish in-flight requests after SIGTERM before SIGKILL (ms). */
  graceMs: number
}

/** Restart delay after a crash: doubles per crash in a row, from 100 ms up to 5 s. */
const backoffMs = (crashes: number) => Math.min(100 * 2 ** crashes, 5_000)
/** A worker that stayed up this long resets its slot's crash count. */
const STABLE_MS = 10_000

/**
 * Keeps `count` workers running. A worker that crashes after it started listening is
 * replaced (with backoff); one that dies before it ever listened (bad config, port taken)
 * stops the whole group with exit 1, since a restart would fail the same way. On SIGTERM
 * or SIGINT every worker gets SIGTERM and its grace period; the supervisor exits 0 when all
 * of them exited 0, else 1.
 */
export function superviseWorkers(options: SuperviseOptions): void {
  const { log } = options
  const running = new Set<WorkerProcess>()
  const crashes = new Array<number>(options.count).fill(0)
  let stopping = false
  let failed = false
  let killTimer: ReturnType<typeof setTimeout> | undefined

  const finishIfDone = () => {
    if (!stopping || running.size > 0) return
    clearTimeout(killTimer)
    options.exit(failed ? 1 : 0)
  }

  const stop = (reason: string) => {
    if (stopping) return
    stopping = true
    log.info('stopping workers', { reason, workers: [...running].map((worker) => worker.pid) })
    for (const worker of running) worker.kill('SIGTERM')
    killTimer = setTimeout(() => {
      failed = true
      for (const worker of running) {
        log.error('worker did not stop in time; killing it', { worker: worker.pid })
        worker.kill('SIGKILL')
      }
    }, options.graceMs + 5_000)
    finishIfDone()
  }

  const start = (slot: number) => {
    const worker = options.spawn(slot)
    const startedAt = Date.now()
    let listened = false
    running.add(worker)
    void worker.listening.then(() => (listened = true))
    void worker.exited.then(({ code, signal }) => {
      running.delete(worker)
      if (stopping) {
        if (code !== 0) {
          failed = true
          log.error('worker exited with an error during shutdown', { worker: worker.pid, code, signal })
        }
        return finishIfDone()
      }
      if (!listened) {
        log.error('worker exited before it started listening; stopping', { worker: worker.pid, code, signal })
        failed = true
        return stop('worker failed to start')
      }
      crashes[slot] = Date.now() - startedAt > STABLE_MS ? 0 : crashes[slot]! + 1
      const delay = backoffMs(crashes[slot]!)
      log.warn('worker exited; restarting it', { worker: worker.pid, code, signal, restartInMs: delay })
      setTimeout(() => stopping || start(slot), delay)
    })
  }

  options.onSignal((signal) => stop(signal))
  for (let slot = 0; slot < options.count; slot++) start(slot)
}
