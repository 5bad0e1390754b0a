import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkGeminiId, checkOpenAIId, isMintedId, mintFileId } from './ids.js'
import { createBatchInputChecker } from './jsonl.js'
import { nestedField } from './upload.js'

const line = (id: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: 'héllo\n' }] } })

function check(text: string | Uint8Array, cuts: number[] = []) {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text
  const checker = createBatchInputChecker()
  let last = 0
  for (const cut of [...new Set(cuts.map((value) => value % (bytes.length + 1)))].sort((a, b) => a - b)) {
    checker.push(bytes.subarray(last, cut))
    last = cut
  }
  checker.push(bytes.subarray(last))
  return checker.end()
}

describe('batch input check', () => {
  it('accepts well-formed input however it is cut (multi-byte characters included), CRLF and a final newline too', async () => {
    const text = `${line('a')}\r\n${line('b')}\n\n${line('c')}\n`
    fc.assert(
      fc.property(fc.array(fc.nat(400), { maxLength: 20 }), (cuts) => {
        expect(check(text, cuts)).toEqual({ requests: 3, problem: undefined })
      }),
    )
  })

  it('names the first problem with its line', () => {
    expect(check(`${line('a')}\n${line('a')}`).problem).toBe('line 2: custom_id "a" is used twice (first on line 1); each request needs its own')
    expect(check(`${line('a')}\n{oops\n${line('a')}`).problem).toMatch(/^line 2: not valid JSON/)
    expect(check(`${line('a')}\n"text"`).problem).toBe('line 2: is not a JSON object')
    expect(check('{"custom_id":"a","method":"POST","url":"v1/chat","body":{}}').problem).toBe('line 1: url must be an endpoint path such as "/v1/chat/completions"')
    expect(check(new Uint8Array([0x7b, 0xff, 0xfe, 0x0a])).problem).toBe('line 1: not UTF-8 text')
    expect(check('').problem).toBe('the file has no requests (one JSON object per line)')
  })

  it('gives up on a binary file at once', () => {
    expect(check(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a])).problem).toBe('line 1: not UTF-8 text')
    expect(check(`%PDF-1.7${'x'.repeat(100_000)}`).problem).toBe('line 1: is not a JSON object')
  })
})

describe('file ids', () => {
  it('mints unguessable ids of one shape and checks ids from URLs', () => {
    const ids = new Set(Array.from({ length: 200 }, mintFileId))
    expect(ids.size).toBe(200)
    for (const id of ids) expect(isMintedId(id)).toBe(true)
    expect(checkOpenAIId('file-abc_123')).toBe('file-abc_123')
    for (const bad of ['../x', 'a/b', '', 'a b', 'x'.repeat(129), 'file-%2e']) expect(() => checkOpenAIId(bad), bad).toThrow(/invalid file id/)
    expect(checkGeminiId('files/abc-123')).toBe('abc-123')
    expect(checkGeminiId('abc-123')).toBe('abc-123')
    for (const bad of ['files/../x', 'files/ABC', 'files/-a', 'files/a/b', 'x'.repeat(41)]) expect(() => checkGeminiId(bad), bad).toThrow(/invalid file id/)
  })
})

describe('nested form fields', () => {
  it('reads extra_body objects as the OpenAI SDKs put them in a form, or as JSON text', () => {
    const bracketed = new Map([['storage_config[s3][bucket]', 'b'], ['storage_config[s3][prefix]', 'p/q'], ['purpose', 'batch']])
    expect(nestedField(bracketed, 'storage_config')).toEqual({ s3: { bucket: 'b', prefix: 'p/q' } })
    expect(nestedField(new Map([['storage_config', '{"s3":{"bucket":"b"}}']]), 'storage_config')).toEqual({ s3: { bucket: 'b' } })
    expect(nestedField(new Map([['purpose', 'batch']]), 'storage_config')).toBeUndefined()
    expect(() => nestedField(new Map([['storage_config', '[1]']]), 'storage_config')).toThrow('storage_config must be a JSON object')
    expect(() => nestedField(new Map([['storage_config[s3]x', 'b']]), 'storage_config')).toThrow('malformed form field')
    expect(() => nestedField(new Map([['storage_config[__proto__][polluted]', 'yes']]), 'storage_config')).toThrow('malformed form field')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
