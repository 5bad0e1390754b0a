import { describe, expect, it } from 'vitest'
import { batchModelOf, fromAnthropicResult, fromBedrockRecord, fromGeminiResponse, toAnthropicParams, toBedrockModelInput, toGeminiRequest } from './convert.js'
import type { BatchInputLine } from './input.js'
import { batchKindOf, resolveBatchOptions } from './options.js'

const line = (body: Record<string, unknown>, number = 1, customId = `req-${number}`): BatchInputLine => ({ custom_id: customId, url: '/v1/chat/completions', body, line: number })
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50, ...extra })
const parsed = (text: string) => JSON.parse(text)

describe('requests, OpenAI chat -> provider formats', () => {
  it('Anthropic params: the Messages body, provider prefix off, no stream', () => {
    const params = toAnthropicParams(line(chat('anthropic/claude-3-5-haiku-latest')), 'anthropic', [])
    expect(params).toMatchObject({ model: 'claude-3-5-haiku-latest', max_tokens: 50, messages: [{ role: 'user' }] })
    expect(params).not.toHaveProperty('stream')
  })

  it('Bedrock modelInput: Claude only, without model, with bedrock-2023-05-31', () => {
    expect(toBedrockModelInput(line(chat('x')), 'us.anthropic.claude-3-5-haiku-20241022-v1:0', [])).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50 })
    expect(toBedrockModelInput(line(chat('x')), 'anthropic.claude-3-haiku-20240307-v1:0', [])).not.toHaveProperty('model')
    expect(() => toBedrockModelInput(line(chat('x')), 'amazon.nova-micro-v1:0', [])).toThrow(/Claude models/)
  })

  it('Gemini: a GenerateContentRequest; a bad request names its line', () => {
    expect(toGeminiRequest(line(chat('gemini-2.5-flash')), 'gemini-2.5-flash', [])).toMatchObject({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], generationConfig: { maxOutputTokens: 50 } })
    expect(() => toGeminiRequest(line({ model: 'g', messages: 'not a list' }, 7, 'seven'), 'g', [])).toThrow(/^line 7 \(custom_id "seven"\)/)
  })

  it('one model per Bedrock or Gemini batch: extra_body first, the requests must agree', () => {
    expect(batchModelOf([line(chat('m1')), line(chat('m1'), 2)], 'gemini', undefined)).toBe('m1')
    expect(batchModelOf([line(chat('gemini/m1'))], 'gemini', 'gemini/m1')).toBe('m1')
    expect(() => batchModelOf([line(chat('m1')), line(chat('m2'), 2)], 'gemini', undefined)).toThrow(/line 2: model "m2" differs from the batch's model "m1"/)
    expect(() => batchModelOf([line({ messages: [] })], 'bedrock', undefined)).toThrow(/needs a model/)
  })
})

describe('results, provider formats -> OpenAI output lines', () => {
  const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'Hello' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 2 } }

  it('Anthropic: succeeded, errored (status from the error type), canceled, expired', () => {
    const ok = fromAnthropicResult({ custom_id: 'a', result: { type: 'succeeded', message } }, 'claude-x', 'anthropic')
    expect(ok.ok).toBe(true)
    expect(parsed(ok.text)).toMatchObject({ id: expect.stringMatching(/^batch_req_/), custom_id: 'a', response: { status_code: 200, request_id: 'msg_1', body: { object: 'chat.completion', model: 'claude-x', choices: [{ message: { content: 'Hello' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2 } } }, error: null })
    const errored = fromAnthropicResult({ custom_id: 'b', result: { type: 'errored', error: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } } } }, 'm', 'anthropic')
    expect(errored.ok).toBe(false)
    expect(parsed(errored.text).response).toEqual({ status_code: 429, request_id: null, body: { error: { message: '[anthropic] slow down', type: 'rate_limit_error', param: null, code: null } } })
    expect(parsed(fromAnthropicResult({ custom_id: 'c', result: { type: 'canceled' } }, 'm', 'anthropic').text)).toMatchObject({ response: null, error: { code: 'batch_cancelled' } })
    expect(parsed(fromAnthropicResult({ custom_id: 'd', result: { type: 'expired' } }, 'm', 'anthropic').text)).toMatchObject({ response: null, error: { code: 'batch_expired' } })
  })

  it('Bedrock: modelOutput, or the record error with its code', () => {
    expect(parsed(fromBedrockRecord({ recordId: 'CALL0000001', modelOutput: message }, 'x', 'm', 'bedrock').text)).toMatchObject({ custom_id: 'x', response: { status_code: 200, body: { choices: [{ message: { content: 'Hello' } }] } } })
    const failed = fromBedrockRecord({ recordId: 'CALL0000002', error: { errorCode: 400, errorMessage: 'Malformed input request' } }, 'y', 'm', 'bedrock')
    expect(failed.ok).toBe(false)
    expect(parsed(failed.text).response).toMatchObject({ status_code: 400, body: { error: { message: '[bedrock] Malformed input request', type: 'invalid_request_error' } } })
  })

  it('Gemini: a response, or a google.rpc.Status with its gRPC code as the HTTP status', () => {
    const response = { candidates: [{ content: { role: 'model', parts: [{ text: 'Hi there' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 3 }, responseId: 'r1' }
    expect(parsed(fromGeminiResponse({ response, metadata: { key: 'k' } }, 'k', 'g', 'gemini').text)).toMatchObject({ custom_id: 'k', response: { status_code: 200, request_id: 'r1', body: { choices: [{ message: { content: 'Hi there' } }] } } })
    expect(parsed(fromGeminiResponse({ error: { code: 3, message: 'bad' } }, 'k', 'g', 'gemini').text).response.status_code).toBe(400)
    expect(parsed(fromGeminiResponse({ error: { code: 8, message: 'quota' } }, 'k', 'g', 'gemini').text).response.status_code).toBe(429)
    expect(parsed(fromGeminiResponse({ status: { code: 404, message: 'gone' } }, 'k', 'g', 'gemini').text).response.status_code).toBe(404)
  })

  it('a result that cannot be read is an error line naming the provider, not a lost request', () => {
    const broken = fromAnthropicResult({ custom_id: 'z', result: { type: 'succeeded', message: { content: 'not blocks' } } }, 'm', 'anthropic')
    expect(broken.ok).toBe(false)
    expect(parsed(broken.text)).toMatchObject({ custom_id: 'z', response: { status_code: 502, body: { error: { message: expect.stringMatching(/^\[anthropic\] the result could not be read/) } } } })
  })
})

describe('options', () => {
  it('defaults, and a bad value names its field', () => {
    expect(resolveBatchOptions(undefined)).toMatchObject({ concurrency: 8, leaseMs: 30_000, scanIntervalMs: 5_000, maxRequests: 50_000, geminiInlineMaxBytes: 10 * 1024 * 1024 })
    expect(() => resolveBatchOptions({ concurrency: 0 })).toThrow('config.batches.concurrency: must be an integer from 1 to 1000')
    expect(() => resolveBatchOptions({ targets: { groq: 'somewhere' } })).toThrow('config.batches.targets.groq')
    expect(() => resolveBatchOptions({ bedrock: { output_s3_uri: 'https://x' } })).toThrow('config.batches.bedrock.output_s3_uri: must be an s3:// URI')
    expect(() => resolveBatchOptions({ concurency: 2 })).toThrow('config.batches.concurency: is not an option')
  })

  it('how a provider batches: configured, its own API, OpenAI-style files, else the gateway', () => {
    const config = { providers: { openai: {}, anthropic: {}, groq: {}, mock: {} } } as never
    const options = resolveBatchOptions({ targets: { mock: 'gateway', openai: 'gateway' } })
    expect(batchKindOf('openai', options, 'openai', config)).toBe('gateway')
    expect(batchKindOf('anthropic', options, 'gateway', config)).toBe('anthropic')
    expect(batchKindOf('groq', options, 'openai', config)).toBe('openai')
    expect(batchKindOf('groq', options, 'gateway', config)).toBe('gateway')
  })
})
