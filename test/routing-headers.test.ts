import { describe, expect, it } from 'vitest'
import { fault, type FaultRequest } from './support/fault-upstream.js'
import { CALLER_KEY } from './support/gateway.js'
import { anthropicProvider, drain, hello, openaiProvider, useRouting } from './support/routing.js'

/**
 * Header handling: `client.header_filter_config` allowlist/denylist decides which caller headers go
 * upstream. Hop-by-hop headers, `x-bf-*` and credentials never do, on the first attempt, on
 * retries, and on a fallback to another provider (which gets its own credential and nothing of the
 * first provider's).
 */

const r = useRouting(['first', 'second'])

const callerHeaders = {
  'x-trace-id': 'trace-1',
  'x-team': 'blue',
  'x-denied': 'nope',
  'x-not-listed': 'nope',
  'x-bf-vk': 'sk-bf-virtual',
  'x-bf-secret': 'internal',
  'x-api-key': 'sk-callers-anthropic-key',
  'api-key': 'sk-callers-azure-key',
  'x-goog-api-key': 'callers-google-key',
  cookie: 'session=abc',
  'proxy-authorization': 'Basic Y2FsbGVyOnB3',
  te: 'trailers',
}
const filter = {
  allowlist: ['x-trace-id', 'x-team', 'x-denied', 'x-bf-vk', 'x-bf-secret', 'authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'proxy-authorization', 'te', 'connection'],
  denylist: ['x-denied'],
}

/** Only allow-listed, non-denied, non-credential, non-x-bf headers of the caller arrived; the provider's own key did. */
function expectFiltered(request: FaultRequest, ownKey: string): void {
  expect(request.headers['x-trace-id']).toBe('trace-1')
  expect(request.headers['x-team']).toBe('blue')
  expect(request.headers['x-denied']).toBeUndefined()
  expect(request.headers['x-not-listed']).toBeUndefined()
  expect(Object.keys(request.headers).filter((name) => name.startsWith('x-bf-'))).toEqual([])
  expect(request.headers.cookie).toBeUndefined()
  expect(request.headers['api-key']).toBeUndefined()
  expect(request.headers['x-goog-api-key']).toBeUndefined()
  expect(request.headers['proxy-authorization']).toBeUndefined()
  expect(request.headers.te).toBeUndefined()
  expect(request.key).toBe(ownKey)
  const all = JSON.stringify(request.headers)
  for (const secret of [CALLER_KEY, 'sk-callers-anthropic-key', 'sk-callers-azure-key', 'callers-google-key', 'session=abc', 'sk-bf-virtual']) expect(all).not.toContain(secret)
}

describe('header filter', () => {
  it('allowlist minus denylist reaches the upstream; x-bf-*, credentials and hop-by-hop never do (non-stream and stream)', async () => {
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.first, { keys: ['sk-first'] }) }, client: { header_filter_config: filter } })
    await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { headers: callerHeaders })
    await drain(await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true }, { headers: callerHeaders }))
    expect(r.up.first.requests).toHaveLength(2)
    for (const request of r.up.first.requests) {
      expectFiltered(request, 'sk-first')
      expect(request.headers.authorization).toBe('Bearer sk-first')
      expect(request.headers['x-api-key']).toBeUndefined()
    }
  })

  it('without an allowlist no caller header is forwarded', async () => {
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.first, { keys: ['sk-first'] }) } })
    await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { headers: callerHeaders })
    const [request] = r.up.first.requests
    for (const name of Object.keys(callerHeaders)) if (name !== 'te') expect(request!.headers[name], name).toBeUndefined()
    expect(request!.key).toBe('sk-first')
  })

  it('retries carry the same filtered headers', async () => {
    r.up.first.script({}, fault.status(503))
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.first, { keys: ['sk-first'], network: { max_retries: 1, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 5 } }) }, client: { header_filter_config: filter } })
    await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { headers: callerHeaders })
    expect(r.up.first.requests).toHaveLength(2)
    for (const request of r.up.first.requests) expectFiltered(request, 'sk-first')
  })

  it('a fallback to another provider gets its own key, the filtered caller headers, and no credential of the first provider', async () => {
    r.up.first.always({}, fault.status(500))
    const gateway = await r.launch({
      providers: {
        openai: openaiProvider(r.up.first, { keys: ['sk-first'], extra: { fallbacks: ['second/gpt-4o-mini', 'anthropic/claude-sonnet-4-5'] } }),
        second: openaiProvider(r.up.second, { keys: ['sk-second'], extra: { package: '@switchyard/provider-openai' } }),
        anthropic: anthropicProvider(r.up.second.url, { keys: ['sk-ant-second'] }),
      },
      client: { header_filter_config: filter },
    })
    r.up.second.script({ path: '/v1/chat/completions' }, fault.status(500))
    const { response } = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { headers: callerHeaders }).withResponse()
    expect(response.headers.get('x-bf-provider')).toBe('anthropic')
    const [openaiFallback, anthropicFallback] = r.up.second.requests
    expectFiltered(openaiFallback!, 'sk-second')
    expect(JSON.stringify(openaiFallback!.headers)).not.toContain('sk-first')
    expectFiltered(anthropicFallback!, 'sk-ant-second')
    expect(anthropicFallback!.headers['x-api-key']).toBe('sk-ant-second')
    expect(anthropicFallback!.headers.authorization).toBeUndefined()
    expect(JSON.stringify(anthropicFallback!.headers)).not.toContain('sk-first')
    expect(JSON.stringify(anthropicFallback!.headers)).not.toContain('sk-second')
  })

  it('network_config.extra_headers are added to every upstream request', async () => {
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.first, { network: { extra_headers: { 'x-org-tag': 'switchyard-tests' } } }) } })
    await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    expect(r.up.first.requests[0]!.headers['x-org-tag']).toBe('switchyard-tests')
  })
})
