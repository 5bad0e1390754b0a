import { describe, expect, it } from 'vitest'
import { GatewayError } from '../errors.js'
import type { StreamEvent } from '../ir/stream-event.js'
import { catchStreamFailures, findMalformedFrame, guardUpstream, lastFrameEnd } from './guard.js'

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (chunks: Uint8Array[]) => chunks.map((chunk) => new TextDecoder().decode(chunk)).join('')

/** An upstream body the test writes to, with what the guard did to the call. */
function upstream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) }, { highWaterMark: 0 })
  const calls = { settle: 0, abort: [] as unknown[] }
  const sent = {
    response: new Response(body),
    settle: () => void calls.settle++,
    abort: (reason: unknown) => {
      calls.abort.push(reason)
      try {
        controller.error(reason)
      } catch {
        // already closed
      }
    },
  }
  return { sent, calls, write: (chunk: string) => controller.enqueue(bytes(chunk)), close: () => controller.close(), fail: (error: unknown) => controller.error(error) }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<{ chunks: Uint8Array[]; error: unknown }> {
  const chunks: Uint8Array[] = []
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { chunks, error: undefined }
      chunks.push(value)
    }
  } catch (error) {
    return { chunks, error }
  }
}

const errorFrame = (error: GatewayError) => `event: error\ndata: ${JSON.stringify({ status: error.status, message: error.message })}\n\n`
const never = new AbortController().signal

describe('lastFrameEnd', () => {
  it('finds the end of the last blank line (LF, CRLF, CR)', () => {
    expect(lastFrameEnd(bytes('data: a\n\n'))).toBe(9)
    expect(lastFrameEnd(bytes('data: a\n\ndata: b'))).toBe(9)
    expect(lastFrameEnd(bytes('data: a\r\n\r\ndata: b\r\n'))).toBe(11)
    expect(lastFrameEnd(bytes('data: a\r\rdata'))).toBe(9)
    expect(lastFrameEnd(bytes('data: a\n'))).toBe(0)
    expect(lastFrameEnd(bytes(''))).toBe(0)
  })
})

describe('findMalformedFrame', () => {
  it('accepts JSON objects, [DONE], comments, empty data and event lines before data', () => {
    expect(findMalformedFrame(bytes('data: {"a":1}\n\ndata: [DONE]\n\n: ping\n\ndata:\n\nevent: x\ndata: {"b":[1]} \n\n'))).toBe(-1)
    expect(findMalformedFrame(bytes('data: {"a":1}\r\n\r\n'))).toBe(-1)
  })

  it('points at the first frame whose data line cannot be whole JSON', () => {
    const good = 'data: {"a":1}\n\n'
    expect(findMalformedFrame(bytes(`${good}data: {"id":"broken","choices":[{"delta":{"content":"x"\n\n${good}`))).toBe(good.length)
    expect(findMalformedFrame(bytes('event: content_block_delta\ndata: {"type":"text_de\n\n'))).toBe(0)
  })
})

describe('guardUpstream', () => {
  it('relays frames, settles once at the end', async () => {
    const up = upstream()
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 0, signal: never, errorFrame })
    const reading = readAll(out)
    up.write('data: {"a":1}\n\n')
    up.write('data: {"b":2}\n\n')
    up.close()
    const { chunks, error } = await reading
    expect(error).toBeUndefined()
    expect(text(chunks)).toBe('data: {"a":1}\n\ndata: {"b":2}\n\n')
    expect(up.calls.settle).toBe(1)
  })

  it('sends whole frames: a frame split across chunks goes out once complete', async () => {
    const up = upstream()
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 0, signal: never, errorFrame })
    const reading = readAll(out)
    up.write('data: {"a":1}\n\ndata: {"b"')
    up.write(':2}\n\n')
    up.close()
    const { chunks } = await reading
    expect(chunks.map((chunk) => new TextDecoder().decode(chunk))).toEqual(['data: {"a":1}\n\n', 'data: {"b":2}\n\n'])
  })

  it('an upstream that goes silent mid-stream is aborted after the idle time; the caller gets the frames so far and an error frame', async () => {
    const up = upstream()
    const errors: GatewayError[] = []
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 200, signal: never, errorFrame, onError: (error) => errors.push(error) })
    const reading = readAll(out)
    up.write('data: {"a":1}\n\n')
    up.write('data: {"b"') // half a frame, then nothing
    const started = Date.now()
    const { chunks, error } = await reading
    const waited = Date.now() - started
    expect(error).toBeUndefined()
    expect(waited).toBeGreaterThanOrEqual(190)
    expect(waited).toBeLessThan(600)
    const frames = text(chunks).split('\n\n').filter(Boolean)
    expect(frames[0]).toBe('data: {"a":1}')
    expect(frames).toHaveLength(2)
    expect(frames[1]).toContain('"status":504')
    expect(frames[1]).toContain('stream idle timeout')
    expect(up.calls.abort).toHaveLength(1)
    expect(GatewayError.is(up.calls.abort[0]) && (up.calls.abort[0] as GatewayError).status).toBe(504)
    expect(errors.map((e) => e.status)).toEqual([504])
    expect(up.calls.settle).toBe(1)
  })

  it('a slow but steady upstream is not cut', async () => {
    const up = upstream()
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 120, signal: never, errorFrame })
    const reading = readAll(out)
    for (let i = 0; i < 6; i++) {
      up.write(`data: {"n":${i}}\n\n`)
      await new Promise((resolve) => setTimeout(resolve, 60))
    }
    up.close()
    const { chunks } = await reading
    expect(text(chunks).split('\n\n').filter(Boolean)).toHaveLength(6)
    expect(up.calls.abort).toHaveLength(0)
  })

  it('a caller that does not read is not an idle upstream', async () => {
    const up = upstream()
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 80, signal: never, errorFrame })
    const reader = out.getReader()
    up.write('data: {"a":1}\n\n')
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: {"a":1}\n\n')
    // The guard is not reading now (nobody asked), so the silence does not count.
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(up.calls.abort).toHaveLength(0)
    up.write('data: {"b":2}\n\n')
    up.close()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: {"b":2}\n\n')
  })

  it('an upstream that breaks off ends with the error frame (502); the half frame is dropped', async () => {
    const up = upstream()
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 1_000, signal: never, errorFrame })
    const reading = readAll(out)
    up.write('data: {"a":1}\n\ndata: {"b"')
    await new Promise((resolve) => setTimeout(resolve, 5))
    up.fail(new TypeError('terminated', { cause: new Error('other side closed') }))
    const { chunks } = await reading
    const frames = text(chunks).split('\n\n').filter(Boolean)
    expect(frames).toHaveLength(2)
    expect(frames[1]).toContain('"status":502')
    expect(frames[1]).toContain('other side closed')
    expect(up.calls.settle).toBe(1)
  })

  it('a malformed data line ends the stream there with an error frame, and the upstream is cut off', async () => {
    const up = upstream()
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 0, signal: never, errorFrame })
    const reading = readAll(out)
    up.write('data: {"a":1}\n\ndata: {"broken\n\ndata: {"c":3}\n\n')
    const { chunks } = await reading
    const frames = text(chunks).split('\n\n').filter(Boolean)
    expect(frames).toHaveLength(2)
    expect(frames[0]).toBe('data: {"a":1}')
    expect(frames[1]).toContain('malformed')
    expect(up.calls.abort).toHaveLength(1)
  })

  it('without an error frame, a failure errors the body with the GatewayError', async () => {
    const up = upstream()
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 0, signal: never })
    const reading = readAll(out)
    up.write('partial')
    await new Promise((resolve) => setTimeout(resolve, 5))
    up.fail(new TypeError('terminated'))
    const { chunks, error } = await reading
    expect(text(chunks)).toBe('partial')
    expect(error).toMatchObject({ status: 502, code: 'upstream' })
  })

  it('a caller that cancels aborts the upstream at once and settles; no error is reported', async () => {
    const up = upstream()
    const errors: unknown[] = []
    const out = guardUpstream(up.sent, { provider: 'p', idleMs: 50, signal: never, errorFrame, onError: (error) => errors.push(error) })
    const reader = out.getReader()
    up.write('data: {"a":1}\n\n')
    await reader.read()
    await reader.cancel('gone')
    expect(up.calls.abort).toEqual(['gone'])
    expect(up.calls.settle).toBe(1)
    // The idle timer is gone too: nothing fires later.
    await new Promise((resolve) => setTimeout(resolve, 120))
    expect(up.calls.abort).toHaveLength(1)
    expect(errors).toEqual([])
  })
})

describe('catchStreamFailures', () => {
  it('turns a failing event stream into one final error event', async () => {
    let controller!: ReadableStreamDefaultController<StreamEvent>
    const events = new ReadableStream<StreamEvent>({ start: (c) => void (controller = c) })
    const seen: string[] = []
    const out = catchStreamFailures(events, 'p', (event) => seen.push(event.type))
    const reader = out.getReader()
    controller.enqueue({ type: 'text-start', id: '0' })
    expect((await reader.read()).value).toEqual({ type: 'text-start', id: '0' })
    controller.error(new GatewayError({ status: 504, code: 'timeout', message: 'idle', provider: 'p' }))
    const last = await reader.read()
    expect(last.value).toMatchObject({ type: 'error', error: { status: 504, message: 'idle' } })
    expect((await reader.read()).done).toBe(true)
    expect(seen).toEqual(['text-start', 'error'])
  })
})
