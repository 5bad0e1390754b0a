import { GatewayError, toGatewayError } from '../errors.js'
import type { StreamEvent } from '../ir/stream-event.js'
import type { RelayStep } from '../relay.js'
import type { SendResult } from '../router.js'

export interface GuardOptions {
  /** Provider id, for messages. */
  provider: string
  /**
   * Longest silence from the upstream while the gateway waits for its next bytes (ms); 0 = no
   * limit. When exceeded, the upstream request is aborted (its socket closed) and the body fails
   * with a 504. Time the caller spends not reading does not count.
   */
  idleMs: number
  /** The caller's signal: once it aborted, a failure is the caller's leaving, not an upstream error. */
  signal: AbortSignal
  /**
   * Renders a failure as one SSE frame in the caller's dialect (passthrough streams). With it, the
   * body is relayed in whole frames (bytes after the last blank line wait for the rest of their
   * frame), a frame whose `data:` cannot be JSON ends the stream (see {@link findMalformedFrame}),
   * and a failure appends this frame and ends the body cleanly. Without it, a failure errors the
   * body with the GatewayError (the IR path turns that into an `error` event).
   */
  errorFrame?: ((error: GatewayError) => string) | undefined
  /** Told about an upstream failure (not about the caller leaving). */
  onError?: ((error: GatewayError) => void) | undefined
  /** The passthrough relay (usage observation, stripping), run on each chunk in this same stage. */
  step?: RelayStep | undefined
}

const encoder = new TextEncoder()

/** Index just past the last blank line (`\n\n`, `\r\n\r\n`, `\r\r`) in `bytes`; 0 when there is none. */
export function lastFrameEnd(bytes: Uint8Array): number {
  const length = bytes.length
  if (length >= 2 && bytes[length - 1] === 10 && bytes[length - 2] === 10) return length
  for (let i = length - 1; i >= 1; i--) {
    const byte = bytes[i]
    if (byte === 10) {
      if (bytes[i - 1] === 10) return i + 1
      if (bytes[i - 1] === 13 && i >= 3 && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i + 1
    } else if (byte === 13 && bytes[i - 1] === 13 && bytes[i + 1] !== 10) return i + 1
  }
  return 0
}

/** True when `bytes[from, to)` after `data:` is empty or ends like a JSON text (`}` or `]`, which covers `[DONE]`). */
function payloadLooksWhole(bytes: Uint8Array, from: number, to: number): boolean {
  let end = to
  while (end > from && (bytes[end - 1] === 32 || bytes[end - 1] === 9)) end--
  let start = from
  while (start < end && (bytes[start] === 32 || bytes[start] === 9)) start++
  if (start === end) return true
  const last = bytes[end - 1]
  return last === 125 || last === 93
}

/** `data:` at `bytes[start]`. */
const isDataLine = (bytes: Uint8Array, start: number, end: number) =>
  end - start >= 5 && bytes[start] === 100 && bytes[start + 1] === 97 && bytes[start + 2] === 116 && bytes[start + 3] === 97 && bytes[start + 4] === 58

/**
 * Start of the first frame of `bytes` (whole frames, each ending in a blank line) whose last
 * line is a `data:` line that cannot be a whole JSON text: it does not end in `}` or `]`. -1
 * when every frame looks whole. A structural check, never a parse: it catches the truncated or
 * garbled line an SDK would fail to parse, at the cost of one `indexOf` per line.
 */
export function findMalformedFrame(bytes: Uint8Array): number {
  let frameStart = 0
  let lineStart = 0
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) {
    let lineEnd = i
    if (lineEnd > lineStart && bytes[lineEnd - 1] === 13) lineEnd--
    if (lineEnd === lineStart) {
      frameStart = i + 1
      lineStart = i + 1
      continue
    }
    const next = bytes[i + 1]
    const lastOfFrame = next === 10 || (next === 13 && bytes[i + 2] === 10)
    if (lastOfFrame && isDataLine(bytes, lineStart, lineEnd) && !payloadLooksWhole(bytes, lineStart + 5, lineEnd)) return frameStart
    lineStart = i + 1
  }
  return -1
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** What a failed upstream body read becomes. */
export function streamFailure(caught: unknown, provider: string): GatewayError {
  if (GatewayError.is(caught)) return caught
  if (caught instanceof DOMException && caught.name === 'TimeoutError') return toGatewayError(caught, provider)
  const detail = (caught as { cause?: { message?: unknown } } | undefined)?.cause?.message ?? (caught as Error | undefined)?.message ?? String(caught)
  return new GatewayError({ status: 502, code: 'upstream', message: `[${provider}] the upstream response broke off: ${String(detail)}`, provider, retryable: true, cause: caught })
}

/**
 * The upstream response body as the gateway relays it: one pull-based stage that
 * - watches for upstream silence with one timer re-armed every `idleMs / 4` (never per chunk;
 *   a chunk only sets a flag), so a stall is noticed between `idleMs` and 1.25 × `idleMs`;
 * - settles the upstream call (timers, caller listener, concurrency slot) when the body ends,
 *   fails or is cancelled;
 * - aborts the upstream request at once when the caller cancels (goes away);
 * - on failure appends the dialect's error frame (`errorFrame`) or errors the body;
 * - runs the passthrough relay `step` on each chunk, so relaying costs no second stream stage.
 */
export function guardUpstream(sent: Pick<SendResult, 'response' | 'settle' | 'abort'>, options: GuardOptions): ReadableStream<Uint8Array> {
  const { provider, idleMs, errorFrame, signal, step } = options
  const reader = sent.response.body!.getReader()
  let reading = false
  let active = false
  let quiet = 0
  let idleError: GatewayError | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let pending: Uint8Array | undefined
  let ended = false
  const tick = idleMs / 4
  const check = () => {
    timer = undefined
    if (!reading || active) {
      active = false
      quiet = 0
    } else if (++quiet >= 4) {
      idleError = new GatewayError({ status: 504, code: 'timeout', message: `[${provider}] the upstream sent nothing for ${idleMs / 1000} s (stream idle timeout)`, provider, retryable: true })
      sent.abort(idleError)
      return
    }
    timer = setTimeout(check, tick)
  }
  if (idleMs > 0) timer = setTimeout(check, tick)
  const end = () => {
    if (ended) return
    ended = true
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    sent.settle()
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array>
        reading = true
        try {
          next = await reader.read()
        } catch (caught) {
          reading = false
          end()
          if (signal.aborted) return controller.error(caught)
          const error = idleError ?? streamFailure(caught, provider)
          options.onError?.(error)
          if (!errorFrame) return controller.error(error)
          // Bytes of an unfinished frame are dropped: the error frame must not land inside one.
          pending = undefined
          controller.enqueue(encoder.encode(errorFrame(error)))
          return controller.close()
        }
        reading = false
        if (next.done) {
          end()
          const last = pending && (step ? step.transform(pending) : pending)
          if (last) controller.enqueue(last)
          pending = undefined
          const rest = step?.flush()
          if (rest) controller.enqueue(rest)
          return controller.close()
        }
        active = true
        let chunk = next.value
        if (errorFrame) {
          if (pending) {
            chunk = concat(pending, chunk)
            pending = undefined
          }
          const cut = lastFrameEnd(chunk)
          if (cut < chunk.length) {
            pending = chunk.slice(cut)
            chunk = chunk.subarray(0, cut)
          }
          if (chunk.length === 0) continue
          const broken = findMalformedFrame(chunk)
          if (broken !== -1) {
            // The caller gets the frames before it, then the error; the upstream is cut off.
            const error = new GatewayError({ status: 502, code: 'upstream', message: `[${provider}] the upstream sent a malformed stream event`, provider, retryable: true })
            end()
            sent.abort(error)
            options.onError?.(error)
            if (broken > 0) controller.enqueue(chunk.subarray(0, broken))
            controller.enqueue(encoder.encode(errorFrame(error)))
            pending = undefined
            reader.cancel(error).catch(() => {})
            return controller.close()
          }
        }
        const out = step ? step.transform(chunk) : chunk
        if (!out) continue
        controller.enqueue(out)
        return
      }
    },
    cancel(reason) {
      end()
      sent.abort(reason ?? new DOMException('the caller went away', 'AbortError'))
      return reader.cancel(reason).catch(() => {})
    },
  }, { highWaterMark: 0 })
}

/**
 * IR events with failures turned into one final `error` event: a stream that breaks after
 * its response started is reported in the caller's dialect, never retried. `observe` sees
 * every event (usage, errors, plugin `onStreamEvent`).
 */
export function catchStreamFailures(events: ReadableStream<StreamEvent>, provider: string | undefined, observe: (event: StreamEvent) => void): ReadableStream<StreamEvent> {
  const reader = events.getReader()
  let failed = false
  return new ReadableStream<StreamEvent>({
    async pull(controller) {
      if (failed) return controller.close()
      let event: StreamEvent
      try {
        const next = await reader.read()
        if (next.done) return controller.close()
        event = next.value
      } catch (caught) {
        failed = true
        event = { type: 'error', error: provider ? streamFailure(caught, provider) : toGatewayError(caught) }
      }
      observe(event)
      controller.enqueue(event)
    },
    cancel(reason) {
      return reader.cancel(reason).catch(() => {})
    },
  }, { highWaterMark: 0 })
}
