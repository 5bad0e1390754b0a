import { describe, expect, it } from 'vitest'
import { testUpstreamContext } from '@switchyard/core/testing'
import type { UpstreamContext, Warning } from '@switchyard/core'
import { cassette } from '../test/fixtures.js'
import bedrock from './index.js'
import { validateBedrockConfig } from './credentials.js'
import { parseTitanResponse, toTitanBody } from './embeddings.js'
import { parseBedrockError } from './errors.js'

const credentials = JSON.stringify({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-west-2' })
const context = (overrides: Partial<UpstreamContext> = {}): UpstreamContext => ({ ...testUpstreamContext('bedrock'), baseURL: '', key: { value: credentials, models: [], weight: 1 }, ...overrides })

describe('bedrock codecs: URLs and headers', () => {
  const chat = bedrock.upstream.chat

  it('Converse and ConverseStream at the regional runtime endpoint, model id encoded', () => {
    const ir = { model: 'us.anthropic.claude-sonnet-4-20250514-v1:0', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hello' }] }], extra: {} }
    const plain = chat.request(ir, context())
    expect(plain.url).toBe('https://bedrock-runtime.us-west-2.amazonaws.com/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse')
    expect(plain.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json' })
    expect(JSON.parse(plain.body as string)).toEqual({ messages: [{ role: 'user', content: [{ text: 'Hello' }] }] })
    const streamed = chat.request({ ...ir, stream: true }, context())
    expect(streamed.url).toMatch(/\/converse-stream$/)
    expect(streamed.headers.accept).toBe('application/vnd.amazon.eventstream')
  })

  it('an inference-profile ARN is one encoded path segment; network_config.base_url replaces the host', () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123'
    const built = chat.request({ model: arn, messages: [], extra: {} }, context({ baseURL: 'https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com' }))
    expect(built.url).toBe(`https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/${encodeURIComponent(arn)}/converse`)
  })

  it('a key that is not JSON is a Bedrock API key: bearer auth, options.region', () => {
    const built = chat.request({ model: 'm', messages: [], extra: {} }, context({ key: { value: 'ABSKexample', models: [], weight: 1 }, config: { keys: [], options: { region: 'eu-central-1' } } }))
    expect(built.url.startsWith('https://bedrock-runtime.eu-central-1.amazonaws.com/')).toBe(true)
    expect(built.headers.authorization).toBe('Bearer ABSKexample')
  })

  it('embeddings go to InvokeModel', () => {
    const built = bedrock.upstream.embeddings.request({ model: 'amazon.titan-embed-text-v2:0', input: ['Test embedding dimensions'], dimensions: 256, extra: {} }, context())
    expect(built.url).toBe('https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke')
  })
})

describe('Titan embeddings (recorded InvokeModel exchange)', () => {
  const [recorded] = cassette('invoke-embeddings-titan.cassette.yaml')

  it('builds the recorded request body', () => {
    // The recording's client also sent `normalize: true`, Titan V2's default: a same-dialect extra here.
    expect(toTitanBody({ model: 'amazon.titan-embed-text-v2:0', input: ['Test embedding dimensions'], dimensions: 256, extra: { normalize: true } })).toEqual(recorded!.request.body)
  })

  it('parses the recorded answer: one 256-value vector, the input token count', () => {
    const response = parseTitanResponse(recorded!.response.json)
    expect(response.data).toHaveLength(1)
    expect(response.data[0]!.embedding).toHaveLength(256)
    expect(response.usage).toEqual({ inputTokens: 4, outputTokens: undefined, totalTokens: 4 })
    expect(Object.keys(response.extra ?? {})).toEqual(['embeddingsByType'])
  })

  it('refuses what Titan cannot embed and warns for what it cannot say', () => {
    const warnings: Warning[] = []
    expect(() => toTitanBody({ model: 'amazon.titan-embed-text-v2:0', input: ['a', 'b'], extra: {} })).toThrow(expect.objectContaining({ status: 400, param: 'input' }))
    expect(() => toTitanBody({ model: 'amazon.titan-embed-text-v2:0', input: [[1, 2]], extra: {} })).toThrow(/token ids/)
    expect(() => toTitanBody({ model: 'cohere.embed-english-v3', input: ['a'], extra: {} })).toThrow(expect.objectContaining({ status: 400, param: 'model' }))
    expect(toTitanBody({ model: 'amazon.titan-embed-text-v1', input: ['a'], dimensions: 256, extra: {} }, warnings)).toEqual({ inputText: 'a' })
    expect(warnings.map((warning) => (warning as { feature: string }).feature)).toEqual(['dimensions'])
  })

  it('answers base64 (float32 little-endian) when the call asked for it, as the OpenAI SDKs do by default', () => {
    const context = testUpstreamContext('bedrock')
    bedrock.upstream.embeddings.request({ model: 'amazon.titan-embed-text-v2:0', input: ['x'], encodingFormat: 'base64', extra: {} }, context)
    const encoded = bedrock.upstream.embeddings.response(recorded!.response.json, context).data[0]!.embedding as string
    const bytes = Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0))
    const floats = new Float32Array(bytes.buffer)
    expect(Array.from(floats)).toEqual((recorded!.response.json as { embedding: number[] }).embedding.map((value) => Math.fround(value)))
    expect(bedrock.upstream.embeddings.response(recorded!.response.json, testUpstreamContext('bedrock')).data[0]!.embedding).toHaveLength(256)
  })
})

describe('parseBedrockError', () => {
  it('keeps the status, names the exception from x-amzn-errortype, and scrubs the credentials', () => {
    const error = parseBedrockError(400, '{"message":"bad input for AKIDEXAMPLE with wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}', new Headers({ 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/', 'x-amzn-requestid': 'r-1' }), context())
    expect(error).toMatchObject({ status: 400, retryable: false, type: 'ValidationException', provider: 'bedrock' })
    expect(error.message).toBe('[bedrock] ValidationException: bad input for *** with ***')
    expect(error.upstream?.headers).toEqual({ 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/', 'x-amzn-requestid': 'r-1' })
  })

  it('a non-JSON body is kept as the message; 429 keeps retry-after', () => {
    const error = parseBedrockError(429, 'Rate exceeded', new Headers({ 'retry-after': '2' }), context())
    expect(error).toMatchObject({ status: 429, retryable: true, message: '[bedrock] Rate exceeded', headers: { 'retry-after': '2' } })
  })
})

describe('validateBedrockConfig', () => {
  const key = (value: string) => ({ value, models: [], weight: 1 })

  it('accepts JSON credentials, an API key, or options credentials', () => {
    expect(validateBedrockConfig({ keys: [key(credentials)] })).toEqual([])
    expect(validateBedrockConfig({ keys: [key('ABSKexample')] })).toEqual([])
    expect(validateBedrockConfig({ keys: [], options: { access_key_id: 'AKID', secret_access_key: 'secret', session_token: 'token', region: 'eu-west-1' } })).toEqual([])
  })

  it('names every bad field, never the secret', () => {
    const issues = validateBedrockConfig({ keys: [key('{"accessKeyId":"AKID"'), key('{"accessKeyId":"AKID","region":"moon"}')], options: { access_key_id: 'AKID', region: 'nowhere' } })
    expect(issues).toEqual([
      'keys[0].value: looks like JSON credentials but is not a valid JSON object',
      'keys[1].value: JSON credentials need "secretAccessKey" (a non-empty string)',
      'keys[1].value: "region" must be an AWS region such as "us-east-1"',
      'options: access_key_id and secret_access_key go together',
      'options.region: must be an AWS region such as "us-east-1"',
    ])
    expect(validateBedrockConfig({ keys: [] })).toEqual([expect.stringMatching(/^keys: Bedrock needs credentials/)])
  })
})
