import { describe, expect, it } from 'vitest'
import { GatewayError } from '@switchyard/core'
import { boundaryOf, parseMultipart, spliceMultipartValue } from './multipart.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const BOUNDARY = '----formdata-undici-0123456789'
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`

/** A body as the WHATWG FormData serializer writes it (CRLF everywhere). */
function body(parts: Array<{ name: string; value: string | Uint8Array; filename?: string }>, boundary = BOUNDARY): Uint8Array {
  const chunks: Uint8Array[] = []
  for (const part of parts) {
    const disposition = `Content-Disposition: form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"\r\nContent-Type: application/octet-stream` : ''}`
    chunks.push(encoder.encode(`--${boundary}\r\n${disposition}\r\n\r\n`), typeof part.value === 'string' ? encoder.encode(part.value) : part.value, encoder.encode('\r\n'))
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`))
  return new Uint8Array(Buffer.concat(chunks))
}

/** Bytes that look like a delimiter without the CRLF before it, and every byte value. */
const FILE = new Uint8Array([...encoder.encode(`--${BOUNDARY}\r\nnot a part`), ...Array.from({ length: 256 }, (_, i) => i), 13, 10, 45, 45])

const refused = (run: () => unknown, message: string) => {
  let caught: unknown
  try {
    run()
  } catch (error) {
    caught = error
  }
  expect(GatewayError.is(caught), String(caught)).toBe(true)
  expect((caught as GatewayError).status).toBe(400)
  expect((caught as GatewayError).message).toBe(message)
}

describe('parseMultipart', () => {
  it('text fields, file names and value ranges; file bytes are never decoded', () => {
    const bytes = body([{ name: 'image', value: FILE, filename: 'a.png' }, { name: 'model', value: 'openai/gpt-image-1' }, { name: 'prompt', value: 'héllo\r\nworld' }])
    const form = parseMultipart(bytes, TYPE)
    expect(form.fields).toEqual({ model: 'openai/gpt-image-1', prompt: 'héllo\r\nworld' })
    expect(form.files).toEqual(['image'])
    expect(decoder.decode(bytes.subarray(form.ranges.model!.start, form.ranges.model!.end))).toBe('openai/gpt-image-1')
  })

  it('repeated names: several files, several values in order', () => {
    const form = parseMultipart(body([{ name: 'image[]', value: FILE, filename: 'a.png' }, { name: 'image[]', value: FILE, filename: 'b.png' }, { name: 'include[]', value: 'logprobs' }, { name: 'include[]', value: 'x' }]), TYPE)
    expect(form.files).toEqual(['image[]', 'image[]'])
    expect(form.fields['include[]']).toEqual(['logprobs', 'x'])
  })

  it('a quoted boundary, a preamble, `filename*`, and unquoted names', () => {
    const boundary = 'a+b(c)?'
    const raw = `preamble text\r\n--${boundary}\r\nContent-Disposition: form-data; name=model\r\n\r\nwhisper-1\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''r%C3%A9sum%C3%A9.wav\r\n\r\nRIFF\r\n--${boundary}--`
    const form = parseMultipart(encoder.encode(raw), `multipart/form-data; boundary="${boundary}"`)
    expect(form.fields).toEqual({ model: 'whisper-1' })
    expect(form.files).toEqual(['file'])
  })

  it('an empty text value', () => {
    expect(parseMultipart(body([{ name: 'prompt', value: '' }]), TYPE).fields).toEqual({ prompt: '' })
  })

  it('refuses what is not a well-formed multipart body with a 400', () => {
    refused(() => parseMultipart(body([]), 'application/json'), 'expected a multipart/form-data body, got content-type application/json')
    refused(() => parseMultipart(body([]), undefined), 'expected a multipart/form-data body, got no content-type')
    refused(() => parseMultipart(body([]), 'multipart/form-data'), 'malformed multipart/form-data body: the content type has no valid boundary')
    refused(() => parseMultipart(encoder.encode('hello'), TYPE), 'malformed multipart/form-data body: no opening boundary')
    refused(() => parseMultipart(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue`), TYPE), 'malformed multipart/form-data body: no closing boundary')
    refused(() => parseMultipart(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"`), TYPE), 'malformed multipart/form-data body: a part has no blank line after its headers')
    refused(() => parseMultipart(encoder.encode(`--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--`), TYPE), 'malformed multipart/form-data body: a part has no Content-Disposition: form-data header')
    refused(() => parseMultipart(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${BOUNDARY}--`), TYPE), 'malformed multipart/form-data body: a part has no name')
    refused(() => parseMultipart(encoder.encode(`--${BOUNDARY}\nContent-Disposition: form-data; name="a"\n\nx\n--${BOUNDARY}--`), TYPE), 'malformed multipart/form-data body: a boundary is not followed by a line break')
  })

  it('boundaryOf reads the parameter among others', () => {
    expect(boundaryOf('multipart/form-data; charset=utf-8; boundary=XyZ')).toBe('XyZ')
    expect(boundaryOf('Multipart/Form-Data;boundary="q w"')).toBe('q w')
  })
})

describe('spliceMultipartValue', () => {
  it('replaces only the value: every other byte, the file included, stays', () => {
    const bytes = body([{ name: 'image', value: FILE, filename: 'a.png' }, { name: 'model', value: 'openai/gpt-image-1' }])
    const form = parseMultipart(bytes, TYPE)
    const spliced = spliceMultipartValue(bytes, form.ranges.model!, 'gpt-image-1')
    expect(Buffer.from(spliced).equals(Buffer.from(body([{ name: 'image', value: FILE, filename: 'a.png' }, { name: 'model', value: 'gpt-image-1' }])))).toBe(true)
    expect(parseMultipart(spliced, TYPE).fields.model).toBe('gpt-image-1')
  })

  it('the same value: the original bytes, not a copy', () => {
    const bytes = body([{ name: 'model', value: 'whisper-1' }])
    expect(spliceMultipartValue(bytes, parseMultipart(bytes, TYPE).ranges.model!, 'whisper-1')).toBe(bytes)
  })
})
