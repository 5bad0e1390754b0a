import type { Usage } from './ir/usage.js'
import { SseParser, type SseEvent } from './sse.js'

export interface RelayOptions {
  /** Drop events whose data matches (the usage chunk the gateway asked for on the caller's behalf). */
  strip: ((data: string) => boolean) | undefined
  /** Reads usage from one event's data; enables usage observation. */
  usageFrom: ((data: string) => Usage | undefined) | undefined
  /** Each parsed event (only when a plugin listens). */
  onEvent: ((event: SseEvent) => void) | undefined
  /**
   * Combines usage reported in several events (Anthropic: input tokens in `message_start`,
   * output tokens in `message_delta`). Without it, the last event that reports usage wins.
   * With it, the stream's head is kept too, so usage from its first events is not lost.
   */
  mergeUsage?: ((earlier: Usage, later: Usage) => Usage) | undefined
}

export interface Relay {
  stream: ReadableStream<Uint8Array>
  /** Usage seen in the stream: all of it once it ended, what came so far before (undefined if none was reported). */
  usage(): Usage | undefined
}

/** The relay as a per-chunk step, for a stage that reads the upstream itself (the body guard). */
export interface RelayStep {
  /** Bytes to send for one upstream chunk: the chunk itself when nothing changes, undefined for none. */
  transform(chunk: Uint8Array): Uint8Array | undefined
  /** Bytes still held once the upstream ended (an unterminated last frame), if any. */
  flush(): Uint8Array | undefined
  /** As `Relay.usage`. */
  usage(): Usage | undefined
}

/** How much of a stream's end to keep for reading usage when events are not parsed one by one. */
const TAIL_BYTES = 32 * 1024
/** How much of a stream's start to keep when usage is merged across events (the first events are small). */
const HEAD_BYTES = 8 * 1024

/** Decodes byte chunks as one UTF-8 text (an incomplete last character is left out). */
function decodeAll(chunks: readonly Uint8Array[]): string {
  const decoder = new TextDecoder()
  let text = ''
  for (const chunk of chunks) text += decoder.decode(chunk, { stream: true })
  return text
}

/** Index just past the blank line that ends the first complete frame at or after `from`, or -1. */
function frameEnd(text: string, from: number): number {
  let lineStart = true
  for (let i = from; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (char !== 10 && char !== 13) {
      lineStart = false
      continue
    }
    if (char === 13 && text.charCodeAt(i + 1) === 10) i++
    if (lineStart) return i + 1
    lineStart = true
  }
  return -1
}

/** Every event of a complete SSE text. */
function parseAll(text: string): SseEvent[] {
  const parser = new SseParser()
  return parser.end(parser.feed(text))
}

/**
 * The relay of an upstream SSE body as a per-chunk step; undefined when there is nothing to strip
 * or observe (the body goes out byte for byte, chunk for chunk). Observing usage alone keeps only
 * the stream's tail (and head, to merge) and parses it once at the end. Stripping parses frames as
 * they come and forwards every other frame's bytes unchanged.
 */
export function createRelayStep(options: RelayOptions): RelayStep | undefined {
  const { strip, usageFrom, onEvent, mergeUsage } = options
  let usage: Usage | undefined
  const observe = (data: string) => {
    if (data.length === 0) return
    const found = usageFrom!(data)
    if (found) usage = usage && mergeUsage ? mergeUsage(usage, found) : found
  }
  if (!strip && !usageFrom && !onEvent) return undefined

  if (!strip && !onEvent) {
    const tail: Uint8Array[] = []
    let tailBytes = 0
    /** Index (among all chunks) of `tail[0]`. */
    let firstTail = 0
    const head: Uint8Array[] = []
    let headBytes = 0
    let flushed = false
    /** Usage from what was kept of the stream so far (all of it once flushed). */
    const readUsage = () => {
      usage = undefined
      if (!mergeUsage) {
        const events = parseAll(decodeAll(tail))
        for (let i = events.length - 1; i >= 0 && usage === undefined; i--) usage = usageFrom!(events[i]!.data)
        return
      }
      let events: SseEvent[]
      if (firstTail <= head.length) {
        // Head and tail meet: the whole stream is at hand.
        events = parseAll(decodeAll([...head.slice(0, firstTail), ...tail]))
      } else {
        // Complete events of the head, then the tail from its first frame boundary on.
        events = new SseParser().feed(decodeAll(head))
        const text = decodeAll(tail)
        const start = frameEnd(text, 0)
        if (start !== -1) events.push(...parseAll(text.slice(start)))
      }
      for (const event of events) observe(event.data)
    }
    return {
      transform(chunk) {
        if (mergeUsage && headBytes < HEAD_BYTES) {
          head.push(chunk)
          headBytes += chunk.byteLength
        }
        tail.push(chunk)
        tailBytes += chunk.byteLength
        while (tailBytes - tail[0]!.byteLength > TAIL_BYTES) {
          tailBytes -= tail.shift()!.byteLength
          firstTail++
        }
        return chunk
      },
      flush() {
        readUsage()
        flushed = true
        return undefined
      },
      // A stream cut short (the caller left) still reports the usage it carried until then.
      usage: () => (flushed ? usage : (readUsage(), usage)),
    }
  }

  // Frame by frame, on bytes: each complete frame is decoded once for the callbacks, and the
  // bytes go out as they came (the chunk itself when every frame in it is kept), never re-encoded.
  const decoder = new TextDecoder()
  const parser = new SseParser()
  /** Bytes of a frame whose end has not arrived yet. */
  let pending: Uint8Array | undefined
  /**
   * The last frame ended in a CR at the very end of a chunk, kept or dropped: an LF opening the
   * next chunk is the rest of that CRLF and shares the frame's fate (forwarding the frame at
   * once, rather than waiting for the next byte, keeps CR-delimited streams undelayed).
   */
  let danglingCR: 'kept' | 'dropped' | undefined
  const handle = (frame: string): boolean => {
    const events = parser.feed(frame)
    let keep = true
    for (const event of events) {
      if (onEvent) onEvent(event)
      if (usageFrom) observe(event.data)
      if (strip && strip(event.data)) keep = false
    }
    return keep
  }
  return {
    transform(chunk) {
      const bytes = pending ? concat(pending, chunk) : chunk
      pending = undefined
      let start = 0
      /** Kept byte ranges, only once some frame was dropped. */
      let kept: Array<[number, number]> | undefined
      if (danglingCR !== undefined && bytes[0] === 10) {
        start = 1
        if (danglingCR === 'dropped') kept = []
      }
      danglingCR = undefined
      const lfOnly = bytes.indexOf(13) === -1
      for (let end = frameEndIn(bytes, start, lfOnly); end !== -1; end = frameEndIn(bytes, start, lfOnly)) {
        const keep = handle(decoder.decode(bytes.subarray(start, end)))
        if (keep) kept?.push([start, end])
        else kept ??= start > 0 ? [[0, start]] : []
        if (end === bytes.length && bytes[end - 1] === 13) danglingCR = keep ? 'kept' : 'dropped'
        start = end
      }
      if (start < bytes.length) pending = bytes.slice(start)
      if (!kept) return start === 0 ? undefined : start === bytes.length ? bytes : bytes.subarray(0, start)
      return kept.length === 0 ? undefined : join(bytes, kept)
    },
    flush() {
      const rest = pending
      pending = undefined
      const keep = rest !== undefined && handle(`${decoder.decode(rest)}\n\n`)
      parser.end()
      return keep ? rest : undefined
    },
    usage: () => usage,
  }
}

/** Index just past the blank line that ends the first complete frame at or after `from` in `bytes`, or -1 (as {@link frameEnd}). */
function frameEndIn(bytes: Uint8Array, from: number, lfOnly: boolean): number {
  if (lfOnly) {
    // No CR anywhere: a blank line is an LF right after an LF (or at `from`); jump between LFs natively.
    for (let at = bytes.indexOf(10, from); at !== -1; at = bytes.indexOf(10, at + 1)) if (at === from || bytes[at - 1] === 10) return at + 1
    return -1
  }
  let lineStart = true
  const length = bytes.length
  for (let i = from; i < length; i++) {
    const byte = bytes[i]
    if (byte !== 10 && byte !== 13) {
      lineStart = false
      continue
    }
    if (byte === 13 && bytes[i + 1] === 10) i++
    if (lineStart) return i + 1
    lineStart = true
  }
  return -1
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** The given ranges of `bytes`, one after the other. */
function join(bytes: Uint8Array, ranges: ReadonlyArray<[number, number]>): Uint8Array {
  if (ranges.length === 1) return bytes.subarray(ranges[0]![0], ranges[0]![1])
  let length = 0
  for (const [from, to] of ranges) length += to - from
  const out = new Uint8Array(length)
  let at = 0
  for (const [from, to] of ranges) {
    out.set(bytes.subarray(from, to), at)
    at += to - from
  }
  return out
}

/** {@link createRelayStep} as a stream stage over `body` (the body itself when there is nothing to do). */
export function relayStream(body: ReadableStream<Uint8Array>, options: RelayOptions): Relay {
  const step = createRelayStep(options)
  if (!step) return { stream: body, usage: () => undefined }
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const out = step.transform(chunk)
        if (out) controller.enqueue(out)
      },
      flush(controller) {
        const out = step.flush()
        if (out) controller.enqueue(out)
      },
    }),
  )
  return { stream, usage: step.usage }
}
