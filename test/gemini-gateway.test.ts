import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '@switchyard/core'
import { startGateway, type RunningGateway } from '../runtimes/node/src/index.js'
import { makeServiceAccount, verifyJwt } from '../providers/vertex/test/keys.js'
import { cassette, fixtureText } from './support/fixtures.js'

/**
 * The OpenAI and Anthropic SDKs -> gateway -> `gemini` and `vertex` providers -> a mock Google
 * upstream replaying recorded answers: `google/generate-content-text.json` and
 * `google/generate-content-tool-call.json` (vercel/ai) for generateContent, the raw SSE body of
 * `google/generate-content-stream-thinking.cassette.yaml` (pydantic-ai) for streamGenerateContent,
 * written a few bytes at a time, and `google/batch-embed-contents.cassette.yaml` for embeddings.
 * The mock is also Vertex AI's OAuth token endpoint: it checks the service account's JWT signature.
 */

const GEMINI_KEY = 'AIzaSyGatewayTestKey-0123456789abcdefgh'
const thinkingSse = String(cassette('google/generate-content-stream-thinking.cassette.yaml')[0]!.response.body)
const embedAnswer = String(cassette('google/batch-embed-contents.cassette.yaml')[0]!.response.body)

interface Seen { path: string; headers: IncomingMessage['headers']; json: any }

let serviceAccount: Awaited<ReturnType<typeof makeServiceAccount>>
let tokensIssued = 0

function startMockGoogle(): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = []
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    let body = ''
    for await (const chunk of request) body += chunk
    const path = request.url ?? ''
    if (path === '/token') {
      const assertion = new URLSearchParams(body).get('assertion') ?? ''
      const { valid, claims } = await verifyJwt(assertion, serviceAccount.publicKey)
      if (!valid || claims.iss !== serviceAccount.account.client_email) {
        response.writeHead(400, { 'content-type': 'application/json' })
        return response.end('{"error":"invalid_grant","error_description":"Invalid JWT Signature."}')
      }
      tokensIssued++
      response.writeHead(200, { 'content-type': 'application/json' })
      return response.end(JSON.stringify({ access_token: `ya29.mock-${tokensIssued}`, expires_in: 3599, token_type: 'Bearer' }))
    }
    const json = body ? JSON.parse(body) : undefined
    seen.push({ path, headers: request.headers, json })
    if (path.startsWith('/v1/') && request.headers.authorization !== `Bearer ya29.mock-${tokensIssued}`) {
      response.writeHead(401, { 'content-type': 'application/json' })
      return response.end('{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}')
    }
    if (path.includes(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      for (let at = 0; at < thinkingSse.length; at += 300) response.write(thinkingSse.slice(at, at + 300))
      return response.end()
    }
    if (path.includes(':batchEmbedContents')) {
      response.writeHead(200, { 'content-type': 'application/json' })
      return response.end(embedAnswer)
    }
    if (path.includes('/models/gemini-404')) {
      response.writeHead(404, { 'content-type': 'application/json' })
      return response.end('{"error":{"code":404,"message":"models/gemini-404 is not found for API version v1beta","status":"NOT_FOUND"}}')
    }
    // A request that answers function calls gets the text answer; the first gets the call.
    const answered = JSON.stringify(json).includes('functionResponse') || !json.tools
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(fixtureText(answered ? 'google/generate-content-text.json' : 'google/generate-content-tool-call.json'))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })))
}

let mock: Awaited<ReturnType<typeof startMockGoogle>>
let running: RunningGateway
let openai: OpenAI
let anthropic: Anthropic

beforeAll(async () => {
  serviceAccount = await makeServiceAccount()
  mock = await startMockGoogle()
  running = await startGateway({
    config: {
      providers: {
        gemini: { keys: [{ value: 'env.GEMINI_API_KEY' }], network_config: { base_url: `${mock.url}/v1beta` } },
        vertex: {
          keys: [{ value: 'env.VERTEX_CREDENTIALS' }],
          options: { region: 'us-central1', token_url: `${mock.url}/token` },
          network_config: { base_url: `${mock.url}/v1` },
        },
      },
    },
    env: { GEMINI_API_KEY: GEMINI_KEY, VERTEX_CREDENTIALS: serviceAccount.json },
    port: 0,
    dataDir: null,
    logger: silentLogger,
  })
  openai = new OpenAI({ baseURL: `${running.url}/openai`, apiKey: 'caller', maxRetries: 0 })
  anthropic = new Anthropic({ baseURL: `${running.url}/anthropic`, apiKey: 'caller', maxRetries: 0 })
})
afterAll(async () => {
  await running.close(1_000)
  await new Promise((resolve) => mock.server.close(resolve))
})
afterEach(() => {
  mock.seen.length = 0
})

const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'weather', description: 'Weather of a city', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'], additionalProperties: false } },
}

describe('Gemini through the gateway', () => {
  it('OpenAI SDK, plain: translated to generateContent; thinking counted in the completion tokens', async () => {
    const completion = await openai.chat.completions.create({ model: 'gemini/gemini-3-pro-preview', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'How many rs in strawberry?' }], max_tokens: 500 })
    expect(completion.choices[0]!.message.content).toMatch(/There are \*\*3\*\* r's in strawberry/)
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    expect(completion.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 272, total_tokens: 281, completion_tokens_details: { reasoning_tokens: 244 } })
    const [seen] = mock.seen
    expect(seen!.path).toBe('/v1beta/models/gemini-3-pro-preview:generateContent')
    expect(seen!.headers['x-goog-api-key']).toBe(GEMINI_KEY)
    expect(seen!.json).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'How many rs in strawberry?' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { maxOutputTokens: 500 },
    })
  })

  it('OpenAI SDK, function calling round trip: the thought signature goes back on the call', async () => {
    const first = await openai.chat.completions.create({ model: 'gemini/gemini-3-pro-preview', messages: [{ role: 'user', content: 'Weather in SF?' }], tools: [weatherTool] })
    const message = first.choices[0]!.message
    expect(first.choices[0]!.finish_reason).toBe('tool_calls')
    expect(message.tool_calls).toEqual([{ id: 'call_0_weather', type: 'function', function: { name: 'weather', arguments: '{"location":"San Francisco"}' } }])
    expect(mock.seen[0]!.json.tools).toEqual([{ functionDeclarations: [{ name: 'weather', description: 'Weather of a city', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } }] }])

    const second = await openai.chat.completions.create({
      model: 'gemini/gemini-3-pro-preview',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in SF?' }, message as OpenAI.ChatCompletionMessageParam, { role: 'tool', tool_call_id: 'call_0_weather', content: '{"temperature":18}' }],
    })
    expect(second.choices[0]!.message.content).toMatch(/strawberry/)
    const contents = mock.seen[1]!.json.contents
    expect(contents[1]).toEqual({ role: 'model', parts: [{ functionCall: { name: 'weather', args: { location: 'San Francisco' } }, thoughtSignature: expect.stringMatching(/^EskgCsYg/) }] })
    expect(contents[2]).toEqual({ role: 'user', parts: [{ functionResponse: { name: 'weather', response: { temperature: 18 } } }] })
  })

  it('Anthropic SDK, streamed: thought summaries become thinking, the answer text, usage at the end', async () => {
    const stream = anthropic.messages.stream({ model: 'gemini/gemini-2.5-pro', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'How do I cross the street?' }] })
    const message = await stream.finalMessage()
    expect(message.content.map((block) => block.type)).toEqual(['thinking', 'thinking', 'text'])
    expect((message.content[0] as Anthropic.ThinkingBlock).thinking).toMatch(/^\*\*Clarifying User Goals\*\*/)
    expect((message.content[1] as Anthropic.ThinkingBlock).signature).toMatch(/^CiIB0e2K/)
    expect((message.content[2] as Anthropic.TextBlock).text).toMatch(/^This is a great question!/)
    expect(message.stop_reason).toBe('end_turn')
    expect(message.usage).toMatchObject({ input_tokens: 34, output_tokens: 1256 })
    expect(mock.seen[0]!.path).toBe('/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse')
    expect(mock.seen[0]!.json.generationConfig).toEqual({ maxOutputTokens: 2048, thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } })
  })

  it('OpenAI SDK embeddings: batchEmbedContents, vectors back in the format the SDK asked for', async () => {
    const result = await openai.embeddings.create({ model: 'gemini/gemini-embedding-2-preview', input: 'Hello, world!', dimensions: 768 })
    expect(result.data[0]!.embedding).toHaveLength(768)
    expect(result.data[0]!.embedding[0]).toBeCloseTo(-0.039718185, 6)
    expect(mock.seen[0]!.json).toEqual({ requests: [{ model: 'models/gemini-embedding-2-preview', content: { parts: [{ text: 'Hello, world!' }] }, outputDimensionality: 768 }] })
  })

  it("a Gemini error keeps its status and reaches the caller in the caller's dialect", async () => {
    const error = await openai.chat.completions.create({ model: 'gemini/gemini-404', messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as { error: { message: string } }).error.message).toBe('[gemini] models/gemini-404 is not found for API version v1beta')
  })
})

describe('Vertex AI through the gateway', () => {
  it('a service-account key is exchanged once for a token; calls go to the project and region', async () => {
    const before = tokensIssued
    for (let call = 0; call < 2; call++) {
      const completion = await openai.chat.completions.create({ model: 'vertex/gemini-2.5-flash', messages: [{ role: 'user', content: 'How many rs in strawberry?' }] })
      expect(completion.choices[0]!.message.content).toMatch(/strawberry/)
    }
    expect(tokensIssued - before).toBe(1)
    expect(mock.seen.map((seen) => seen.path)).toEqual([
      '/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent',
      '/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent',
    ])
    expect(mock.seen[0]!.headers.authorization).toBe(`Bearer ya29.mock-${tokensIssued}`)
    expect(mock.seen[0]!.headers['x-goog-api-key']).toBeUndefined()
  })

  it('streams from Vertex AI to an OpenAI client', async () => {
    const stream = await openai.chat.completions.create({ model: 'vertex/gemini-2.5-pro', messages: [{ role: 'user', content: 'How do I cross the street?' }], stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      usage = chunk.usage ?? usage
    }
    expect(text).toMatch(/^This is a great question!.*stay alert and be predictable/s)
    expect(usage).toMatchObject({ prompt_tokens: 34, completion_tokens: 1256, total_tokens: 1290 })
    expect(mock.seen[0]!.path).toBe('/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse')
  })
})
