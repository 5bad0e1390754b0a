import { describe, expect, it } from 'vitest'
import { parseConfig, type ChatRequest, type KeyConfig, type UpstreamContext } from '@switchyard/core'
import { testUpstreamContext } from '@switchyard/core/testing'
import azure from './index.js'
import { validateAzureConfig } from './config.js'
import { withCallerTarget } from './target.js'

const key = (azureKeyConfig?: Record<string, unknown>): KeyConfig => ({ value: 'azure-key-1234567890', models: [], weight: 1, ...(azureKeyConfig && { azure_key_config: azureKeyConfig }) })
const contextWith = (chosen: KeyConfig | undefined, options?: Record<string, unknown>, keys = chosen ? [chosen] : []): UpstreamContext =>
  ({ ...testUpstreamContext('azure'), baseURL: '', key: chosen, config: { keys, ...(options && { options }) } })
const chat = (model = 'gpt-4o', rest: Partial<ChatRequest> = {}): ChatRequest => ({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello!' }] }], dialect: 'openai', extra: {}, ...rest })

const configured = key({ endpoint: 'https://my-res.openai.azure.com', api_version: '2024-12-01-preview', deployments: { 'gpt-4o': 'my-gpt4o-deployment' } })

describe('azure codecs: URLs, auth and deployment mapping', () => {
  it('chat: the mapped deployment in the URL and body, api-version from the key, api-key auth', () => {
    const built = azure.upstream.chat.request(chat(), contextWith(configured))
    expect(built.url).toBe('https://my-res.openai.azure.com/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-12-01-preview')
    expect(built.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'api-key': 'azure-key-1234567890' })
    expect(built.headers.authorization).toBeUndefined()
    expect(JSON.parse(built.body as string)).toEqual({ model: 'my-gpt4o-deployment', messages: [{ role: 'user', content: 'Hello!' }] })
  })

  it('a model the mapping does not list is the deployment name; the default api-version applies', () => {
    const built = azure.upstream.chat.request(chat('gpt-5-nano'), contextWith(key({ endpoint: 'https://resource-name.cognitiveservices.azure.com/' })))
    expect(built.url).toBe('https://resource-name.cognitiveservices.azure.com/openai/deployments/gpt-5-nano/chat/completions?api-version=2024-10-21')
  })

  it('completions and embeddings use their deployment paths; the Responses API the v1 route', () => {
    const context = contextWith(configured)
    expect(azure.upstream.completions.request({ model: 'gpt-4o', prompt: 'x', extra: {} }, context).url).toBe('https://my-res.openai.azure.com/openai/deployments/my-gpt4o-deployment/completions?api-version=2024-12-01-preview')
    expect(azure.upstream.embeddings.request({ model: 'text-embedding-3-small', input: ['x'], extra: {} }, context).url).toBe('https://my-res.openai.azure.com/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-12-01-preview')
    const responses = azure.upstream.responses.request(chat('gpt-4o', { dialect: 'openai-responses' }), context)
    expect(responses.url).toBe('https://my-res.openai.azure.com/openai/v1/responses')
    expect(JSON.parse(responses.body as string).model).toBe('my-gpt4o-deployment')
  })

  it("the caller's api-version (AzureOpenAI SDK query) wins over the key's", () => {
    const request = withCallerTarget(chat(), { apiVersion: '2024-02-01' })
    expect(azure.upstream.chat.request(request, contextWith(configured)).url).toMatch(/\?api-version=2024-02-01$/)
  })
})

describe('azure codecs: the caller-named endpoint', () => {
  const unbound = key({ api_version: '2024-10-21' })

  it('a configured key without an endpoint goes to the allow-listed x-bf-azure-endpoint', () => {
    const request = withCallerTarget(chat(), { endpoint: 'https://caller-res.openai.azure.com' })
    expect(azure.upstream.chat.request(request, contextWith(unbound)).url.startsWith('https://caller-res.openai.azure.com/openai/deployments/gpt-4o/')).toBe(true)
  })

  it("a configured key bound to its endpoint never goes to another resource the caller names", () => {
    const request = withCallerTarget(chat(), { endpoint: 'https://attacker-res.openai.azure.com' })
    expect(() => azure.upstream.chat.request(request, contextWith(configured))).toThrow(expect.objectContaining({ status: 400, param: 'x-bf-azure-endpoint', message: expect.stringContaining('bound to another Azure resource') }))
    const same = withCallerTarget(chat(), { endpoint: 'https://my-res.openai.azure.com' })
    expect(azure.upstream.chat.request(same, contextWith(configured)).url.startsWith('https://my-res.openai.azure.com/')).toBe(true)
  })

  it("the caller's own key (direct keys) goes to the endpoint the caller names", () => {
    const direct: KeyConfig = { value: 'callers-own-azure-key', models: [], weight: 1 }
    const request = withCallerTarget(chat(), { endpoint: 'https://callers-res.openai.azure.com' })
    const built = azure.upstream.chat.request(request, contextWith(direct, undefined, [configured]))
    expect(built.url.startsWith('https://callers-res.openai.azure.com/')).toBe(true)
    expect(built.headers['api-key']).toBe('callers-own-azure-key')
  })

  it('the codec re-checks the allowlist: a target that slipped past a surface is still refused', () => {
    const request = withCallerTarget(chat(), { endpoint: 'https://169.254.169.254' })
    expect(() => azure.upstream.chat.request(request, contextWith(unbound))).toThrow(expect.objectContaining({ status: 400, param: 'x-bf-azure-endpoint' }))
  })

  it('no endpoint anywhere is a 400 that says where to put one', () => {
    expect(() => azure.upstream.chat.request(chat(), contextWith(unbound))).toThrow(/send x-bf-azure-endpoint, or set azure_key_config.endpoint/)
  })
})

describe('azure config', () => {
  it('keeps azure_key_config on keys and resolves env references inside it', () => {
    const config = parseConfig({
      providers: {
        azure: {
          keys: [{ value: 'env.AZURE_API_KEY', azure_key_config: { endpoint: 'env.AZURE_ENDPOINT', api_version: '2024-10-21', deployments: { 'gpt-4o': 'prod-4o' } } }],
          options: { endpoint_allowlist: ['https://*.openai.azure.com'] },
        },
      },
    }, { AZURE_API_KEY: 'k-123', AZURE_ENDPOINT: 'https://my-res.openai.azure.com' })
    const [first] = config.providers.azure!.keys
    expect(first).toMatchObject({ value: 'k-123', azure_key_config: { endpoint: 'https://my-res.openai.azure.com', deployments: { 'gpt-4o': 'prod-4o' } } })
    expect(validateAzureConfig(config.providers.azure!)).toEqual([])
  })

  it('names every bad field', () => {
    const issues = validateAzureConfig({
      keys: [
        { value: 'k', models: [], weight: 1, azure_key_config: { endpoint: 'https://my-res.openai.azure.com/openai', api_version: 'no spaces please', deployments: { a: 'bad/name' }, extra: 1 } },
        { value: 'k', models: [], weight: 1, azure_key_config: { endpoint: 'not a url' } },
      ],
      options: { endpoint_allowlist: ['https://*.openai.azure.com', 'openai.azure.com'], allow_private_endpoints: 'yes' },
    })
    expect(issues).toEqual([
      'keys[0].azure_key_config.api_version: must be an Azure api-version such as "2024-10-21"',
      'keys[0].azure_key_config.deployments.a: must be a deployment name (letters, digits, - _ .)',
      'keys[0].azure_key_config.extra: unknown member (azure_key_config takes endpoint, api_version and deployments)',
      'keys[1].azure_key_config.endpoint: must be a URL such as https://my-res.openai.azure.com',
      expect.stringMatching(/^options\.allow_private_endpoints: /),
    ])
    expect(validateAzureConfig({ keys: [{ value: 'k', models: [], weight: 1, azure_key_config: { endpoint: 'https://my-res.openai.azure.com/openai' } }] })).toEqual(['keys[0].azure_key_config.endpoint: must be the resource origin only, such as https://my-res.openai.azure.com'])
    expect(validateAzureConfig({ keys: [], options: { endpoint_allowlist: ['openai.azure.com'] } })).toEqual(['options.endpoint_allowlist[0]: "openai.azure.com" is not a scheme://host[:port] pattern (such as https://*.openai.azure.com)'])
  })
})
