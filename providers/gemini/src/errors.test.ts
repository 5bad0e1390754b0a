import { describe, expect, it } from 'vitest'
import { GatewayError } from '@switchyard/core'
import { recording } from '../test/fixtures.js'
import { parseGeminiError, parseGeminiStreamError, renderGeminiError, scrubGeminiSecrets } from './errors.js'

const context = { providerId: 'gemini', key: { value: 'AIzaSyTestKey0123456789abcdefghijklmno', models: [], weight: 1 } }

describe('parseGeminiError', () => {
  it('keeps the status and Google\'s status name (recorded 404)', () => {
    const recorded = recording('stream-error-model-not-found.recording.json')[0]!.response
    const error = parseGeminiError(recorded.statusCode, JSON.stringify(recorded.bodySegments[0]), new Headers(recorded.headers), context)
    expect(error).toMatchObject({ status: 404, code: 'not_found', type: 'NOT_FOUND', retryable: false, provider: 'gemini' })
    expect(error.message).toMatch(/^\[gemini\] models\/custom-gemini-2.0-flash is not found/)
  })

  it('makes 429 RESOURCE_EXHAUSTED retryable, with RetryInfo as retry-after', () => {
    const error = parseGeminiError(429, '{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12.5s"}]}}', new Headers(), context)
    expect(error).toMatchObject({ status: 429, code: 'rate_limit', retryable: true, headers: { 'retry-after': '13' } })
  })

  it('reads an error array, a non-JSON body, and never repeats a key', () => {
    expect(parseGeminiError(503, '[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]', new Headers(), context)).toMatchObject({ status: 503, type: 'UNAVAILABLE', retryable: true, message: '[gemini] overloaded' })
    expect(parseGeminiError(502, '<html>Bad Gateway</html>', new Headers(), context).message).toBe('[gemini] <html>Bad Gateway</html>')
    const leaked = parseGeminiError(400, `{"error":{"code":400,"message":"API key ${context.key.value} not valid","status":"INVALID_ARGUMENT"}}`, new Headers(), context)
    expect(leaked.message).not.toContain(context.key.value)
    expect(leaked.upstream?.body).not.toContain(context.key.value)
    expect(scrubGeminiSecrets('token ya29.a0AfB_byC-abcdefghijkl and AIzaSyAnotherKey123456789')).toBe('token ya29.*** and AIza***')
  })

  it('maps errors inside a stream by their code or status name', () => {
    expect(parseGeminiStreamError({ error: { status: 'UNAVAILABLE', message: 'x' } }, '', 'gemini').status).toBe(503)
    expect(parseGeminiStreamError({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'x' } }, '', 'gemini')).toMatchObject({ status: 400, retryable: false })
    expect(parseGeminiStreamError({ error: {} }, '', 'gemini').status).toBe(502)
  })
})

describe('renderGeminiError', () => {
  it.each([
    [400, 'INVALID_ARGUMENT'], [401, 'UNAUTHENTICATED'], [403, 'PERMISSION_DENIED'], [404, 'NOT_FOUND'], [429, 'RESOURCE_EXHAUSTED'], [500, 'INTERNAL'], [503, 'UNAVAILABLE'], [504, 'DEADLINE_EXCEEDED'],
  ])('%i -> %s, status kept', async (status, name) => {
    const response = renderGeminiError(new GatewayError({ status, code: 'x', message: 'm' }))
    expect(response.status).toBe(status)
    expect(await response.json()).toEqual({ error: { code: status, message: 'm', status: name } })
  })

  it('keeps Google\'s own status name and retry-after', async () => {
    const response = renderGeminiError(new GatewayError({ status: 429, code: 'rate_limit', message: 'm', type: 'RESOURCE_EXHAUSTED', headers: { 'retry-after': '3' } }))
    expect(response.headers.get('retry-after')).toBe('3')
    expect((await response.json()).error.status).toBe('RESOURCE_EXHAUSTED')
  })
})
