import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { GatewayError, registerProvider, sendUpstream, type ChatRequest, type UpstreamContext } from '@switchyard/core'
import { json } from '../../gemini/test/fixtures.js'
import { fakeTokenEndpoint, makeServiceAccount, verifyJwt } from '../test/keys.js'
import { VertexTokenCache } from './auth.js'
import { createVertexProvider, validateVertexConfig, vertexCountTokensRequest } from './index.js'

const request: ChatRequest = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], extra: {} }
let serviceAccount: Awaited<ReturnType<typeof makeServiceAccount>>

beforeAll(async () => {
  serviceAccount = await makeServiceAccount()
})
afterEach(() => {
  vi.unstubAllGlobals()
})

const contextWith = (key: string | undefined, options?: Record<string, unknown>, more: Partial<UpstreamContext> = {}): UpstreamContext => ({
  providerId: 'vertex',
  key: key === undefined ? undefined : { value: key, models: [], weight: 1 },
  baseURL: '',
  config: { keys: [], options },
  signal: new AbortController().signal,
  ...more,
})

describe('vertex provider: credentials and URLs', () => {
  const vertex = createVertexProvider()

  it('takes project and region from options, and sends an access token as a bearer', () => {
    const built = vertex.upstream.chat.request(request, contextWith('ya29.static-token', { project: 'p1', region: 'europe-west4' }))
    expect(built.url).toBe('https://europe-west4-aiplatform.googleapis.com/v1/projects/p1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent')
    expect(built.headers).toEqual({ 'content-type': 'application/json', authorization: 'Bearer ya29.static-token', accept: 'application/json' })
    expect(JSON.parse(built.body as string)).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] })
  })

  it('reads the project from a service-account key, defaults to the global region, and leaves auth to sign', () => {
    const built = vertex.upstream.chat.request({ ...request, stream: true }, contextWith(serviceAccount.json))
    expect(built.url).toBe('https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse')
    expect(built.headers.authorization).toBeUndefined()
  })

  it('uses options.access_token or options.service_account when there is no key', () => {
    expect(vertex.upstream.chat.request(request, contextWith(undefined, { project: 'p', access_token: 'ya29.opt' })).headers.authorization).toBe('Bearer ya29.opt')
    const built = vertex.upstream.chat.request(request, contextWith(undefined, { service_account: JSON.parse(serviceAccount.json), region: 'us-east5' }))
    expect(built.url).toBe('https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent')
  })

  it('sends any other key as an express-mode API key, with no project in the URL', () => {
    const built = vertex.upstream.chat.request(request, contextWith('AQ.express-key'))
    expect(built.url).toBe('https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:generateContent')
    expect(built.headers['x-goog-api-key']).toBe('AQ.express-key')
  })

  it('refuses a call without credentials or project, naming the setting', () => {
    const failure = (context: UpstreamContext) => {
      try {
        vertex.upstream.chat.request(request, context)
      } catch (error) {
        return GatewayError.is(error) ? `${error.status} ${error.message}` : String(error)
      }
      return 'no error'
    }
    expect(failure(contextWith(undefined))).toMatch(/^500 \[vertex\] no credentials/)
    expect(failure(contextWith('ya29.t'))).toBe('500 [vertex] options.project is required (or a service account with project_id)')
    expect(failure(contextWith('ya29.t', { project: 'p/../q' }))).toMatch(/is not a project id/)
    expect(failure(contextWith('{"type":"service_account"}'))).toMatch(/not a service-account key/)
  })

  it('uses network_config.base_url as the API root', () => {
    const built = vertex.upstream.chat.request(request, contextWith('ya29.t', { project: 'p', region: 'us-central1' }, { baseURL: 'http://127.0.0.1:8089/v1' }))
    expect(built.url).toBe('http://127.0.0.1:8089/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent')
  })
})

describe('vertex provider: service-account tokens in sign', () => {
  it('exchanges the key for a token through the attempt\'s fetch, caches it, and adds the bearer', async () => {
    let now = 1_700_000_000_000
    const vertex = createVertexProvider({ tokens: new VertexTokenCache({ now: () => now }) })
    const tokens = fakeTokenEndpoint()
    // The router's loop for one call: build, sign, send, decode.
    const attempt = async () => {
      const context = contextWith(serviceAccount.json, undefined, { fetch: tokens.fetch })
      const built = vertex.upstream.chat.request(request, context)
      const signed = await vertex.upstream.sign(built, context)
      return { context, signed }
    }
    const first = await attempt()
    expect(first.signed.headers.authorization).toBe('Bearer ya29.token-1')
    expect(first.signed.url).toBe('https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/publishers/google/models/gemini-2.5-flash:generateContent')
    expect(tokens.calls[0]!.url).toBe('https://oauth2.googleapis.com/token')
    expect((await verifyJwt(tokens.calls[0]!.body.get('assertion')!, serviceAccount.publicKey)).valid).toBe(true)
    const decoded = vertex.upstream.chat.response(json('generate-content-text.json'), first.context)
    expect(decoded.choices[0]!.finishReason.unified).toBe('stop')

    now += 60_000
    expect((await attempt()).signed.headers.authorization).toBe('Bearer ya29.token-1')
    expect(tokens.calls).toHaveLength(1)
    now += 3600_000
    expect((await attempt()).signed.headers.authorization).toBe('Bearer ya29.token-2')
  })

  it('through the router, the exchange takes the provider\'s own transport (proxy_config), not the gateway\'s', async () => {
    const vertex = createVertexProvider()
    const tokens = fakeTokenEndpoint()
    const modelCalls: string[] = []
    // The transport the runtime built for this provider's proxy: the token endpoint and the model call both go through it.
    const proxied = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input) === 'https://oauth2.googleapis.com/token') return tokens.fetch(input, init)
      modelCalls.push(String(input))
      return Response.json(json('generate-content-text.json'))
    }) as typeof fetch
    const gatewayFetch = vi.fn(async () => Response.json({ error: 'the gateway transport was used' }, { status: 500 }))
    const provider = registerProvider('vertex', vertex, { keys: [{ value: serviceAccount.json, models: [], weight: 1 }] }, { fetch: proxied })
    const sent = await sendUpstream({
      route: { provider, model: 'gemini-2.5-flash' },
      directKey: undefined,
      signal: new AbortController().signal,
      fetch: gatewayFetch as unknown as typeof fetch,
      build: (context) => vertex.upstream.chat.request(request, context),
    })
    sent.settle()
    expect(sent.context.fetch).toBe(proxied)
    expect(tokens.calls).toHaveLength(1)
    expect(modelCalls).toEqual(['https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/publishers/google/models/gemini-2.5-flash:generateContent'])
    expect(gatewayFetch).not.toHaveBeenCalled()
  })

  it('never follows a token_uri named in the key: the exchange goes to Google unless the operator says otherwise', async () => {
    const vertex = createVertexProvider()
    const tokens = fakeTokenEndpoint()
    const planted = JSON.stringify({ ...JSON.parse(serviceAccount.json), token_uri: 'http://169.254.169.254/steal' })
    const context = contextWith(planted, undefined, { fetch: tokens.fetch })
    await vertex.upstream.sign(vertex.upstream.chat.request(request, context), context)
    expect(tokens.calls[0]!.url).toBe('https://oauth2.googleapis.com/token')
  })

  it('sends the exchange to options.token_url, and falls back to the runtime fetch when the router gives none', async () => {
    const vertex = createVertexProvider()
    const tokens = fakeTokenEndpoint()
    vi.stubGlobal('fetch', tokens.fetch)
    const context = contextWith(undefined, { service_account: serviceAccount.json, token_url: 'https://oauth.internal.example/token' })
    const signed = await vertex.upstream.sign(vertex.upstream.chat.request(request, context), context)
    expect(signed.headers.authorization).toBe('Bearer ya29.token-1')
    expect(tokens.calls[0]!.url).toBe('https://oauth.internal.example/token')
    expect((await verifyJwt(tokens.calls[0]!.body.get('assertion')!, serviceAccount.publicKey)).claims.aud).toBe('https://oauth.internal.example/token')
  })

  it('leaves requests with static credentials as they are, and fails the attempt with 401 when the grant is refused', async () => {
    const vertex = createVertexProvider()
    const built = vertex.upstream.chat.request(request, contextWith('ya29.t', { project: 'p' }))
    expect(await vertex.upstream.sign(built, contextWith('ya29.t', { project: 'p' }))).toBe(built)
    const refusing = fakeTokenEndpoint(() => Response.json({ error: 'invalid_grant', error_description: 'account not found' }, { status: 400 }))
    const context = contextWith(serviceAccount.json, undefined, { fetch: refusing.fetch })
    await expect(vertex.upstream.sign(vertex.upstream.chat.request(request, context), context)).rejects.toMatchObject({ status: 401, retryable: false })
  })
})

describe('vertex provider: embeddings, countTokens, passthrough, config checks', () => {
  const vertex = createVertexProvider()
  const context = contextWith('ya29.t', { project: 'p', region: 'us-central1' })

  it('embeds through :predict', () => {
    const built = vertex.upstream.embeddings.request({ model: 'gemini-embedding-001', input: ['a', 'b'], dimensions: 256, dialect: 'gemini', extra: { taskType: 'RETRIEVAL_DOCUMENT', requests: [{ title: 'A' }] } }, context)
    expect(built.url).toBe('https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-embedding-001:predict')
    expect(JSON.parse(built.body as string)).toEqual({
      instances: [{ content: 'a', task_type: 'RETRIEVAL_DOCUMENT', title: 'A' }, { content: 'b', task_type: 'RETRIEVAL_DOCUMENT' }],
      parameters: { outputDimensionality: 256 },
    })
    const decoded = vertex.upstream.embeddings.response({
      predictions: [
        { embeddings: { values: [0.1, 0.2], statistics: { token_count: 3, truncated: false } } },
        { embeddings: { values: [0.3, 0.4], statistics: { token_count: 4, truncated: false } } },
      ],
      metadata: { billableCharacterCount: 2 },
    }, context)
    expect(decoded).toEqual({ model: '', data: [{ index: 0, embedding: [0.1, 0.2] }, { index: 1, embedding: [0.3, 0.4] }], usage: { inputTokens: 7, outputTokens: undefined, totalTokens: 7 }, dialect: 'gemini', extra: { metadata: { billableCharacterCount: 2 } } })
  })

  it('counts tokens with the Vertex body shape', () => {
    const built = vertexCountTokensRequest({ ...request, messages: [{ role: 'system', content: [{ type: 'text', text: 'S' }] }, ...request.messages], temperature: 0 }, context)
    expect(built.url).toMatch(/models\/gemini-2.5-flash:countTokens$/)
    expect(JSON.parse(built.body as string)).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], systemInstruction: { parts: [{ text: 'S' }] }, generationConfig: { temperature: 0 } })
  })

  it('maps same-dialect paths, refusing what Vertex does not serve', () => {
    expect(vertex.upstream.passthrough('/models/gemini-2.5-flash:generateContent', context)).toEqual({
      url: 'https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ya29.t' },
    })
    expect(() => vertex.upstream.passthrough('/files', context)).toThrow(/does not serve \/files/)
    // A model-routed call of the /genai surface: the routed model goes where the surface left `{model}`.
    expect(vertex.upstream.passthrough('/{model}:streamGenerateContent?alt=sse', context, 'gemini-2.5-pro').url).toBe('https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse')
    expect(() => vertex.upstream.passthrough('/{model}:batchEmbedContents', context, 'gemini-embedding-001')).toThrow(/does not serve \/models\/gemini-embedding-001:batchEmbedContents/)
  })

  it('reports config problems at start', () => {
    expect(validateVertexConfig({ keys: [{ value: serviceAccount.json, models: [], weight: 1 }] })).toEqual([])
    expect(validateVertexConfig({ keys: [], options: { project: 'p', access_token: 'ya29.x' } })).toEqual([])
    expect(validateVertexConfig({ keys: [] })).toEqual(['options: no credentials: give a key (service-account JSON, access token or API key), options.service_account or options.access_token'])
    expect(validateVertexConfig({ keys: [{ value: 'ya29.x', models: [], weight: 1 }], options: { region: 'us central' } })).toEqual(['keys[0].value: options.region "us central" is not a region'])
    expect(validateVertexConfig({ keys: [{ value: 'ya29.x', models: [], weight: 1 }], options: { project: 'p', service_account: '{}' } })).toEqual(['options.service_account: not a service-account key (client_email and private_key are required)'])
  })
})
