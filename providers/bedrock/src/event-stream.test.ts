import { describe, expect, it } from 'vitest'
import { cassette, collect, concat, streamOf } from '../test/fixtures.js'
import { crc32, createEventStreamDecoder, encodeBedrockEvent, encodeEventStreamMessage, EventStreamDecoder, EventStreamError } from './event-stream.js'

const ascii = (text: string) => new TextEncoder().encode(text)
const recorded = () => cassette('converse-stream-text.cassette.yaml')[0]!.response.bytes!

describe('crc32', () => {
  it('gives the standard check value and the zlib values', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926)
    expect(crc32(new Uint8Array(0))).toBe(0)
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339)
  })
})

describe('EventStreamDecoder on recorded ConverseStream bytes', () => {
  it('decodes every frame of the capture, checking both CRCs', () => {
    const messages = new EventStreamDecoder().feed(recorded())
    expect(messages.map((message) => message.headers[':event-type'])).toEqual([
      'messageStart', ...Array<string>(29).fill('contentBlockDelta'), 'contentBlockStop', 'messageStop', 'metadata',
    ])
    expect(messages.every((message) => message.headers[':message-type'] === 'event' && message.headers[':content-type'] === 'application/json')).toBe(true)
    expect(JSON.parse(new TextDecoder().decode(messages[1]!.payload))).toMatchObject({ contentBlockIndex: 0, delta: { text: 'The' } })
  })

  it('gives the same messages when the bytes arrive one at a time', () => {
    const bytes = recorded()
    const whole = new EventStreamDecoder().feed(bytes)
    const decoder = new EventStreamDecoder()
    const pieces = []
    for (let at = 0; at < bytes.length; at++) pieces.push(...decoder.feed(bytes.subarray(at, at + 1)))
    decoder.end()
    expect(pieces).toEqual(whole)
  })

  it('emits each message as soon as its last byte arrived, not at the end of the body', async () => {
    const bytes = recorded()
    const first = new EventStreamDecoder().feed(bytes)[0]!
    const firstLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0)
    const decoder = new EventStreamDecoder()
    expect(decoder.feed(bytes.subarray(0, firstLength - 1))).toEqual([])
    expect(decoder.feed(bytes.subarray(firstLength - 1, firstLength))).toEqual([first])
  })

  it('works as a TransformStream', async () => {
    const messages = await collect(streamOf(recorded(), 7).pipeThrough(createEventStreamDecoder()))
    expect(messages).toHaveLength(33)
  })
})

describe('EventStreamDecoder faults', () => {
  it('rejects a corrupted prelude CRC', () => {
    const bytes = recorded().slice()
    bytes[9] ^= 0xff
    expect(() => new EventStreamDecoder().feed(bytes)).toThrow(/prelude CRC mismatch/)
  })

  it('rejects a corrupted payload byte (message CRC)', () => {
    const bytes = recorded().slice()
    bytes[60] ^= 0x01
    expect(() => new EventStreamDecoder().feed(bytes)).toThrow(/message CRC mismatch/)
  })

  it('rejects a body cut inside a message', () => {
    const decoder = new EventStreamDecoder()
    decoder.feed(recorded().subarray(0, 40))
    expect(() => decoder.end()).toThrow(EventStreamError)
  })

  it('rejects impossible lengths before waiting for the bytes', () => {
    const frame = encodeEventStreamMessage({}, '')
    const view = new DataView(frame.buffer)
    view.setUint32(0, 0x7fffffff)
    view.setUint32(8, crc32(frame, 0, 8))
    expect(() => new EventStreamDecoder().feed(frame)).toThrow(/impossible length/)
  })
})

describe('encodeEventStreamMessage', () => {
  it('round-trips through the decoder', () => {
    const frames = concat([encodeBedrockEvent('messageStart', { role: 'assistant' }), encodeEventStreamMessage({ ':message-type': 'exception', ':exception-type': 'throttlingException' }, '{"message":"slow down"}')])
    const [start, exception] = new EventStreamDecoder().feed(frames)
    expect(start!.headers).toEqual({ ':event-type': 'messageStart', ':content-type': 'application/json', ':message-type': 'event' })
    expect(new TextDecoder().decode(exception!.payload)).toBe('{"message":"slow down"}')
  })

  it('re-encodes a recorded frame byte for byte', () => {
    const bytes = recorded()
    const [first] = new EventStreamDecoder().feed(bytes)
    const again = encodeEventStreamMessage(first!.headers as Record<string, string>, first!.payload)
    expect(again).toEqual(bytes.subarray(0, again.length))
  })

  it('reads every header value type', () => {
    const header = (name: string, type: number, value: number[]) => [name.length, ...ascii(name), type, ...value]
    const headers = new Uint8Array([
      ...header('t', 0, []), ...header('f', 1, []), ...header('b', 2, [0xff]), ...header('s', 3, [0x01, 0x00]),
      ...header('i', 4, [0, 0, 1, 0]), ...header('l', 5, [0, 0, 0, 0, 0, 0, 0, 5]), ...header('y', 6, [0, 2, 7, 8]),
      ...header('d', 8, [0, 0, 0, 0, 0, 0, 0x03, 0xe8]), ...header('u', 9, Array.from({ length: 16 }, (_, index) => index)),
    ])
    const total = 16 + headers.length
    const frame = new Uint8Array(total)
    const view = new DataView(frame.buffer)
    view.setUint32(0, total)
    view.setUint32(4, headers.length)
    view.setUint32(8, crc32(frame, 0, 8))
    frame.set(headers, 12)
    view.setUint32(total - 4, crc32(frame, 0, total - 4))
    const [message] = new EventStreamDecoder().feed(frame)
    expect(message!.headers).toEqual({ t: true, f: false, b: -1, s: 256, i: 256, l: 5n, y: new Uint8Array([7, 8]), d: new Date(1000), u: new Uint8Array(Array.from({ length: 16 }, (_, index) => index)) })
    expect(message!.payload).toHaveLength(0)
  })
})
