import { describe, expect, it } from 'vitest'
import { DEFAULT_ENDPOINT_ALLOWLIST } from './config.js'
import { checkCallerEndpoint, isPrivateHost, parseAllowlistPattern } from './endpoint.js'

const defaults = { allowlist: DEFAULT_ENDPOINT_ALLOWLIST, allowPrivate: false }
const refused = (endpoint: string, policy = defaults) => {
  try {
    checkCallerEndpoint(endpoint, policy)
  } catch (error) {
    return error as { status: number; param: string; message: string }
  }
  throw new Error(`${endpoint} was accepted`)
}

describe('checkCallerEndpoint with the default allowlist', () => {
  it('accepts Azure OpenAI and Cognitive Services resources, as a bare origin', () => {
    expect(checkCallerEndpoint('https://my-res.openai.azure.com', defaults)).toBe('https://my-res.openai.azure.com')
    expect(checkCallerEndpoint('https://My-Res.OpenAI.Azure.com/', defaults)).toBe('https://my-res.openai.azure.com')
    expect(checkCallerEndpoint('https://resource-name.cognitiveservices.azure.com', defaults)).toBe('https://resource-name.cognitiveservices.azure.com')
    expect(checkCallerEndpoint('https://my-res.openai.azure.com:443', defaults)).toBe('https://my-res.openai.azure.com')
    expect(checkCallerEndpoint('https://my-res.openai.azure.com.', defaults)).toBe('https://my-res.openai.azure.com')
  })

  it('refuses everything else with a 400 naming the header', () => {
    for (const endpoint of [
      'http://my-res.openai.azure.com', // not https
      'https://openai.azure.com', // no resource label
      'https://a.b.openai.azure.com', // * is one label
      'https://my-res.openai.azure.com.evil.example', // suffix trick
      'https://evil.example/.openai.azure.com', // path trick
      'https://my-res.openai.azure.com@evil.example', // user-info trick: the host is evil.example
      'https://user:pass@my-res.openai.azure.com', // credentials
      'https://my-res.openai.azure.com/openai/deployments', // a path
      'https://my-res.openai.azure.com/?x=1', // a query
      'https://my-res.openai.azure.com:8443', // another port
      'ftp://my-res.openai.azure.com',
      'file:///etc/passwd',
      'not a url',
      'https://169.254.169.254', // cloud metadata
    ]) {
      const error = refused(endpoint)
      expect(error.status, endpoint).toBe(400)
      expect(error.param, endpoint).toBe('x-bf-azure-endpoint')
    }
  })
})

describe('private and loopback addresses', () => {
  const everything = { allowlist: ['https://*', 'http://*:*', 'https://*.*', 'https://*.*.*.*', 'http://*.*.*.*:*', 'https://[::1]', 'https://[::ffff:7f00:1]', 'https://[fd00::1]', 'https://[fe80::1]', 'https://[2606:4700::1111]'], allowPrivate: false }

  it('refuses loopback, private, link-local and in-network names even when the allowlist matches', () => {
    for (const endpoint of [
      'https://127.0.0.1', 'https://10.1.2.3', 'https://172.16.0.1', 'https://192.168.1.1', 'https://169.254.169.254', 'https://0.0.0.0', 'https://100.64.0.1',
      'https://2130706433', 'https://0x7f.1', 'https://017700000001', // 127.0.0.1 in other spellings
      'https://[::1]', 'https://[::ffff:127.0.0.1]', 'https://[fd00::1]', 'https://[fe80::1]',
      'https://localhost', 'https://db.internal', 'https://printer.local', 'https://intranet', 'http://127.0.0.1:8080',
    ]) {
      expect(refused(endpoint, everything).message, endpoint).toMatch(/is a private, loopback or link-local address/)
    }
  })

  it('allows them only with allow_private_endpoints, and still only when allow-listed', () => {
    const local = { allowlist: ['http://127.0.0.1:*'], allowPrivate: true }
    expect(checkCallerEndpoint('http://127.0.0.1:43123', local)).toBe('http://127.0.0.1:43123')
    expect(refused('http://127.0.0.2:43123', local).message).toMatch(/is not allowed/)
    expect(refused('http://127.0.0.1:43123', { ...local, allowPrivate: false }).message).toMatch(/private/)
  })

  it('judges public addresses public', () => {
    expect(isPrivateHost('my-res.openai.azure.com')).toBe(false)
    expect(isPrivateHost('8.8.8.8')).toBe(false)
    expect(isPrivateHost('[2606:4700::1111]')).toBe(false)
    expect(isPrivateHost('172.32.0.1')).toBe(false)
    expect(checkCallerEndpoint('https://[2606:4700::1111]', everything)).toBe('https://[2606:4700::1111]')
  })
})

describe('parseAllowlistPattern', () => {
  it('reads scheme, labels and port; rejects partial wildcards and paths', () => {
    expect(parseAllowlistPattern('https://*.openai.azure.com')).toEqual({ scheme: 'https', labels: ['*', 'openai', 'azure', 'com'], port: undefined })
    expect(parseAllowlistPattern('http://127.0.0.1:*')).toEqual({ scheme: 'http', labels: ['127', '0', '0', '1'], port: '*' })
    expect(parseAllowlistPattern('https://my-*.openai.azure.com')).toBeUndefined()
    expect(parseAllowlistPattern('https://*.openai.azure.com/openai')).toBeUndefined()
    expect(parseAllowlistPattern('*.openai.azure.com')).toBeUndefined()
  })
})
