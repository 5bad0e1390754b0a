import { describe, expect, it } from 'vitest'
import { createSseDecoder, formatSse, SseParser, type SseEvent } from './sse.js'

const parseAll = (chunks: string[]): SseEvent[] => {
  const parser = new SseParser()
  const out: SseEvent[] = []
  for (const chunk of chunks) parser.feed(chunk, out)
  parser.end(out)
  return out
}

/** Splits text at the given cut points. */
const cut = (text: string, points: number[]) => {
  const sorted = [...new Set(points)].sort((a, b) => a - b)
  const parts: string[] = []
  let last = 0
  for (const point of sorted) {
    parts.push(text.slice(last, point))
    last = point
  }
  parts.push(text.slice(last))
  return parts
}

describe('SseParser', () => {
  it('parses data, event and id fields and ignores comments', () => {
    const events = parseAll([': keep-alive\n', 'event: ping\ndata: {}\n\n', 'id: 7\ndata: a\ndata: b\n\n'])
    expect(events).toEqual([
      { event: 'ping', data: '{}', id: undefined },
      { event: undefined, data: 'a\nb', id: '7' },
    ])
  })

  it('accepts CRLF, CR and LF line ends, also split across chunks', () => {
    const text = 'data: one\r\n\r\ndata: two\r\rdata: three\n\n'
    const expected = ['one', 'two', 'three']
    for (let seed = 1; seed < 200; seed++) {
      const points = [seed % text.length, (seed * 7) % text.length, (seed * 13) % text.length]
      expect(parseAll(cut(text, points)).map((event) => event.data)).toEqual(expected)
    }
  })

  it('strips exactly one space after the colon', () => {
    expect(parseAll(['data:  x\n\ndata:y\n\n']).map((event) => event.data)).toEqual([' x', 'y'])
  })

  it('dispatches an unterminated last event at end of stream', () => {
    expect(parseAll(['data: [DONE]']).map((event) => event.data)).toEqual(['[DONE]'])
  })

  it('decodes multi-byte characters split across byte chunks', async () => {
    const bytes = new TextEncoder().encode('data: héllo 👋\n\n')
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]))
        controller.close()
      },
    }).pipeThrough(createSseDecoder())
    const events: SseEvent[] = []
    for await (const event of stream) events.push(event)
    expect(events.map((event) => event.data)).toEqual(['héllo 👋'])
  })

  it('formats multi-line data as several data lines', () => {
    expect(formatSse('a\nb', 'x')).toBe('event: x\ndata: a\ndata: b\n\n')
    expect(parseAll([formatSse('a\nb', 'x')])).toEqual([{ event: 'x', data: 'a\nb', id: undefined }])
  })
})
