/**
 * The AWS event-stream binary framing (`application/vnd.amazon.eventstream`), as Bedrock's
 * ConverseStream and InvokeModelWithResponseStream send it. Each message is
 *
 * ```
 * [total length u32][headers length u32][prelude CRC32 u32][headers][payload][message CRC32 u32]
 * ```
 *
 * big-endian, where the prelude CRC covers the first 8 bytes and the message CRC every byte before
 * it. A header is `[name length u8][name][value type u8][value]`.
 * https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream
 * (the same framing is used by every AWS streaming API).
 *
 * Web APIs only: the decoder works on `Uint8Array` chunks as they arrive, however the network
 * splits them, and checks both CRCs of every message.
 */

/** IEEE 802.3 CRC-32 table (polynomial 0xEDB88320, as zlib). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 of `bytes[start, end)` (zlib's `crc32`). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff
  for (let index = start; index < end; index++) crc = CRC_TABLE[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** A header value: strings, numbers, booleans, bytes; `long` and `timestamp` as bigint. */
export type EventStreamHeaderValue = string | number | boolean | bigint | Uint8Array | Date

/** One decoded message: its headers (`:message-type`, `:event-type` ...) and raw payload. */
export interface EventStreamMessage {
  headers: Record<string, EventStreamHeaderValue>
  payload: Uint8Array
}

/** A framing fault: a CRC mismatch or an impossible length. The stream cannot continue after it. */
export class EventStreamError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'EventStreamError'
  }
}

const PRELUDE = 12
/** Prelude plus the trailing message CRC. */
const OVERHEAD = 16
/** AWS caps a message at 16 MiB of payload and 128 KiB of headers. */
const MAX_MESSAGE = 16 * 1024 * 1024 + 128 * 1024 + OVERHEAD

const utf8 = new TextDecoder()

function readHeaders(bytes: Uint8Array, start: number, end: number): Record<string, EventStreamHeaderValue> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headers: Record<string, EventStreamHeaderValue> = {}
  let at = start
  const need = (count: number) => {
    if (at + count > end) throw new EventStreamError('event-stream header runs past the headers section')
  }
  while (at < end) {
    need(1)
    const nameLength = bytes[at++]!
    need(nameLength + 1)
    const name = utf8.decode(bytes.subarray(at, at + nameLength))
    at += nameLength
    const type = bytes[at++]!
    let value: EventStreamHeaderValue
    switch (type) {
      case 0: value = true; break
      case 1: value = false; break
      case 2: need(1); value = view.getInt8(at); at += 1; break
      case 3: need(2); value = view.getInt16(at); at += 2; break
      case 4: need(4); value = view.getInt32(at); at += 4; break
      case 5: need(8); value = view.getBigInt64(at); at += 8; break
      case 6:
      case 7: {
        need(2)
        const length = view.getUint16(at)
        at += 2
        need(length)
        const raw = bytes.subarray(at, at + length)
        value = type === 7 ? utf8.decode(raw) : raw.slice()
        at += length
        break
      }
      case 8: need(8); value = new Date(Number(view.getBigInt64(at))); at += 8; break
      case 9: need(16); value = bytes.slice(at, at + 16); at += 16; break
      default:
        throw new EventStreamError(`unknown event-stream header value type ${type} for header "${name}"`)
    }
    headers[name] = value
  }
  return headers
}

/**
 * Incremental event-stream decoder: `feed` each chunk as it arrives and get the messages it
 * completed; `end` when the body is done (bytes left over are a truncated message).
 * Throws {@link EventStreamError} on a CRC mismatch or a bad length.
 */
export class EventStreamDecoder {
  private buffer = new Uint8Array(0)

  /** Decodes every complete message in the bytes seen so far. */
  feed(chunk: Uint8Array, out: EventStreamMessage[] = []): EventStreamMessage[] {
    let bytes = chunk
    if (this.buffer.length > 0) {
      bytes = new Uint8Array(this.buffer.length + chunk.length)
      bytes.set(this.buffer)
      bytes.set(chunk, this.buffer.length)
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let at = 0
    while (bytes.length - at >= PRELUDE) {
      const total = view.getUint32(at)
      const headersLength = view.getUint32(at + 4)
      const preludeCrc = view.getUint32(at + 8)
      if (crc32(bytes, at, at + 8) !== preludeCrc) throw new EventStreamError('event-stream prelude CRC mismatch')
      if (total < OVERHEAD || total > MAX_MESSAGE || headersLength > total - OVERHEAD) {
        throw new EventStreamError(`event-stream message has an impossible length (total ${total}, headers ${headersLength})`)
      }
      if (bytes.length - at < total) break
      const messageCrc = view.getUint32(at + total - 4)
      if (crc32(bytes, at, at + total - 4) !== messageCrc) throw new EventStreamError('event-stream message CRC mismatch')
      const headersStart = at + PRELUDE
      const payloadStart = headersStart + headersLength
      out.push({ headers: readHeaders(bytes, headersStart, payloadStart), payload: bytes.slice(payloadStart, at + total - 4) })
      at += total
    }
    this.buffer = at === bytes.length ? new Uint8Array(0) : bytes.slice(at)
    return out
  }

  /** The body ended: throws when a message was cut off. */
  end(): void {
    if (this.buffer.length > 0) throw new EventStreamError(`the event stream ended inside a message (${this.buffer.length} bytes left over)`)
  }
}

/** The decoder as a `TransformStream` of raw chunks to messages (errors the stream on a bad frame). */
export function createEventStreamDecoder(): TransformStream<Uint8Array, EventStreamMessage> {
  const decoder = new EventStreamDecoder()
  return new TransformStream({
    transform(chunk, controller) {
      for (const message of decoder.feed(chunk)) controller.enqueue(message)
    },
    flush() {
      decoder.end()
    },
  })
}

const utf8Encoder = new TextEncoder()

/**
 * Encodes one message with string headers (what Bedrock sends: `:event-type`, `:content-type`,
 * `:message-type`, `:exception-type`). For tests and mock upstreams.
 */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? utf8Encoder.encode(payload) : payload
  const encodedHeaders: Uint8Array[] = []
  let headersLength = 0
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = utf8Encoder.encode(name)
    const valueBytes = utf8Encoder.encode(value)
    const header = new Uint8Array(1 + nameBytes.length + 1 + 2 + valueBytes.length)
    header[0] = nameBytes.length
    header.set(nameBytes, 1)
    header[1 + nameBytes.length] = 7
    new DataView(header.buffer).setUint16(2 + nameBytes.length, valueBytes.length)
    header.set(valueBytes, 4 + nameBytes.length)
    encodedHeaders.push(header)
    headersLength += header.length
  }
  const total = OVERHEAD + headersLength + body.length
  const message = new Uint8Array(total)
  const view = new DataView(message.buffer)
  view.setUint32(0, total)
  view.setUint32(4, headersLength)
  view.setUint32(8, crc32(message, 0, 8))
  let at = PRELUDE
  for (const header of encodedHeaders) {
    message.set(header, at)
    at += header.length
  }
  message.set(body, at)
  view.setUint32(total - 4, crc32(message, 0, total - 4))
  return message
}

/** A Bedrock stream event frame: `:event-type` `type`, JSON payload. For tests and mock upstreams. */
export function encodeBedrockEvent(type: string, payload: unknown): Uint8Array {
  return encodeEventStreamMessage({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify(payload))
}

/** A Bedrock exception frame (`:message-type: exception`), e.g. `throttlingException`. For tests and mock upstreams. */
export function encodeBedrockException(type: string, message: string): Uint8Array {
  return encodeEventStreamMessage({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' }, JSON.stringify({ message }))
}
