import { GatewayError } from './errors.js'

/** How many upstream requests of one provider run and wait, for `stats()`. */
export interface ProviderLoad {
  /** Upstream requests started and not yet ended (a stream counts until its last byte). */
  inFlight: number
  /** Callers waiting for a free slot (always 0 without `concurrency_and_buffer_size.concurrency`). */
  queued: number
}

export interface LimiterOptions {
  /** Provider id, for messages. */
  provider: string
  /** Upstream requests allowed in flight at once. */
  concurrency: number
  /** Callers allowed to wait when every slot is taken; only enforced with `dropExcess`. */
  bufferSize: number
  /** A caller that finds the queue full is refused at once (429, `retry-after: 1`). */
  dropExcess: boolean
}

interface Waiter {
  resolve(): void
  reject(error: GatewayError): void
  /** Set once the waiter left the queue (served, timed out or gone). */
  done: boolean
}

/**
 * Per-provider concurrency limit with a FIFO queue (`concurrency_and_buffer_size`).
 * `acquire` takes a slot synchronously when one is free (no promise on the fast path), or
 * queues the caller; `release` hands the slot to the first caller still waiting.
 */
export class ConcurrencyLimiter implements ProviderLoad {
  inFlight = 0
  private readonly queue: Waiter[] = []
  /** Index of the first live entry of `queue` (entries before it are served or gone). */
  private head = 0
  private waiting = 0

  constructor(readonly options: LimiterOptions) {}

  get queued(): number {
    return this.waiting
  }

  /**
   * Takes a slot: `undefined` when one was free, else a promise that resolves once the caller
   * holds one. It rejects with 429 when `dropExcess` and the queue is full, with 504 after
   * `timeoutMs` (0 = no limit) and with 499 when `signal` aborts (the caller left the queue).
   */
  acquire(signal: AbortSignal, timeoutMs: number): Promise<void> | undefined {
    const { concurrency, bufferSize, dropExcess, provider } = this.options
    if (this.inFlight < concurrency && this.waiting === 0) {
      this.inFlight++
      return undefined
    }
    if (dropExcess && this.waiting >= bufferSize) {
      return Promise.reject(
        new GatewayError({
          status: 429,
          code: 'rate_limit',
          type: 'rate_limit_error',
          message: `[${provider}] too many requests in flight (concurrency ${concurrency}, queue ${bufferSize} full); retry shortly`,
          provider,
          retryable: false,
          headers: { 'retry-after': '1' },
        }),
      )
    }
    if (signal.aborted) return Promise.reject(clientGone(provider))
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const leave = () => {
        waiter.done = true
        this.waiting--
        if (timer !== undefined) clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
      }
      const onAbort = () => {
        if (waiter.done) return
        leave()
        reject(clientGone(provider))
      }
      const waiter: Waiter = {
        done: false,
        resolve: () => {
          leave()
          resolve()
        },
        reject: (error) => {
          leave()
          reject(error)
        },
      }
      this.queue.push(waiter)
      this.waiting++
      signal.addEventListener('abort', onAbort, { once: true })
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          if (waiter.done) return
          waiter.reject(new GatewayError({ status: 504, code: 'timeout', message: `[${provider}] no free upstream slot within ${timeoutMs} ms (concurrency ${concurrency})`, provider, retryable: false }))
        }, timeoutMs)
      }
    })
  }

  /** Frees a slot: the first caller still waiting takes it. */
  release(): void {
    while (this.head < this.queue.length) {
      const waiter = this.queue[this.head++]!
      if (waiter.done) continue
      this.compact()
      // The slot passes straight to the waiter: inFlight stays as it is.
      waiter.resolve()
      return
    }
    this.compact()
    this.inFlight--
  }

  /** Drops served entries from the front once they are the bulk of the array. */
  private compact(): void {
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    } else if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
    }
  }
}

const clientGone = (provider: string) =>
  new GatewayError({ status: 499, code: 'client_closed', message: `[${provider}] the caller went away while waiting for a free upstream slot`, provider, retryable: false })

/** In-flight counter of a provider without a concurrency limit (nothing queues). */
export class LoadCounter implements ProviderLoad {
  inFlight = 0
  readonly queued = 0
}
