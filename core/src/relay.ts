import type { Usage } from './ir/usage.js'
import { SseParser, type SseEvent } from './sse.js'

export interface RelayOptions {
  /** Drop events whose data matches (the usage chunk the gateway asked for on the caller's behalf). */
  strip: ((data: string) => boolean) | undefined
  /** Reads usage from one event's data; enables usage observation. */
  usageFrom: ((data: string) => Usage | undefined) | undefined
  /** Each parsed event (only when a plugin listens). */
  onEvent: ((event: SseEvent) => void) | undefined
}

export interface Relay {
  stream: ReadableStream<Uint8Array>
  /** Usage seen in the stream, once it ended (undefined if none was reported). */
  usage(): Usage | undefined
}

/** How much of a stream's end to keep for reading usage when events are not parsed one by one. */
const TAIL_BYTES = 32 * 1024

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

/**
 * Relays an upstream SSE body to the caller. With nothing to strip or observe, the body
 * itself is returned (byte for byte, chunk for chunk). Observing usage alone keeps only
 * the stream's tail and parses it once at the end. Stripping parses frames as they come
 * and forwards every other frame's bytes unchanged.
 */
export function relayStream(body: ReadableStream<Uint8Array>, options: RelayOptions): Relay {
  const { strip, usageFrom, onEvent } = options
  let usage: Usage | undefined
  if (!strip && !usageFrom && !onEvent) return { stream: body, usage: () => undefined }

  if (!strip && !onEvent) {
    const tail: Uint8Array[] = []
    let tailBytes = 0
    const stream = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk)
          tail.push(chunk)
          tailBytes += chunk.byteLength
          while (tailBytes - tail[0]!.byteLength > TAIL_BYTES) tailBytes -= tail.shift()!.byteLength
        },
        flush() {
          const decoder = new TextDecoder()
          let text = ''
          for (const chunk of tail) text += decoder.decode(chunk, { stream: true })
          text += decoder.decode()
          const parser = new SseParser()
          const events = parser.end(parser.feed(text))
          for (let i = events.length - 1; i >= 0 && usage === undefined; i--) usage = usageFrom!(events[i]!.data)
        },
      }),
    )
    return { stream, usage: () => usage }
  }

  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  const parser = new SseParser()
  let pending = ''
  const handle = (frame: string): boolean => {
    const events = parser.feed(frame)
    let keep = true
    for (const event of events) {
      if (onEvent) onEvent(event)
      if (usageFrom && event.data.length > 0) usage = usageFrom(event.data) ?? usage
      if (strip && strip(event.data)) keep = false
    }
    return keep
  }
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true })
        let start = 0
        let out = ''
        for (let end = frameEnd(pending, 0); end !== -1; end = frameEnd(pending, start)) {
          const frame = pending.slice(start, end)
          if (handle(frame)) out += frame
          start = end
        }
        if (start > 0) pending = pending.slice(start)
        if (out.length > 0) controller.enqueue(encoder.encode(out))
      },
      flush(controller) {
        pending += decoder.decode()
        if (pending.length > 0 && handle(pending + '\n\n')) controller.enqueue(encoder.encode(pending))
        parser.end()
      },
    }),
  )
  return { stream, usage: () => usage }
}
