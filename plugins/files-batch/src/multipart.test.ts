import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { dispositionParam, formBoundary, readFormParts, readTextPart } from './multipart.js'

/** The bytes and content type a real client (undici's FormData) sends for `form`. */
async function encode(form: FormData): Promise<{ bytes: Uint8Array; contentType: string }> {
  const request = new Request('http://x', { method: 'POST', body: form })
  return { bytes: new Uint8Array(await request.arrayBuffer()), contentType: request.headers.get('content-type')! }
}

/** `bytes` as a stream cut at the given offsets. */
function chunked(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let last = 0
  for (const point of [...points, bytes.length]) {
    if (point > last) pieces.push(bytes.slice(last, point))
    last = Math.max(last, point)
  }
  let index = 0
  return new ReadableStream({
    pull(controller) {
      if (index < pieces.length) controller.enqueue(pieces[index++]!)
      else controller.close()
    },
  })
}

async function parse(stream: ReadableStream<Uint8Array>, boundary: string) {
  const parts: Array<{ name: string; filename?: string; contentType?: string; bytes: Uint8Array }> = []
  for await (const part of readFormParts(stream, boundary)) {
    const bytes = new Uint8Array(await new Response(part.body).arrayBuffer())
    parts.push({ name: part.name, ...(part.filename !== undefined ? { filename: part.filename } : {}), ...(part.contentType ? { contentType: part.contentType } : {}), bytes })
  }
  return parts
}

describe('readFormParts', () => {
  it("reads what undici's FormData sends, however the body is cut, bytes unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(4000), { maxLength: 30 }), async (text, file, cuts) => {
        const form = new FormData()
        form.append('purpose', text)
        form.append('file', new Blob([file], { type: 'application/octet-stream' }), 'data.bin')
        form.append('provider', 'gemini')
        const { bytes, contentType } = await encode(form)
        const parts = await parse(chunked(bytes, cuts), formBoundary(contentType))
        expect(parts.map((part) => part.name)).toEqual(['purpose', 'file', 'provider'])
        expect(new TextDecoder().decode(parts[0]!.bytes)).toBe(text.replace(/\r(?!\n)|(?<!\r)\n/g, '\r\n'))
        expect(parts[1]).toMatchObject({ filename: 'data.bin', contentType: 'application/octet-stream' })
        expect(Buffer.from(parts[1]!.bytes).equals(Buffer.from(file))).toBe(true)
        expect(new TextDecoder().decode(parts[2]!.bytes)).toBe('gemini')
      }),
      { numRuns: 60 },
    )
  })

  it('keeps file bytes that look like the boundary', async () => {
    const boundary = 'XyZ'
    // A compliant sender never has CRLF + "--" + boundary inside a part; anything short of it is content.
    const file = 'a--XyZ b\r\n-XyZ\n--XyZ\r\n--Xy\r\n--'
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n${file}\r\n--${boundary}--\r\n`
    const parts = await parse(chunked(new TextEncoder().encode(body), [1, 7, 30, 31, 60]), boundary)
    expect(new TextDecoder().decode(parts[0]!.bytes)).toBe(file)
  })

  it('skips a part the reader did not read', async () => {
    const form = new FormData()
    form.append('file', new Blob(['x'.repeat(10_000)]), 'big.txt')
    form.append('purpose', 'batch')
    const { bytes, contentType } = await encode(form)
    const names: string[] = []
    for await (const part of readFormParts(chunked(bytes, [100, 5000]), formBoundary(contentType))) {
      names.push(part.name)
      if (part.name === 'purpose') expect(await readTextPart(part, 100)).toBe('batch')
    }
    expect(names).toEqual(['file', 'purpose'])
  })

  it('refuses bodies that are not well-formed, with a 400 naming the problem', async () => {
    const cases: Array<[string, string]> = [
      ['--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue', 'the body ended inside a part'],
      ['no boundary here', 'no boundary found'],
      ['--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--', 'no "Content-Disposition: form-data" header'],
      ['--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--', 'a part has no name'],
      ['--b\r\nContent-Disposition: form-data; name="a"', "the body ended inside a part's headers"],
      ['--b', 'the body ended before the closing boundary'],
    ]
    for (const [body, problem] of cases) {
      const error = await parse(chunked(new TextEncoder().encode(body), []), 'b').catch((caught: unknown) => caught)
      expect(error, body).toMatchObject({ status: 400, message: expect.stringContaining(problem) })
    }
  })

  it('limits header blocks, parts and text fields', async () => {
    const header = `--b\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\nx\r\n--b--`
    await expect(parse(chunked(new TextEncoder().encode(header), []), 'b')).rejects.toMatchObject({ status: 400, message: expect.stringContaining('headers are longer') })
    const many = `${'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'.repeat(101)}--b--`
    await expect(parse(chunked(new TextEncoder().encode(many), []), 'b')).rejects.toMatchObject({ message: expect.stringContaining('more than 100 parts') })
    const long = `--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${'x'.repeat(200)}\r\n--b--`
    const reading = (async () => {
      for await (const part of readFormParts(chunked(new TextEncoder().encode(long), []), 'b')) await readTextPart(part, 100)
    })()
    await expect(reading).rejects.toMatchObject({ status: 400, message: 'form field "purpose" is longer than 100 bytes' })
  })
})

describe('form headers', () => {
  it('reads boundaries and disposition parameters, RFC 5987 file names included', () => {
    expect(formBoundary('multipart/form-data; boundary="a b"')).toBe('a b')
    expect(() => formBoundary('application/json')).toThrow('expected a multipart/form-data body')
    expect(() => formBoundary('multipart/form-data')).toThrow('no valid boundary')
    expect(dispositionParam('form-data; name="file"; filename="a\\"b.jsonl"', 'filename')).toBe('a"b.jsonl')
    expect(dispositionParam("form-data; name=file; filename=x.bin; filename*=UTF-8''na%C3%AFve.jsonl", 'filename')).toBe('naïve.jsonl')
    expect(dispositionParam('form-data; name=purpose', 'name')).toBe('purpose')
    expect(dispositionParam('form-data; filename="f"', 'name')).toBeUndefined()
  })
})
