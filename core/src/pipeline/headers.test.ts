import { describe, expect, it } from 'vitest'
import { parseConfig } from '../config.js'
import { directKeyOf, forwardableHeaders } from './headers.js'

const pick = (client: Record<string, unknown>, headers: Record<string, string>) => forwardableHeaders(parseConfig({ client }))(new Headers(headers))

describe('forwardableHeaders', () => {
  const caller = {
    'anthropic-beta': 'tools-2024',
    'openai-organization': 'org-1',
    'x-custom': 'yes',
    authorization: 'Bearer caller',
    'x-api-key': 'caller',
    'api-key': 'caller',
    'x-goog-api-key': 'caller',
    cookie: 'a=b',
    'x-amz-security-token': 'tok',
    connection: 'keep-alive',
    'transfer-encoding': 'chunked',
    'proxy-authorization': 'Basic x',
    'x-bf-vk': 'vk_1',
  }

  it('forwards nothing without an allowlist', () => {
    expect(pick({}, caller)).toBeUndefined()
  })

  it('forwards the allowlist minus the denylist, case-insensitively', () => {
    expect(pick({ header_filter_config: { allowlist: ['Anthropic-Beta', 'x-custom', 'openai-organization'], denylist: ['X-Custom'] } }, caller)).toEqual({ 'anthropic-beta': 'tools-2024', 'openai-organization': 'org-1' })
  })

  it('never forwards credentials of any provider, hop-by-hop headers or x-bf-*, even when allow-listed', () => {
    const allowlist = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'x-amz-security-token', 'connection', 'transfer-encoding', 'proxy-authorization', 'x-bf-vk', 'host', 'content-length']
    expect(pick({ header_filter_config: { allowlist } }, caller)).toBeUndefined()
  })

  it('skips allow-listed headers the caller did not send', () => {
    expect(pick({ header_filter_config: { allowlist: ['x-custom', 'x-absent'] } }, caller)).toEqual({ 'x-custom': 'yes' })
  })
})

describe('directKeyOf', () => {
  it('reads a bearer token, x-api-key or x-goog-api-key', () => {
    expect(directKeyOf(new Headers({ authorization: 'Bearer sk-1 ' }))).toBe('sk-1')
    expect(directKeyOf(new Headers({ 'x-api-key': 'sk-ant' }))).toBe('sk-ant')
    expect(directKeyOf(new Headers({ 'x-goog-api-key': 'g' }))).toBe('g')
    expect(directKeyOf(new Headers({ authorization: 'Basic abc' }))).toBeUndefined()
  })
})
