import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { AwsV4Signer } from 'aws4fetch'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '@switchyard/core'
import { signAwsRequest } from '@switchyard/provider-bedrock'
import { startGateway, type RunningGateway } from '../runtimes/node/src/index.js'
import { cassette, fixtureText } from './support/fixtures.js'

/**
 * The OpenAI and Anthropic SDKs -> gateway -> `bedrock` provider -> a mock Bedrock runtime that
 * checks every request's SigV4 signature the way AWS does (it recomputes the signature from the
 * signed headers it received, the path, query and body) and replays recorded answers:
 * `bedrock/converse-text.json` (vercel/ai) for Converse and the raw event-stream bytes of
 * `bedrock/converse-stream-thinking.cassette.yaml` (pydantic-ai, Claude Sonnet 4 thinking) for
 * ConverseStream, written a few bytes at a time.
 */

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example', region: 'eu-west-1' }
const MODEL = 'us.anthropic.claude-sonnet-4-20250514-v1:0'
/** The cassette's `!!binary` body: the event-stream bytes exactly as AWS sent them. */
const thinkingBytes = new Uint8Array(cassette('bedrock/converse-stream-thinking.cassette.yaml')[0]!.response.body as unknown as Uint8Array)
const invalidModelBody = cassette('bedrock/converse-error-invalid-model.cassette.yaml')[0]!.response.body
const titanBody = cassette('bedrock/invoke-embeddings-titan.cassette.yaml')[0]!.response.body

interface Seen { path: string; headers: IncomingMessage['headers']; json: any; signatureValid: boolean }

/** Recomputes the request's SigV4 signature from what arrived: the check AWS makes. */
async function signatureValid(request: IncomingMessage, url: URL, body: string): Promise<boolean> {
  const authorization = String(request.headers.authorization ?? '')
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization)
  if (!match || match[1] !== CREDENTIALS.accessKeyId || match[3] !== CREDENTIALS.region || match[4] !== 'bedrock') return false
  const signed = match[5]!.split(';')
  const headers: Record<string, string> = {}
  for (const name of signed) if (name !== 'host' && name !== 'x-amz-date' && name !== 'x-amz-security-token') headers[name] = String(request.headers[name])
  const signer = new AwsV4Signer({
    method: request.method, url: url.href, headers, body, accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: CREDENTIALS.secretAccessKey,
    sessionToken: String(request.headers['x-amz-security-token']), service: 'bedrock', region: CREDENTIALS.region, datetime: String(request.headers['x-amz-date']),
  })
  return signer.signedHeaders === match[5] && (await signer.signature()) === match[6]
}

function startMockBedrock(streamBytes: Uint8Array): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = []
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    let body = ''
    for await (const chunk of request) body += chunk
    // The raw request path, as AWS sees it (the model id's ':' arrives encoded as %3A).
    const url = new URL(`http://${request.headers.host}${request.url}`)
    const valid = await signatureValid(request, url, body)
    seen.push({ path: request.url ?? '', headers: request.headers, json: body ? JSON.parse(body) : undefined, signatureValid: valid })
    if (!valid) {
      response.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/' })
      return response.end('{"message":"The request signature we calculated does not match the signature you provided."}')
    }
    if (url.pathname.endsWith('/converse-stream')) {
      response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' })
      for (let at = 0; at < streamBytes.length; at += 50) response.write(streamBytes.subarray(at, at + 50))
      return response.end()
    }
    if (url.pathname.startsWith('/model/us.does-not-exist')) {
      response.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' })
      return response.end(invalidModelBody)
    }
    if (url.pathname.endsWith('/invoke')) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': '4' })
      return response.end(titanBody)
    }
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(fixtureText('bedrock/converse-text.json'))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })))
}

let mock: Awaited<ReturnType<typeof startMockBedrock>>
let running: RunningGateway
let openai: OpenAI
let anthropic: Anthropic

beforeAll(async () => {
  mock = await startMockBedrock(thinkingBytes)
  running = await startGateway({
    config: {
      providers: {
        bedrock: {
          keys: [{ value: 'env.BEDROCK_CREDENTIALS' }],
          network_config: { base_url: mock.url, extra_headers: { 'x-team': 'search' } },
        },
      },
    },
    env: { BEDROCK_CREDENTIALS: JSON.stringify(CREDENTIALS) },
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

describe('Bedrock through the gateway', () => {
  it('OpenAI SDK, plain: a SigV4-signed Converse call, the recorded answer translated', async () => {
    const completion = await openai.chat.completions.create({ model: `bedrock/${MODEL}`, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'How many rs in strawberry?' }], max_tokens: 300 })
    expect(completion.choices[0]!.message.content).toMatch(/There are \*\*3\*\* "r"s/)
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    expect(completion.usage).toMatchObject({ prompt_tokens: 22, completion_tokens: 57, total_tokens: 79 })
    const [seen] = mock.seen
    expect(seen!.signatureValid).toBe(true)
    expect(seen!.path).toBe('/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse')
    expect(seen!.headers['x-amz-security-token']).toBe('session-token-example')
    // network_config.extra_headers are added before signing, so they are signed too.
    expect(seen!.headers['x-team']).toBe('search')
    expect(String(seen!.headers.authorization)).toContain('x-team')
    expect(seen!.json).toEqual({
      messages: [{ role: 'user', content: [{ text: 'How many rs in strawberry?' }] }],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 300 },
    })
  })

  it('OpenAI SDK, streamed: the binary event stream decoded as it arrives, reasoning then text', async () => {
    const stream = await openai.chat.completions.create({ model: `bedrock/${MODEL}`, messages: [{ role: 'user', content: 'Hello' }], stream: true, stream_options: { include_usage: true }, reasoning_effort: 'low' })
    let text = ''
    let reasoning = ''
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined
      text += delta?.content ?? ''
      reasoning += delta?.reasoning_content ?? ''
      usage = chunk.usage ?? usage
    }
    expect(reasoning).toMatch(/^The user has greeted me/)
    expect(text).toBe("Hello! It's nice to meet you. How can I help you today?")
    expect(usage).toMatchObject({ prompt_tokens: 36, completion_tokens: 73 })
    expect(mock.seen[0]!.signatureValid).toBe(true)
    expect(mock.seen[0]!.json.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } })
  })

  it('Anthropic SDK, streamed: Claude-on-Bedrock thinking reaches an Anthropic client with its signature', async () => {
    const stream = anthropic.messages.stream({ model: `bedrock/${MODEL}`, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Hello' }] })
    const message = await stream.finalMessage()
    expect(message.content.map((block) => block.type)).toEqual(['thinking', 'text'])
    const thinking = message.content[0] as Anthropic.ThinkingBlock
    expect(thinking.signature).toMatch(/^Eu0CCkgIBxAB/)
    expect(message.stop_reason).toBe('end_turn')
    expect(message.usage).toMatchObject({ input_tokens: 36, output_tokens: 73 })
    expect(mock.seen[0]!.json).toMatchObject({ inferenceConfig: { maxTokens: 4096 }, additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } } })
  })

  it("OpenAI SDK embeddings (base64 on the wire, the SDK's default): the recorded Titan vector", async () => {
    const result = await openai.embeddings.create({ model: 'bedrock/amazon.titan-embed-text-v2:0', input: 'Test embedding dimensions', dimensions: 256 })
    const recorded = (JSON.parse(titanBody) as { embedding: number[] }).embedding
    expect(result.data[0]!.embedding).toEqual(recorded.map((value) => Math.fround(value)))
    expect(result.usage).toMatchObject({ prompt_tokens: 4 })
    expect(mock.seen[0]).toMatchObject({ path: '/model/amazon.titan-embed-text-v2%3A0/invoke', json: { inputText: 'Test embedding dimensions', dimensions: 256 }, signatureValid: true })
  })

  it('the mock really checks signatures: a body changed after signing is refused', async () => {
    const url = `${mock.url}/model/${encodeURIComponent(MODEL)}/converse`
    const headers = await signAwsRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: '{"messages":[]}' }, { credentials: CREDENTIALS, region: CREDENTIALS.region })
    expect((await fetch(url, { method: 'POST', headers, body: '{"messages":[]}' })).status).toBe(200)
    expect((await fetch(url, { method: 'POST', headers, body: '{"messages":[1]}' })).status).toBe(403)
  })

  it("a Bedrock error keeps its status and reaches the caller in the caller's dialect", async () => {
    const error = await openai.chat.completions.create({ model: 'bedrock/us.does-not-exist-model-v1:0', messages: [{ role: 'user', content: 'hello' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as { error: { message: string } }).error.message).toBe('[bedrock] ValidationException: The provided model identifier is invalid.')
  })
})
