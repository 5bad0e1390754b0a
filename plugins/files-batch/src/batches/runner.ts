import { waitForGatewayReady } from '@switchyard/core'
import type { AtomicStore, Logger } from '@switchyard/core'
import type { ResolvedBatchOptions } from './options.js'
import type { LineResult, RunLine, RunMeta, RunStore } from './run-store.js'

/**
 * Runs gateway-run batches: each request through the gateway's own app (`dispatch`: its routing,
 * fallbacks, hooks, governance and cost accounting, as the caller's own call would get), at most
 * `concurrency` at a time per instance, each exactly once across every instance sharing the
 * atomic store.
 *
 * A batch reaches an instance from its create (here), from an announcement on the `submitted`
 * channel (every instance hears it), or from the scan of open batches (missed announcements, work
 * of an instance that died, batches left by a crash before a restart). Every instance works through
 * a batch's requests in order, skipping those with an answer on record; before it runs one it
 * claims that request's lease (`atomic.claim`) and reads again whether an answer exists, so a
 * request is only ever run by the holder of its lease. The answer is written while the lease is
 * held (renewed every third of `lease_ms` while the call lasts) and the lease released after, so a
 * request whose answer is on record never runs again, and one whose runner died runs again once its
 * lease has expired. When every request has an answer (or the batch was cancelled or expired), one
 * instance, holding the batch's own lease, writes the result files and closes the batch.
 *
 * Instances that do not share their atomic store (several processes on one file store, without
 * Redis) could not see each other's leases: each instance notes in the storage which batches it
 * works on, and one that finds another instance at work on a batch checks whether that instance's
 * own lease is visible to it. When it is not, their atomic stores are separate, and it leaves the
 * batch to that instance until that one stops saying so for `lease_ms` (it died or finished).
 */
export interface GatewayRunner {
  /** Starts listening and scanning once the gateway answers `/ready`. */
  start(): void
  /** Tells every instance (this one included) that a batch was stored. */
  announce(id: string): Promise<void>
  /** Tells every instance that a cancel was asked for: no further request of the batch starts. */
  cancel(id: string): Promise<void>
  /** Stops taking requests, lets running ones finish for a grace period, then stops them (they run again later). */
  close(): Promise<void>
}

/** How a batch ends once nothing of it runs any more. */
export type RunOutcome = 'completed' | 'cancelled' | 'expired'

export interface RunnerDeps {
  store: RunStore
  atomic: AtomicStore
  dispatch(request: Request): Promise<Response>
  log: Logger
  options: ResolvedBatchOptions
  /** Whether a cancel was asked for (the batch's record). */
  cancelRequested(id: string): Promise<boolean>
  /** Writes the result files and closes the batch; the caller holds the batch's lease. False when the batch is not finished after all (a torn answer was found). */
  finish(id: string, meta: RunMeta, outcome: RunOutcome): Promise<boolean>
  /** Drops an open batch that has no record (a create torn before it was answered). */
  forget(id: string): Promise<void>
  prefix?: string
  now?: () => number
}

/** How long a closing runner lets running requests finish before stopping them (ms). */
export const SHUTDOWN_GRACE_MS = 5_000

/** The pause of a batch after a 429 without `retry-after`: 1 s, doubling with each further one, at most a minute. */
const MIN_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 60_000

interface Run {
  id: string
  meta: RunMeta
  /** Requests with an answer on record (as last read). */
  done: Set<number>
  /** Requests a slot here works on. */
  busy: Set<number>
  /** Requests another instance held when this one tried (revisited on the next scan). */
  skipped: Set<number>
  cursor: number
  /** Requests answered 429 (a rate limit), to run again once `pausedUntil` has passed. */
  retry: number[]
  /** Epoch ms before which no request of the batch starts (after a 429). */
  pausedUntil: number
  /** The current pause after consecutive 429s (ms); 0 after a request got through. */
  backoffMs: number
  chunks: Map<number, Promise<RunLine[] | undefined>>
  stopping: RunOutcome | undefined
  finishing: boolean
}

const unref = (timer: unknown) => (timer as { unref?: () => void })?.unref?.()
const sleep = (ms: number) => new Promise<void>((resolve) => unref(setTimeout(resolve, ms)))

export function createGatewayRunner(deps: RunnerDeps): GatewayRunner {
  const { store, atomic, dispatch, log, options } = deps
  const prefix = deps.prefix ?? 'files-batch:run'
  const now = deps.now ?? Date.now
  const instanceId = crypto.randomUUID()
  const channel = { submitted: `${prefix}:submitted`, cancel: `${prefix}:cancel` }
  const lineLease = (id: string, index: number) => `${prefix}:lease:${id}:${index}`
  const batchLease = (id: string) => `${prefix}:finish:${id}`
  /** Held by each running instance, renewed with the request leases: what another instance probes to learn whether it shares this atomic store. */
  const instanceLease = (instance: string) => `${prefix}:instance:${instance}`

  const runs = new Map<string, Run>()
  const activating = new Set<string>()
  /** Leases held by running requests, renewed together: lease key -> token and how to stop the request. */
  const held = new Map<string, { token: string; stop: () => void }>()
  const unsubscribe: Array<() => void> = []
  const timers: unknown[] = []
  const idle = new Set<() => void>()
  let slots = 0
  let sequence = 0
  let ready = false
  let closing = false
  let scanning = false
  let renewal: Promise<void> | undefined

  const token = () => `${instanceId}:${(sequence++).toString(36)}`

  async function activate(id: string): Promise<void> {
    if (closing || runs.has(id) || activating.has(id) || !/^batch_sy_[a-z2-7]{26}$/.test(id)) return
    activating.add(id)
    try {
      const meta = await store.meta(id)
      if (!meta) {
        await deps.forget(id)
        return
      }
      if (await workedElsewhere(id)) return
      await store.beat(id, instanceId, now())
      const run: Run = { id, meta, done: await store.doneIndices(id), busy: new Set(), skipped: new Set(), cursor: 0, retry: [], pausedUntil: 0, backoffMs: 0, chunks: new Map(), stopping: undefined, finishing: false }
      if (await deps.cancelRequested(id)) run.stopping = 'cancelled'
      runs.set(id, run)
    } catch (error) {
      log.warn('batch could not be loaded; the scan tries again', { batch: id, error: String((error as Error)?.message ?? error) })
    } finally {
      activating.delete(id)
    }
    pump()
  }

  /**
   * True when another instance works on the batch and its atomic store is not this one's: its
   * instance lease (held while it runs) cannot be seen from here, so neither could its request leases.
   */
  async function workedElsewhere(id: string): Promise<boolean> {
    for (const { instance, at } of await store.beats(id)) {
      if (instance === instanceId || now() - at >= options.leaseMs) continue
      const probe = `${instanceId}:probe`
      if (await atomic.claim(instanceLease(instance), probe, 1)) {
        await atomic.release(instanceLease(instance), probe)
        return true
      }
    }
    return false
  }

  /** The next request of any run to work on (round robin over the runs), marked busy. */
  function pick(): { run: Run; index: number } | undefined {
    for (const run of runs.values()) {
      if (run.stopping || run.finishing) continue
      if (run.meta.expiresAt <= now()) {
        run.stopping = 'expired'
        continue
      }
      if (run.pausedUntil > now()) continue
      while (run.retry.length > 0) {
        const index = run.retry.shift()!
        if (run.done.has(index) || run.busy.has(index)) continue
        run.busy.add(index)
        return { run, index }
      }
      while (run.cursor < run.meta.total) {
        const index = run.cursor++
        if (run.done.has(index) || run.busy.has(index) || run.skipped.has(index)) continue
        run.busy.add(index)
        return { run, index }
      }
    }
    return undefined
  }

  function pump(): void {
    while (ready && !closing && slots < options.concurrency) {
      const next = pick()
      if (!next) break
      slots++
      void runLine(next.run, next.index)
        .catch((error: unknown) => log.error('batch request failed in the runner', { batch: next.run.id, index: next.index, error: String((error as Error)?.message ?? error) }))
        .finally(() => {
          slots--
          next.run.busy.delete(next.index)
          if (slots === 0) for (const resolve of idle) resolve()
          settle(next.run)
          pump()
        })
    }
    for (const run of runs.values()) settle(run)
  }

  function chunkOf(run: Run, index: number): Promise<RunLine | undefined> {
    const n = Math.floor(index / run.meta.chunkSize)
    let chunk = run.chunks.get(n)
    if (!chunk) {
      chunk = store.chunk(run.id, n)
      run.chunks.set(n, chunk)
      // Only a few chunks stay in memory: those of requests in progress.
      for (const key of run.chunks.keys()) if (key < n - 1) run.chunks.delete(key)
    }
    return chunk.then((lines) => lines?.[index - n * run.meta.chunkSize])
  }

  async function runLine(run: Run, index: number): Promise<void> {
    const lease = lineLease(run.id, index)
    const mine = token()
    if (!(await atomic.claim(lease, mine, options.leaseMs))) {
      run.skipped.add(index)
      return
    }
    const controller = new AbortController()
    let stopped = false
    try {
      // Answered meanwhile (by another instance, or before a restart): nothing to do.
      if (await store.result(run.id, index)) {
        run.done.add(index)
        return
      }
      const line = await chunkOf(run, index)
      if (!line) throw new Error(`request ${index} of the batch is missing from the store`)
      held.set(lease, {
        token: mine,
        stop: () => {
          stopped = true
          controller.abort()
        },
      })
      const result = await send(run.meta, line, controller.signal)
      if (stopped || !result) return
      if (result.status === 429) {
        // A rate limit (the gateway's or the provider's, after the gateway's own retries) is not the
        // request's answer: the batch pauses, and the request runs again later.
        run.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(run.backoffMs * 2, MIN_BACKOFF_MS))
        run.pausedUntil = Math.max(run.pausedUntil, now() + (result.retryAfterMs ?? run.backoffMs))
        run.retry.push(index)
        return
      }
      run.backoffMs = 0
      // Record only while the lease is still ours: otherwise another run may be recording.
      if (!(await atomic.claim(lease, mine, options.leaseMs))) return
      await store.putResult(run.id, index, { v: 1, status: result.status, requestId: result.requestId, body: result.body })
      run.done.add(index)
    } finally {
      held.delete(lease)
      await atomic.release(lease, mine).catch((error: unknown) => log.warn('batch request lease release failed', { batch: run.id, index, error: String(error) }))
    }
  }

  /** One request through the gateway's app; undefined when it was stopped before its answer came. */
  async function send(meta: RunMeta, line: RunLine, signal: AbortSignal): Promise<(LineResult & { retryAfterMs?: number }) | undefined> {
    try {
      const answer = await dispatch(new Request(`http://switchyard.internal${meta.path}`, { method: 'POST', headers: meta.headers, body: line.body, signal }))
      const body = await answer.text()
      if (signal.aborted) return undefined
      const retryAfter = Number(answer.headers.get('retry-after'))
      const result: LineResult & { retryAfterMs?: number } = { v: 1, status: answer.status, requestId: answer.headers.get('x-request-id'), body }
      if (answer.status === 429 && retryAfter > 0) result.retryAfterMs = Math.min(MAX_BACKOFF_MS, retryAfter * 1000)
      return result
    } catch (error) {
      if (signal.aborted) return undefined
      log.error('batch request failed', { batch: meta.id, custom_id: line.custom_id, error: String((error as Error)?.message ?? error) })
      return { v: 1, status: 500, requestId: null, body: JSON.stringify({ error: { message: 'internal gateway error while running the batch request', type: 'api_error', param: null, code: null } }) }
    }
  }

  /** A run with nothing left to start here: finish it when it is done, or leave it to the next scan. */
  function settle(run: Run): void {
    if (closing || run.finishing || run.busy.size > 0) return
    const started = run.cursor >= run.meta.total || run.stopping
    if (!started) return
    if (!run.stopping && run.done.size < run.meta.total) return
    run.finishing = true
    void finish(run, run.stopping ?? 'completed').finally(() => {
      run.finishing = false
    })
  }

  async function finish(run: Run, outcome: RunOutcome): Promise<void> {
    const lease = batchLease(run.id)
    const mine = token()
    if (!(await atomic.claim(lease, mine, options.leaseMs).catch(() => false))) return
    let closed = false
    try {
      closed = await deps.finish(run.id, run.meta, outcome)
    } catch (error) {
      log.error('batch could not be finished; the scan tries again', { batch: run.id, error: String((error as Error)?.message ?? error) })
    } finally {
      await atomic.release(lease, mine).catch(() => false)
    }
    if (closed) {
      runs.delete(run.id)
      // A renewal under way may have noted this instance on the batch again after the clean-up.
      await renewal
      await store.unbeat(run.id, instanceId).catch(() => {})
    } else {
      // A torn answer was removed: read what is on record again and run what is missing.
      run.done = await store.doneIndices(run.id).catch(() => run.done)
      run.cursor = 0
      run.skipped.clear()
      pump()
    }
  }

  function renew(): Promise<void> {
    renewal ??= renewLeases().finally(() => (renewal = undefined))
    return renewal
  }

  /** Renews this instance's lease, its notes on the batches it works on, and the leases of its running requests. */
  async function renewLeases(): Promise<void> {
    await atomic.claim(instanceLease(instanceId), instanceId, options.leaseMs).catch(() => false)
    for (const [id, run] of runs) if (!run.finishing) await store.beat(id, instanceId, now()).catch(() => {})
    for (const [lease, { token: mine, stop }] of [...held]) {
      const kept = await atomic.claim(lease, mine, options.leaseMs).catch((error: unknown) => {
        log.warn('batch request lease renewal failed', { lease, error: String(error) })
        return true
      })
      if (!kept) {
        log.warn('batch request lease lost; the request is stopped', { lease })
        stop()
      }
    }
  }

  async function scan(): Promise<void> {
    if (scanning || closing) return
    scanning = true
    try {
      const open = await store.openIds()
      // Batches another instance closed meanwhile.
      for (const [id, run] of runs) if (!open.includes(id) && run.busy.size === 0 && !run.finishing) runs.delete(id)
      for (const id of open) {
        const run = runs.get(id)
        if (!run) {
          await activate(id)
          continue
        }
        if (!run.stopping && (await deps.cancelRequested(id))) run.stopping = 'cancelled'
        // Requests another instance held last time, or that are still missing: look again.
        if (run.busy.size === 0 && !run.finishing && (run.skipped.size > 0 || run.cursor >= run.meta.total)) {
          run.done = await store.doneIndices(id)
          run.skipped.clear()
          run.cursor = 0
        }
      }
    } catch (error) {
      log.warn('batch scan failed', { error: String((error as Error)?.message ?? error) })
    } finally {
      scanning = false
    }
    pump()
  }

  /** Recovered work waits for every plugin's setup, so it meets the same hooks as a fresh request. */
  const waitReady = () => waitForGatewayReady(dispatch, () => closing)

  return {
    start() {
      unsubscribe.push(atomic.subscribe(channel.submitted, (id) => void activate(id)))
      unsubscribe.push(
        atomic.subscribe(channel.cancel, (id) => {
          const run = runs.get(id)
          if (run && !run.stopping) {
            run.stopping = 'cancelled'
            settle(run)
          }
        }),
      )
      void atomic.claim(instanceLease(instanceId), instanceId, options.leaseMs).catch(() => false)
      const renewal = setInterval(() => void renew(), Math.max(100, Math.floor(options.leaseMs / 3)))
      unref(renewal)
      timers.push(renewal)
      unref(
        setTimeout(() => {
          void waitReady().then((ok) => {
            if (!ok) return
            ready = true
            void scan()
            const scanTimer = setInterval(() => void scan(), options.scanIntervalMs)
            unref(scanTimer)
            timers.push(scanTimer)
          })
        }, 0),
      )
    },
    async announce(id) {
      await activate(id)
      await atomic.publish(channel.submitted, id).catch((error: unknown) => log.warn('batch announcement failed; it runs here', { batch: id, error: String(error) }))
    },
    async cancel(id) {
      await atomic.publish(channel.cancel, id)
    },
    async close() {
      closing = true
      for (const timer of timers) clearInterval(timer as Parameters<typeof clearInterval>[0])
      for (const stop of unsubscribe.splice(0)) stop()
      if (slots > 0) {
        const drained = new Promise<void>((resolve) => idle.add(resolve))
        await Promise.race([drained, sleep(Math.min(SHUTDOWN_GRACE_MS, options.leaseMs))])
        for (const { stop } of held.values()) stop()
        await drained
      }
      runs.clear()
    },
  }
}
