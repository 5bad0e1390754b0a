import { waitForGatewayReady } from '@switchyard/core'
import type { AtomicStore, Logger } from '@switchyard/core'
import { bodyOf, storeBody } from './body.js'
import { isJobId, type JobFailure, type JobRecord, type JobResult, type JobState, type JobSummary } from './job.js'
import type { ResolvedAsyncOptions } from './options.js'
import type { JobStore } from './store.js'

/**
 * Runs stored jobs, each exactly once across every instance that shares the atomic store.
 *
 * A job id reaches the queue from a submit on this instance, from an announcement on the
 * `submitted` channel (every instance hears every submit), or from the scan of open jobs in the
 * store (missed announcements, jobs of a worker that died, jobs left by a crash before a restart).
 * Whoever takes a job from its queue first claims its lease (`atomic.claim`): only the holder runs
 * it, renewing the lease while the run lasts, and the first thing it does is read whether the job
 * already has a result. The result is written while the lease is held, and the lease is released
 * only after that, so a job that finished is never started again, and a job whose worker died is
 * taken over once its lease has expired.
 */
export interface JobWorker {
  /** This instance's id (lease owner prefix). */
  readonly instanceId: string
  /** Starts listening and scanning once the gateway is ready (every plugin set up). */
  start(): void
  /** Tells every instance (this one included) that a job was stored. */
  announce(id: string): Promise<void>
  /** Resolves true when `id` finishes within `ms`, false otherwise. Register before the job can finish. */
  waitFor(id: string, ms: number): Promise<boolean>
  /** Cancels a job: an open job ends as `cancelled`; a running one is stopped first. Resolves once it is final or `waitMs` passed. */
  cancel(id: string, waitMs: number): Promise<void>
  /** Stops taking jobs, lets running ones finish for a grace period, then interrupts them (they run again elsewhere or after a restart). */
  close(): Promise<void>
}

export interface WorkerOptions {
  store: JobStore
  atomic: AtomicStore
  /** Sends a request through the gateway's own app, every hook included. */
  dispatch(request: Request): Promise<Response>
  log: Logger
  options: ResolvedAsyncOptions
  now?: () => number
}

/** Headers of a job's answer that mean something later: what it is, and who answered. */
const KEPT_HEADERS = ['content-type', 'x-bf-provider', 'x-bf-model', 'x-bf-fallback-index', 'x-switchyard-warnings']

/** How long a closing worker lets running jobs finish before interrupting them (ms). */
export const SHUTDOWN_GRACE_MS = 5_000

/** What stopped a run before its answer was recorded. */
type StopReason = 'cancel' | 'lost' | 'shutdown'

/** A summary without the stored request (headers, body): what a result keeps. */
function summaryOf(job: JobRecord): JobSummary {
  const { id, createdAt, owner, surface, operation, model, path, ttlSeconds } = job
  return { id, createdAt, owner, surface, operation, model, path, ttlSeconds }
}

const unref = (timer: unknown) => (timer as { unref?: () => void })?.unref?.()
const sleep = (ms: number) => new Promise<void>((resolve) => unref(setTimeout(resolve, ms)))

export function createJobWorker(deps: WorkerOptions): JobWorker {
  const { store, atomic, dispatch, log, options } = deps
  const now = deps.now ?? Date.now
  const instanceId = crypto.randomUUID()
  const channel = {
    submitted: `${options.keyPrefix}:submitted`,
    cancel: `${options.keyPrefix}:cancel`,
    done: `${options.keyPrefix}:done`,
  }
  const lockOf = (id: string) => `${options.keyPrefix}:lock:${id}`

  const queue: string[] = []
  const queued = new Set<string>()
  /** Ids a local slot is working on (claiming, running or recording). */
  const busy = new Set<string>()
  /** Runs in progress here, by job id: how to stop them. */
  const running = new Map<string, (reason: StopReason) => void>()
  const waiters = new Map<string, Set<() => void>>()
  const unsubscribe: Array<() => void> = []
  const timers: unknown[] = []
  const slotsIdle = new Set<() => void>()
  let slots = 0
  let sequence = 0
  let ready = false
  let closing = false
  let scanning = false

  function enqueue(id: string): void {
    if (closing || queued.has(id) || busy.has(id) || !isJobId(id)) return
    queued.add(id)
    queue.push(id)
    pump()
  }

  function pump(): void {
    while (ready && !closing && slots < options.concurrency && queue.length > 0) {
      const id = queue.shift()!
      queued.delete(id)
      busy.add(id)
      slots++
      void runJob(id)
        .catch((error: unknown) => log.error('async job failed in the worker', { job: id, error: String((error as Error)?.message ?? error) }))
        .finally(() => {
          slots--
          busy.delete(id)
          if (slots === 0) for (const idle of slotsIdle) idle()
          pump()
        })
    }
  }

  /** Tells waiters here and on other instances that `id` is final. */
  function announceDone(id: string): Promise<void> {
    return atomic.publish(channel.done, id).catch((error: unknown) => log.warn('async job done announcement failed', { job: id, error: String(error) }))
  }

  /** Stores the final result of a job; the caller holds its lease (and announces it once released). */
  async function record(job: JobSummary, state: JobState | undefined, outcome: { response?: JobResult['response']; failure?: JobFailure; cancelled?: boolean }): Promise<void> {
    const finishedAt = now()
    const status = outcome.cancelled ? 'cancelled' : outcome.response && outcome.response.status < 400 ? 'completed' : 'failed'
    const result: JobResult = {
      v: 1,
      ...job,
      status,
      attempts: state?.attempts ?? 0,
      startedAt: state?.startedAt,
      finishedAt,
      expiresAt: finishedAt + job.ttlSeconds * 1000,
      ...(outcome.response ? { response: outcome.response } : {}),
      ...(outcome.failure ? { failure: outcome.failure } : {}),
    }
    await store.finish(result)
  }

  async function runJob(id: string): Promise<void> {
    const token = `${instanceId}:${(sequence++).toString(36)}`
    const lock = lockOf(id)
    if (!(await atomic.claim(lock, token, options.leaseMs))) return
    let finished = false
    try {
      const [job, result] = await Promise.all([store.job(id), store.result(id, now())])
      if (result || !job) {
        // Finished elsewhere (an open marker left by a crash mid-finish), or a submit torn before it was answered.
        await store.forgetOpen(id)
        return
      }
      const state = await store.state(id)
      const startedAt = now()
      // Running in a process that does not share this atomic store (several processes on one file store): leave it.
      if (state?.status === 'in_progress' && state.heartbeatAt !== undefined && startedAt - state.heartbeatAt < options.leaseMs) return
      const summary = summaryOf(job)
      if (await store.cancelRequested(id)) {
        await record(summary, state, { cancelled: true, failure: cancelledFailure(id) })
        finished = true
        return
      }
      const attempts = (state?.attempts ?? 0) + 1
      if (state?.status === 'in_progress' && !options.retryInterrupted) {
        await record(summary, state, { failure: { status: 500, code: 'job_interrupted', message: `async job ${id} was interrupted while running (its gateway stopped) and is not run again (retry_interrupted is off)` } })
        finished = true
        return
      }
      if (attempts > options.maxAttempts) {
        await record(summary, state, { failure: { status: 500, code: 'job_interrupted', message: `async job ${id} was interrupted ${options.maxAttempts} times while running and is given up` } })
        finished = true
        return
      }
      const current: JobState = { status: 'in_progress', attempts, startedAt, heartbeatAt: startedAt, runner: token }
      await store.setState(id, current)
      const outcome = await execute(job, current, lock, token)
      if (outcome === 'lost') return
      if (outcome === 'shutdown') {
        // Not an attempt that failed: the next run starts afresh.
        await store.setState(id, { status: 'queued', attempts: attempts - 1 })
        return
      }
      // Record only while the lease is still ours: otherwise another run may be recording.
      if (!(await atomic.claim(lock, token, options.leaseMs))) return
      await record(summary, current, outcome === 'cancel' ? { cancelled: true, failure: cancelledFailure(id) } : outcome)
      finished = true
    } finally {
      await atomic.release(lock, token).catch((error: unknown) => log.warn('async job lease release failed', { job: id, error: String(error) }))
      if (finished) await announceDone(id)
    }
  }

  /** One run: the stored request through the gateway's app, with the lease renewed until it ends. */
  async function execute(job: JobRecord, state: JobState, lock: string, token: string): Promise<StopReason | { response?: JobResult['response']; failure?: JobFailure }> {
    const controller = new AbortController()
    let stopped: StopReason | undefined
    const stop = (reason: StopReason) => {
      stopped ??= reason
      controller.abort()
    }
    running.set(job.id, stop)
    let renewal: Promise<void> | undefined
    const renew = async () => {
      try {
        if (!(await atomic.claim(lock, token, options.leaseMs))) {
          log.warn('async job lease lost; the run is stopped', { job: job.id })
          stop('lost')
          return
        }
        if (!stopped) await store.setState(job.id, { ...state, heartbeatAt: now() })
      } catch (error) {
        log.warn('async job lease renewal failed', { job: job.id, error: String(error) })
      }
    }
    const heartbeat = setInterval(() => {
      if (!renewal) renewal = renew().finally(() => (renewal = undefined))
    }, Math.max(100, Math.floor(options.leaseMs / 3)))
    unref(heartbeat)
    try {
      const body = bodyOf({ body: job.body, encoding: job.bodyEncoding })
      const answer = await dispatch(new Request(`http://switchyard.internal${job.path}`, { method: 'POST', headers: job.headers, body, signal: controller.signal }))
      const bytes = new Uint8Array(await answer.arrayBuffer())
      if (stopped) return stopped
      const headers: Record<string, string> = {}
      for (const name of KEPT_HEADERS) {
        const value = answer.headers.get(name)
        if (value !== null) headers[name] = value
      }
      const requestId = answer.headers.get('x-request-id')
      if (requestId) headers['x-bf-async-request-id'] = requestId
      return { response: { status: answer.status, headers, ...storeBody(bytes, answer.headers.get('content-type')) } }
    } catch (error) {
      if (stopped) return stopped
      log.error('async job run failed', { job: job.id, error: String((error as Error)?.message ?? error) })
      return { failure: { status: 500, code: 'internal', message: 'internal gateway error while running the async job' } }
    } finally {
      clearInterval(heartbeat as Parameters<typeof clearInterval>[0])
      running.delete(job.id)
      // A renewal still writing the heartbeat must land before the result replaces the state.
      await renewal
    }
  }

  async function scan(): Promise<void> {
    if (scanning || closing) return
    scanning = true
    try {
      for (const id of await store.openIds()) enqueue(id)
    } catch (error) {
      log.warn('async job scan failed', { error: String((error as Error)?.message ?? error) })
    } finally {
      scanning = false
    }
  }

  async function sweep(): Promise<void> {
    try {
      const removed = await store.sweep(now())
      if (removed > 0) log.debug('expired async job results removed', { removed })
    } catch (error) {
      log.warn('async job sweep failed', { error: String((error as Error)?.message ?? error) })
    }
  }

  /** Recovered work waits for every plugin's setup, so it meets the same hooks as a fresh request. */
  const waitReady = () => waitForGatewayReady(dispatch, () => closing)

  function waitFor(id: string, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let set = waiters.get(id)
      if (!set) waiters.set(id, (set = new Set()))
      const done = () => {
        clearTimeout(timer as Parameters<typeof clearTimeout>[0])
        set!.delete(done)
        if (set!.size === 0) waiters.delete(id)
        resolve(true)
      }
      const timer = setTimeout(() => {
        set!.delete(done)
        if (set!.size === 0) waiters.delete(id)
        resolve(false)
      }, ms)
      unref(timer)
      set.add(done)
    })
  }

  return {
    instanceId,
    start() {
      unsubscribe.push(atomic.subscribe(channel.submitted, enqueue))
      unsubscribe.push(atomic.subscribe(channel.cancel, (id) => running.get(id)?.('cancel')))
      unsubscribe.push(atomic.subscribe(channel.done, (id) => waiters.get(id)?.forEach((done) => done())))
      // After this plugin's setup returns: the gateway's app exists, and the other plugins finish their setup.
      unref(
        setTimeout(() => {
          void waitReady().then((ok) => {
            if (!ok) return
            ready = true
            void scan()
            void sweep()
            pump()
            const scanTimer = setInterval(() => void scan(), options.scanIntervalMs)
            const sweepTimer = setInterval(() => void sweep(), options.sweepIntervalMs)
            unref(scanTimer)
            unref(sweepTimer)
            timers.push(scanTimer, sweepTimer)
          })
        }, 0),
      )
    },
    async announce(id) {
      enqueue(id)
      await atomic.publish(channel.submitted, id).catch((error: unknown) => log.warn('async job announcement failed; the job runs here', { job: id, error: String(error) }))
    },
    waitFor,
    async cancel(id, waitMs) {
      await store.requestCancel(id)
      const settled = waitFor(id, waitMs)
      const token = `${instanceId}:cancel:${(sequence++).toString(36)}`
      const lock = lockOf(id)
      if (await atomic.claim(lock, token, options.leaseMs)) {
        // Nobody runs it: it ends here, unless it already has a result.
        let finished = false
        try {
          const [job, result] = await Promise.all([store.job(id), store.result(id, now())])
          if (job && !result) {
            await record(summaryOf(job), await store.state(id), { cancelled: true, failure: cancelledFailure(id) })
            finished = true
          }
        } finally {
          await atomic.release(lock, token)
          if (finished) await announceDone(id)
        }
        return
      }
      // Running somewhere: stop it there (the runner records the cancellation), and wait a little for that.
      await atomic.publish(channel.cancel, id)
      await settled
    },
    async close() {
      closing = true
      for (const timer of timers) clearInterval(timer as Parameters<typeof clearInterval>[0])
      for (const stop of unsubscribe.splice(0)) stop()
      queue.length = 0
      queued.clear()
      if (slots > 0) {
        const idle = new Promise<void>((resolve) => slotsIdle.add(resolve))
        const grace = sleep(Math.min(SHUTDOWN_GRACE_MS, options.leaseMs))
        await Promise.race([idle, grace])
        for (const stop of running.values()) stop('shutdown')
        await idle
      }
    },
  }
}

function cancelledFailure(id: string): JobFailure {
  return { status: 409, code: 'job_cancelled', message: `async job ${id} was cancelled` }
}
