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
    if (this.pendingCR && text.charCodeAt(0) === 10) text = text.slice(1)
    this.pendingCR = false
    const buffer = this.buffer.length > 0 ? this.buffer + text : text
    let start = 0
    if (buffer.indexOf('\r') === -1) {
      // LF-only text (what every provider sends): jump from line end to line end natively.
      for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n', start)) {
        this.line(buffer, start, end, out)
        start = end + 1
      }
    } else {
      const length = buffer.length
      for (let i = 0; i < length; i++) {
        const char = buffer.charCodeAt(i)
        if (char !== 10 && char !== 13) continue
        this.line(buffer, start, i, out)
        if (char === 13) {
          if (i + 1 < length) {
            if (buffer.charCodeAt(i + 1) === 10) i++
          } else {
            this.pendingCR = true
          }
        }
        start = i + 1
      }
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start)
    return out
  }

  /** Ends the stream; an unterminated last event is dispatched as browsers do not, but proxies must. */
  end(out: SseEvent[] = []): SseEvent[] {
    if (this.buffer.length > 0) this.line(this.buffer, 0, this.buffer.length, out)
    this.buffer = ''
    this.dispatch(out)
    return out
  }

  /** One line, `text[start, end)`, read in place (no copy of the line itself). */
  private line(text: string, start: number, end: number, out: SseEvent[]): void {
    if (start === end) return this.dispatch(out)
    if (text.charCodeAt(start) === 58) return // ':' comment
    let colon = text.indexOf(':', start)
    if (colon === -1 || colon > end) colon = end
    let valueStart = colon + 1
    if (valueStart < end && text.charCodeAt(valueStart) === 32) valueStart++
    const value = colon === end ? '' : text.slice(valueStart, end)
    this.sawField = true
    const fieldLength = colon - start
    if (fieldLength === 4 && text.startsWith('data', start)) this.data.push(value)
    else if (fieldLength === 5 && text.startsWith('event', start)) this.event = value
    else if (fieldLength === 2 && text.startsWith('id', start)) {
      if (!value.includes('\0')) this.id = value
    }
    // 'retry' and unknown fields are ignored
  }

  private dispatch(out: SseEvent[]): void {
    if (!this.sawField) return
    const { data } = this
    if (data.length > 0 || this.event !== undefined) {
      out.push({ event: this.event, data: data.length === 1 ? data[0]! : data.join('\n'), id: this.id })
    }
    data.length = 0
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
