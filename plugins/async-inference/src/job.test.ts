import { GatewayError } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import { createJobId, credentialOf, isJobId, mayRead, parseAsyncFlag, parseResultTtl, storedHeaders } from './job.js'
import { resolveOptions } from './options.js'

describe('job ids', () => {
  it('are prefixed, 32 base64url characters of randomness, unique, and safe in paths and keys', () => {
    const ids = new Set(Array.from({ length: 2_000 }, () => createJobId()))
    expect(ids.size).toBe(2_000)
    for (const id of ids) {
      expect(id).toMatch(/^job_[A-Za-z0-9_-]{32}$/)
      expect(isJobId(id)).toBe(true)
      expect(encodeURIComponent(id)).toBe(id)
    }
  })

  it('anything else is not a job id', () => {
    for (const id of ['', 'job_', 'job_short', `job_${'A'.repeat(33)}`, `job_${'A'.repeat(31)}/`, `job_${'A'.repeat(30)}..`, `msg_${'A'.repeat(32)}`, `job_${'A'.repeat(31)}:`]) expect(isJobId(id)).toBe(false)
  })
})

describe('headers', () => {
  it('x-bf-async: true/1 submit, false/0/empty do not, anything else is a 400', () => {
    expect(parseAsyncFlag('true')).toBe(true)
    expect(parseAsyncFlag(' TRUE ')).toBe(true)
    expect(parseAsyncFlag('1')).toBe(true)
    expect(parseAsyncFlag('false')).toBe(false)
    expect(parseAsyncFlag('0')).toBe(false)
    expect(parseAsyncFlag('')).toBe(false)
    expect(parseAsyncFlag(null)).toBe(false)
    expect(() => parseAsyncFlag('yes')).toThrowError(GatewayError)
  })

  it('x-bf-async-job-result-ttl: whole seconds within the maximum, else a 400 naming the range', () => {
    expect(parseResultTtl(null, 3600, 86_400)).toBe(3600)
    expect(parseResultTtl('60', 3600, 86_400)).toBe(60)
    expect(parseResultTtl(' 86400 ', 3600, 86_400)).toBe(86_400)
    for (const bad of ['0', '-5', '1.5', '86401', '1e3', 'abc', '', '99999999999999999']) {
      let caught: unknown
      try {
        parseResultTtl(bad, 3600, 86_400)
      } catch (error) {
        caught = error
      }
      expect(GatewayError.is(caught) && caught.status === 400 && caught.message.includes('from 1 to 86400')).toBe(true)
    }
  })

  it('a job keeps the caller headers but not x-bf-async* or hop-by-hop ones', () => {
    const headers = new Headers({ authorization: 'Bearer k', 'x-bf-async': 'true', 'x-bf-async-job-result-ttl': '9', 'content-length': '12', host: 'gw', connection: 'keep-alive', 'anthropic-version': '2023-06-01', 'x-bf-vk': 'sk-bf-1', 'x-custom': 'kept' })
    expect(Object.fromEntries(storedHeaders(headers))).toEqual({ authorization: 'Bearer k', 'anthropic-version': '2023-06-01', 'x-bf-vk': 'sk-bf-1', 'x-custom': 'kept' })
  })
})

describe('ownership', () => {
  it('the credential hash covers the credential headers only, and is absent without any', async () => {
    const a = await credentialOf(new Headers({ authorization: 'Bearer one', 'x-other': '1' }))
    expect(a).toMatch(/^[0-9a-f]{64}$/)
    expect(await credentialOf(new Headers({ authorization: 'Bearer one', 'x-other': '2' }))).toBe(a)
    expect(await credentialOf(new Headers({ authorization: 'Bearer two' }))).not.toBe(a)
    expect(await credentialOf(new Headers({ authorization: 'Bearer one', 'x-bf-vk': 'v' }))).not.toBe(a)
    expect(await credentialOf(new Headers({ 'content-type': 'application/json' }))).toBeNull()
  })

  it('a virtual key on either side decides; otherwise the credentials must match; the native endpoints (vk unknown) compare credentials', () => {
    const owner = (vk: string | null, credential: string | null) => ({ vk, credential })
    // Virtual keys.
    expect(mayRead(owner('a', 'x'), { vk: 'a', credential: 'y' })).toBe(true)
    expect(mayRead(owner('a', 'x'), { vk: 'b', credential: 'x' })).toBe(false)
    expect(mayRead(owner('a', 'x'), { vk: null, credential: 'x' })).toBe(false)
    expect(mayRead(owner(null, 'x'), { vk: 'a', credential: 'x' })).toBe(false)
    // No virtual key on either side: credentials.
    expect(mayRead(owner(null, 'x'), { vk: null, credential: 'x' })).toBe(true)
    expect(mayRead(owner(null, 'x'), { vk: null, credential: 'y' })).toBe(false)
    expect(mayRead(owner(null, 'x'), { vk: null, credential: null })).toBe(false)
    expect(mayRead(owner(null, null), { vk: null, credential: null })).toBe(true)
    expect(mayRead(owner(null, null), { vk: null, credential: 'x' })).toBe(false)
    // Native endpoints: credentials only, whatever the virtual key was.
    expect(mayRead(owner('a', 'x'), { vk: undefined, credential: 'x' })).toBe(true)
    expect(mayRead(owner('a', 'x'), { vk: undefined, credential: 'y' })).toBe(false)
  })
})

describe('options', () => {
  it('defaults', () => {
    expect(resolveOptions(undefined)).toEqual({ concurrency: 8, resultTtlSeconds: 3600, maxResultTtlSeconds: 86_400, leaseMs: 30_000, scanIntervalMs: 5_000, sweepIntervalMs: 60_000, maxAttempts: 3, retryInterrupted: true, submitWaitMs: 0, keyPrefix: 'async-inference' })
  })

  it('a bad value stops the start, naming the field', () => {
    expect(() => resolveOptions({ concurrency: 0 })).toThrow(/config\.concurrency/)
    expect(() => resolveOptions({ concurrency: 1.5 })).toThrow(/config\.concurrency/)
    expect(() => resolveOptions({ result_ttl_seconds: 100, max_result_ttl_seconds: 50 })).toThrow(/config\.result_ttl_seconds/)
    expect(() => resolveOptions({ retry_interrupted: 'no' })).toThrow(/retry_interrupted/)
    expect(() => resolveOptions({ key_prefix: '../x' })).toThrow(/key_prefix/)
    expect(() => resolveOptions({ workers: 3 })).toThrow(/config\.workers is not an option/)
    expect(() => resolveOptions([])).toThrow(/must be an object/)
  })

  it('a maximum TTL below the default lowers the default', () => {
    expect(resolveOptions({ max_result_ttl_seconds: 600 }).resultTtlSeconds).toBe(600)
  })
})
