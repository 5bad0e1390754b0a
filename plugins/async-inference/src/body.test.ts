import { describe, expect, it } from 'vitest'
import { bodyOf, isTextual, storeBody } from './body.js'
import { storedResponse } from './dialect.js'
import type { JobResult } from './job.js'

describe('stored bodies', () => {
  it('JSON and text stay text; anything else is base64, and comes back byte for byte', async () => {
    expect(isTextual('application/json; charset=utf-8')).toBe(true)
    expect(isTextual('application/vnd.api+json')).toBe(true)
    expect(isTextual('text/event-stream')).toBe(true)
    expect(isTextual('audio/mpeg')).toBe(false)
    expect(isTextual('multipart/form-data; boundary=x')).toBe(false)
    expect(isTextual(null)).toBe(false)

    const json = new TextEncoder().encode('{"text":"héllo ✓"}')
    expect(storeBody(json, 'application/json')).toEqual({ body: '{"text":"héllo ✓"}' })

    // Every byte value, and more than one slice of the encoder.
    const bytes = new Uint8Array(200_000).map((_, index) => (index * 7) % 256)
    const stored = storeBody(bytes, 'audio/mpeg')
    expect(stored.encoding).toBe('base64')
    expect(bodyOf(stored)).toEqual(bytes)

    const result = { id: 'job_x', status: 'completed', response: { status: 200, headers: { 'content-type': 'audio/mpeg' }, ...stored } } as unknown as JobResult
    const response = storedResponse(result)
    expect(response.headers.get('content-type')).toBe('audio/mpeg')
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes)
  })
})
