import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from './config.js'
import { GatewayError } from './errors.js'
import { createGateway } from './gateway.js'
import { defineProvider, type UpstreamRequest } from './provider.js'
import { registerProvider, sendUpstream } from './router.js'

/** The core's provider-facing config hooks: provider-specific key members, `env.` in options, `validateConfig`, `upstream.sign`. */

describe('provider-specific config', () => {
  it('keeps extra key members and resolves env references in them and in options', () => {
    const config = parseConfig({
      providers: {
        azure: {
          keys: [{ value: 'env.KEY', azure_key_config: { endpoint: 'env.ENDPOINT', deployments: { a: 'b' } } }],
          options: { region: 'env.REGION', hosts: ['env.HOST', 'env.example.com'], nested: { token: 'env.TOKEN' }, literal: 'us-east-1' },
        },
      },
    }, { KEY: 'k', ENDPOINT: 'https://e.example', REGION: 'eu-west-1', HOST: 'h', TOKEN: 't' })
    const azure = config.providers.azure!
    expect(azure.keys[0]).toEqual({ value: 'k', models: [], weight: 1, azure_key_config: { endpoint: 'https://e.example', deployments: { a: 'b' } } })
    // `env.example.com` is not a variable reference (not `env.` + an identifier): left as written.
    expect(azure.options).toEqual({ region: 'eu-west-1', hosts: ['h', 'env.example.com'], nested: { token: 't' }, literal: 'us-east-1' })
  })

  it('a missing variable stops the start with the path of the field', () => {
    expect(() => parseConfig({ providers: { bedrock: { options: { secret_access_key: 'env.NOPE' }, keys: [{ value: 'v', extra: { x: 'env.ALSO_NOPE' } }] } } }, {}))
      .toThrow(expect.objectContaining({ issues: ['providers.bedrock.options.secret_access_key: environment variable NOPE is not set', 'providers.bedrock.keys[0].extra.x: environment variable ALSO_NOPE is not set'] }))
  })
})

describe('ProviderDefinition.validateConfig', () => {
  const strict = defineProvider({
    id: 'strict',
    spec: 1,
    requiresKey: false,
    validateConfig: (config) => (config.options?.mode === 'fast' ? [] : ['options.mode: must be "fast"']),
    invoke: { chat: () => Promise.reject(new Error('not called')) },
  })

  it("stops the gateway's start with a ConfigError naming providers.<id>.<path>", () => {
    const config = parseConfig({ providers: { strict: { options: { mode: 'slow' } } } })
    expect(() => createGateway({ config, providers: [strict] })).toThrow(ConfigError)
    expect(() => createGateway({ config, providers: [strict] })).toThrow('providers.strict.options.mode: must be "fast"')
    expect(() => createGateway({ config: parseConfig({ providers: { strict: { options: { mode: 'fast' } } } }), providers: [strict] })).not.toThrow()
  })
})

describe('upstream.sign', () => {
  it('runs on every attempt, after extra_headers, right before fetch; a retry is signed afresh', async () => {
    const signed: Array<Record<string, string>> = []
    let attempt = 0
    const provider = defineProvider({
      id: 'signing',
      spec: 1,
      upstream: {
        error: (status) => new GatewayError({ status, code: 'upstream', message: `failed ${status}` }),
        sign: async (request: UpstreamRequest) => {
          signed.push(request.headers)
          return { ...request, headers: { ...request.headers, authorization: `signature-${++attempt}` } }
        },
      },
    })
    const registered = registerProvider('signing', provider, parseConfig({ providers: { signing: { keys: [{ value: 'k' }], network_config: { extra_headers: { 'x-extra': '1' }, max_retries: 1, retry_backoff_initial_ms: 0, retry_backoff_max_ms: 0 } } } }).providers.signing!)
    const seen: Array<Record<string, string>> = []
    const fetcher = (async (_url: string, init: RequestInit) => {
      seen.push(init.headers as Record<string, string>)
      return new Response('{}', { status: seen.length === 1 ? 500 : 200 })
    }) as unknown as typeof fetch
    const sent = await sendUpstream({
      route: { provider: registered, model: 'm' },
      directKey: undefined,
      signal: new AbortController().signal,
      fetch: fetcher,
      build: (context) => ({ url: 'https://upstream.invalid/x', headers: { 'content-type': 'application/json', key: context.key!.value }, body: '{}' }),
    })
    sent.settle()
    expect(signed).toEqual([{ 'content-type': 'application/json', key: 'k', 'x-extra': '1' }, { 'content-type': 'application/json', key: 'k', 'x-extra': '1' }])
    expect(seen.map((headers) => headers.authorization)).toEqual(['signature-1', 'signature-2'])
  })

  it('a GatewayError from sign fails the call with nothing sent', async () => {
    const provider = defineProvider({
      id: 'unsigned',
      spec: 1,
      upstream: {
        error: (status) => new GatewayError({ status, code: 'upstream', message: `failed ${status}` }),
        sign: () => Promise.reject(new GatewayError({ status: 500, code: 'internal', message: 'no credentials', retryable: false })),
      },
    })
    const registered = registerProvider('unsigned', provider, parseConfig({ providers: { unsigned: { keys: [{ value: 'k' }] } } }).providers.unsigned!)
    let fetched = 0
    const fetcher = (async () => {
      fetched++
      return new Response('{}')
    }) as unknown as typeof fetch
    await expect(sendUpstream({ route: { provider: registered, model: 'm' }, directKey: undefined, signal: new AbortController().signal, fetch: fetcher, build: () => ({ url: 'https://upstream.invalid/x', headers: {} }) }))
      .rejects.toMatchObject({ status: 500, message: 'no credentials' })
    expect(fetched).toBe(0)
  })
})
