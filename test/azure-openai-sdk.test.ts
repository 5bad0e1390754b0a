import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI, { AzureOpenAI } from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '@switchyard/core'
import { startGateway, type RunningGateway } from '../runtimes/node/src/index.js'
import { cassette, chunkLines, frameDataEvents, frameTypedEvents } from './support/fixtures.js'

/**
 * The `AzureOpenAI` client of the official OpenAI SDK, pointed at the gateway's `/openai` surface
 * as the reference docs show (`baseURL: http://<gateway>/openai`, `apiVersion`, header
 * `x-bf-azure-endpoint`), through the `azure` provider to a mock Azure OpenAI resource that replays
 * recorded traffic:
 * - `azure/chat-text.cassette.yaml`: a deployment chat completion (go-vcr, envoyproxy/ai-gateway);
 * - `azure/responses-stream-text.chunks.txt`: a Responses API stream (vercel/ai), framed as SSE;
 * - streamed chat completions replay `openai/chat-stream-text.chunks.txt`, an api.openai.com capture
 *   (no Azure chat stream was recorded; Azure streams the same chunk format).
 *
 * The mock listens on 127.0.0.1, so the gateway's config allow-lists `http://127.0.0.1:*` and sets
 * `allow_private_endpoints` explicitly. Every upstream call goes through a recording fetch, so
 * "nothing was sent" is checked at the gateway's transport, not only at the mock.
 */

interface Seen {
  method: string
  path: string
  query: string
  headers: Record<string, string | string[] | undefined>
  json: any
}

const recordedChat = cassette('azure/chat-text.cassette.yaml')[0]!
const chatStream = frameDataEvents(chunkLines('openai/chat-stream-text.chunks.txt'))
const responsesStream = frameTypedEvents(chunkLines('azure/responses-stream-text.chunks.txt'))

function startMockAzure(): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = []
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    let text = ''
    for await (const chunk of request) text += chunk
    const url = new URL(request.url ?? '/', 'http://mock')
    const json = text ? JSON.parse(text) : undefined
    seen.push({ method: request.method ?? '', path: url.pathname, query: url.search, headers: request.headers, json })
    const sse = (events: string[]) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      for (const event of events) response.write(event)
      response.end()
    }
    if (/^\/openai\/deployments\/[^/]+\/chat\/completions$/.test(url.pathname)) {
      if (json?.stream) return sse(chatStream)
      response.writeHead(200, { 'content-type': 'application/json', 'apim-request-id': recordedChat.response.headers['apim-request-id']! })
      return response.end(recordedChat.response.body)
    }
    if (url.pathname === '/openai/v1/responses' && json?.stream) return sse(responsesStream)
    response.writeHead(404, { 'content-type': 'application/json' })
    response.end('{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}')
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })))
}

const OPERATOR_KEY = 'operator-azure-key-0123456789'
const CALLER_KEY = 'callers-own-azure-key-9876543210'

let mock: Awaited<ReturnType<typeof startMockAzure>>
/** Every URL the gateways' transport was asked to fetch. */
const fetched: string[] = []
const recordingFetch: typeof fetch = (input, init) => {
  fetched.push(String(input instanceof Request ? input.url : input))
  return fetch(input, init)
}

async function gateway(config: Record<string, unknown>): Promise<RunningGateway> {
  return startGateway({ config, port: 0, dataDir: null, logger: silentLogger, env: {}, fetch: recordingFetch })
}

const azureClient = (gatewayUrl: string, endpoint: string, apiKey = CALLER_KEY) =>
  new AzureOpenAI({ apiKey, apiVersion: '2024-02-01', baseURL: `${gatewayUrl}/openai`, defaultHeaders: { 'x-bf-azure-endpoint': endpoint }, maxRetries: 0 })

beforeAll(async () => {
  mock = await startMockAzure()
})
afterAll(async () => {
  await new Promise((resolve) => mock.server.close(resolve))
})
afterEach(() => {
  mock.seen.length = 0
  fetched.length = 0
})

describe('AzureOpenAI SDK -> gateway -> Azure (configured key bound to its resource)', () => {
  let running: RunningGateway
  beforeAll(async () => {
    running = await gateway({
      providers: {
        azure: {
          keys: [{ value: OPERATOR_KEY, azure_key_config: { endpoint: mock.url, api_version: '2024-10-21', deployments: { 'gpt-4o': 'gpt-5-nano' } } }],
          options: { endpoint_allowlist: ['http://127.0.0.1:*'], allow_private_endpoints: true },
        },
      },
    })
  })
  afterAll(() => running.close(1_000))

  it('chat.completions.create reaches the deployment URL and returns the recorded completion', async () => {
    const client = azureClient(running.url, mock.url)
    const completion = await client.chat.completions.create({ model: 'gpt-5-nano', messages: [{ role: 'user', content: 'Hello!' }] })
    // Azure's fields travel (prompt_filter_results ...), except the per-choice content_filter_results:
    // the IR's choice has no extra bag, and Azure calls go through the OpenAI codec, not a byte relay.
    // `extra_fields` is the gateway's own routing report.
    const expected = JSON.parse(recordedChat.response.body)
    delete expected.choices[0].content_filter_results
    const { extra_fields: _, ...received } = completion as typeof completion & { extra_fields?: unknown }
    expect(received).toEqual(expected)
    expect(mock.seen).toHaveLength(1)
    const upstream = mock.seen[0]!
    expect(upstream.path).toBe('/openai/deployments/gpt-5-nano/chat/completions')
    expect(upstream.query).toBe('?api-version=2024-02-01')
    // Without client.allow_direct_keys the caller's api-key is ignored: the configured key goes up.
    expect(upstream.headers['api-key']).toBe(OPERATOR_KEY)
    expect(upstream.headers.authorization).toBeUndefined()
    expect(upstream.headers['x-bf-azure-endpoint']).toBeUndefined()
    expect(upstream.json).toEqual({ model: 'gpt-5-nano', messages: [{ role: 'user', content: 'Hello!' }] })
    expect(fetched).toEqual([`${mock.url}/openai/deployments/gpt-5-nano/chat/completions?api-version=2024-02-01`])
  })

  it('streams a chat completion through the deployment route', async () => {
    const client = azureClient(running.url, mock.url)
    const stream = await client.chat.completions.create({ model: 'gpt-5-nano', messages: [{ role: 'user', content: 'Hi' }], stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    const expected = chunkLines('openai/chat-stream-text.chunks.txt').map((line) => JSON.parse(line).choices[0]?.delta?.content ?? '').join('')
    expect(text).toBe(expected)
    expect(mock.seen[0]!.json).toMatchObject({ model: 'gpt-5-nano', stream: true })
  })

  it('azure/<model> from the plain OpenAI SDK uses the deployment mapping and the configured endpoint', async () => {
    const client = new OpenAI({ baseURL: `${running.url}/openai`, apiKey: 'anything', maxRetries: 0 })
    await client.chat.completions.create({ model: 'azure/gpt-4o', messages: [{ role: 'user', content: 'Hello!' }] })
    expect(mock.seen[0]!.path).toBe('/openai/deployments/gpt-5-nano/chat/completions')
    expect(mock.seen[0]!.query).toBe('?api-version=2024-10-21')
  })

  it('the Responses API (azure/<deployment>) goes to /openai/v1/responses and streams back', async () => {
    const client = new OpenAI({ baseURL: `${running.url}/openai`, apiKey: 'anything', maxRetries: 0 })
    const stream = await client.responses.create({ model: 'azure/gpt-5.1', input: 'Hello', stream: true })
    const types: string[] = []
    let text = ''
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'response.output_text.delta') text += event.delta
    }
    expect(text).toBe('Hello')
    expect(types.at(-1)).toBe('response.completed')
    expect(mock.seen[0]).toMatchObject({ path: '/openai/v1/responses', query: '', json: { model: 'gpt-5.1', stream: true } })
    expect(mock.seen[0]!.headers['api-key']).toBe(OPERATOR_KEY)
  })

  it('an endpoint outside the allowlist is a 400 in OpenAI shape, with nothing sent', async () => {
    for (const endpoint of ['https://evil.example.com', 'http://169.254.169.254', 'https://my-res.openai.azure.com', `${mock.url}/openai`, 'http://localhost:1']) {
      const client = azureClient(running.url, endpoint)
      const error = await client.chat.completions.create({ model: 'gpt-5-nano', messages: [{ role: 'user', content: 'Hello!' }] }).catch((caught: unknown) => caught)
      expect(error, endpoint).toBeInstanceOf(OpenAI.BadRequestError)
      const apiError = error as InstanceType<typeof OpenAI.BadRequestError>
      expect(apiError.status).toBe(400)
      expect(apiError.error).toMatchObject({ type: 'invalid_request_error', param: 'x-bf-azure-endpoint', message: expect.stringContaining('x-bf-azure-endpoint') })
    }
    expect(fetched).toEqual([])
    expect(mock.seen).toEqual([])
  })

  it("an allow-listed endpoint other than the configured key's resource is refused: the operator's key stays home", async () => {
    const other = `http://127.0.0.1:${Number(new URL(mock.url).port) === 9 ? 10 : 9}`
    const error = await azureClient(running.url, other).chat.completions.create({ model: 'gpt-5-nano', messages: [{ role: 'user', content: 'Hello!' }] }).catch((caught: unknown) => caught)
    expect((error as { status: number }).status).toBe(400)
    expect((error as { error: { message: string } }).error.message).toContain('bound to another Azure resource')
    expect(fetched).toEqual([])
  })
})

describe('AzureOpenAI SDK with the default policy and direct keys', () => {
  let defaults: RunningGateway
  let direct: RunningGateway
  beforeAll(async () => {
    defaults = await gateway({ providers: { azure: { keys: [{ value: OPERATOR_KEY, azure_key_config: { api_version: '2024-10-21' } }] } } })
    direct = await gateway({
      providers: { azure: { keys: [{ value: OPERATOR_KEY, azure_key_config: { api_version: '2024-10-21' } }], options: { endpoint_allowlist: ['http://127.0.0.1:*'], allow_private_endpoints: true } } },
      client: { allow_direct_keys: true },
    })
  })
  afterAll(async () => {
    await defaults.close(1_000)
    await direct.close(1_000)
  })

  it('by default a loopback endpoint is refused even when it is where the upstream really is', async () => {
    const error = await azureClient(defaults.url, mock.url).chat.completions.create({ model: 'gpt-5-nano', messages: [{ role: 'user', content: 'Hello!' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as { error: { message: string } }).error.message).toMatch(/not allowed \(allowed: https:\/\/\*\.openai\.azure\.com, https:\/\/\*\.cognitiveservices\.azure\.com/)
    expect(fetched).toEqual([])
  })

  it("with client.allow_direct_keys the caller's api-key goes to the endpoint it names", async () => {
    const completion = await azureClient(direct.url, mock.url).chat.completions.create({ model: 'gpt-5-nano', messages: [{ role: 'user', content: 'Hello!' }] })
    expect(completion.id).toBe('chatcmpl-CM9n9OhFOl4lSSFwarLEIMnPrNWSP')
    expect(mock.seen[0]!.headers['api-key']).toBe(CALLER_KEY)
  })
})
