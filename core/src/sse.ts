/**
 * Server-sent events, per the WHATWG HTML "event stream" grammar: lines end in
 * CRLF, LF or CR; `data` lines join with LF; a blank line dispatches; `:` lines are comments.
 */

export interface SseEvent {
  /** `event:` field; undefined means the default "message". */
  event: string | undefined
  data: string
  id: string | undefined
}

/** Incremental SSE parser over text. Feed chunks, get complete events. */
export class SseParser {
  private buffer = ''
  private data: string[] = []
  private event: string | undefined
  private id: string | undefined
  private sawField = false
  /** A chunk ended in CR: an LF at the start of the next chunk belongs to it. */
  private pendingCR = false

  /** Parses a chunk; returns the events it completed. */
  feed(chunk: string, out: SseEvent[] = []): SseEvent[] {
    let text = chunk
    if (this.pendingCR && text.startsWith('\n')) text = text.slice(1)
    this.pendingCR = false
    this.buffer += text
    let start = 0
    const buffer = this.buffer
    const length = buffer.length
    for (let i = 0; i < length; i++) {
      const char = buffer.charCodeAt(i)
      if (char !== 10 && char !== 13) continue
      this.line(buffer.slice(start, i), out)
      if (char === 13) {
        if (i + 1 < length) {
          if (buffer.charCodeAt(i + 1) === 10) i++
        } else {
          this.pendingCR = true
        }
      }
      start = i + 1
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start)
    return out
  }

  /** Ends the stream; an unterminated last event is dispatched as browsers do not, but proxies must. */
  end(out: SseEvent[] = []): SseEvent[] {
    if (this.buffer.length > 0) this.line(this.buffer, out)
    this.buffer = ''
    this.dispatch(out)
    return out
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) return this.dispatch(out)
    if (line.charCodeAt(0) === 58) return // ':' comment
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    this.sawField = true
    switch (field) {
      case 'data':
        this.data.push(value)
        break
      case 'event':
        this.event = value
        break
      case 'id':
        if (!value.includes('\0')) this.id = value
        break
      default:
        break // 'retry' and unknown fields are ignored
    }
  }

  private dispatch(out: SseEvent[]): void {
    if (!this.sawField) return
    if (this.data.length > 0 || this.event !== undefined) {
      out.push({ event: this.event, data: this.data.join('\n'), id: this.id })
    }
    this.data = []
    this.event = undefined
    this.sawField = false
  }
}

/** Bytes -> SSE events, as a TransformStream. */
export function createSseDecoder(): TransformStream<Uint8Array, SseEvent> {
  const decoder = new TextDecoder()
  const parser = new SseParser()
  return new TransformStream<Uint8Array, SseEvent>({
    transform(chunk, controller) {
      for (const event of parser.feed(decoder.decode(chunk, { stream: true }))) controller.enqueue(event)
    },
    flush(controller) {
      const rest = decoder.decode()
      const events = rest ? parser.feed(rest) : []
      parser.end(events)
      for (const event of events) controller.enqueue(event)
    },
  })
}

const encoder = new TextEncoder()

/** Formats one SSE event (`event:` line only when given). Multi-line data is split per the grammar. */
export function formatSse(data: string, event?: string): string {
  const head = event === undefined ? '' : `event: ${event}\n`
  if (!data.includes('\n')) return `${head}data: ${data}\n\n`
  return `${head}${data.split('\n').map((line) => `data: ${line}`).join('\n')}\n\n`
}

/** Encodes a formatted SSE string. */
export function encodeSse(data: string, event?: string): Uint8Array {
  return encoder.encode(formatSse(data, event))
}

/** Standard headers for an SSE response. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
}
