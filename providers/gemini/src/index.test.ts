import { describe, expect, it } from 'vitest'
import { GatewayError, type ChatRequest } from '@switchyard/core'
import { testUpstreamContext } from '@switchyard/core/testing'
import gemini, { geminiCountTokensRequest, geminiEndpoint, parseCountTokensRequest, parseCountTokensResponse, renderCountTokensResponse } from './index.js'

const context = { ...testUpstreamContext('gemini'), baseURL: 'https://generativelanguage.googleapis.com/v1beta' }
const request: ChatRequest = { model: 'gemini-2.5-flash', messages: [{ role: 'system', content: [{ type: 'text', text: 'S' }] }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }], extra: {} }

describe('gemini provider', () => {
  it('calls generateContent, or streamGenerateContent with alt=sse, with the key in x-goog-api-key', () => {
    const plain = gemini.upstream.chat.request(request, context)
    expect(plain.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent')
    expect(plain.headers).toEqual({ 'content-type': 'application/json', 'x-goog-api-key': 'sk-contract-test-key-0000', accept: 'application/json' })
    const streamed = gemini.upstream.chat.request({ ...request, stream: true }, context)
    expect(streamed.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse')
    expect(streamed.headers.accept).toBe('text/event-stream')
    expect(JSON.parse(streamed.body as string)).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], systemInstruction: { parts: [{ text: 'S' }] } })
  })

  it('keeps tuned model names and refuses names that could leave the model path', () => {
    expect(geminiEndpoint.url('tunedModels/my-model-1', 'generateContent', context)).toBe('https://generativelanguage.googleapis.com/v1beta/tunedModels/my-model-1:generateContent')
    for (const model of ['../files/x', 'gemini:evil', 'a?b', 'x/../../y']) {
      expect(() => gemini.upstream.chat.request({ ...request, model }, context), model).toThrow(GatewayError)
    }
  })

  it('embeds through batchEmbedContents', () => {
    const built = gemini.upstream.embeddings.request({ model: 'gemini-embedding-001', input: ['x'], extra: {} }, context)
    expect(built.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents')
    expect(JSON.parse(built.body as string)).toEqual({ requests: [{ model: 'models/gemini-embedding-001', content: { parts: [{ text: 'x' }] } }] })
  })

  it('forwards same-dialect paths below the API root', () => {
    expect(gemini.upstream.passthrough('/models/gemini-2.5-flash:streamGenerateContent?alt=sse', context)).toEqual({
      url: 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'sk-contract-test-key-0000' },
    })
    // A model-routed call from the /genai surface: the routed model goes where the surface left `{model}`.
    expect(gemini.upstream.passthrough('/{model}:generateContent', context, 'gemini-2.5-pro').url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent')
    expect(gemini.upstream.passthrough('/{model}:generateContent', context, 'tunedModels/mine').url).toBe('https://generativelanguage.googleapis.com/v1beta/tunedModels/mine:generateContent')
    expect(() => gemini.upstream.passthrough('/{model}:generateContent', context, '../files')).toThrow(/not a Gemini model name/)
  })

  it('counts tokens through upstream.countTokens (the IR codec surfaces of other dialects use)', () => {
    const codec = gemini.upstream.countTokens
    const built = codec.request(request, context)
    expect(built.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:countTokens')
    expect(codec.response({ totalTokens: 31, cachedContentTokenCount: 4 }, context)).toEqual({ inputTokens: 31, cachedInputTokens: 4 })
    expect(codec.response({ totalTokens: 12, promptTokensDetails: [] }, context)).toEqual({ inputTokens: 12 })
    expect(() => codec.response({ total: 1 }, context)).toThrow(/malformed response/)
  })

  it('counts tokens with the whole request (system instruction and tools included)', () => {
    const built = geminiCountTokensRequest(geminiEndpoint, request, context)
    expect(built.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:countTokens')
    expect(JSON.parse(built.body as string)).toEqual({ generateContentRequest: { model: 'models/gemini-2.5-flash', contents: [{ role: 'user', parts: [{ text: 'hi' }] }], systemInstruction: { parts: [{ text: 'S' }] } } })
    expect(parseCountTokensResponse({ totalTokens: 31, cachedContentTokenCount: 4, promptTokensDetails: [] })).toEqual({ totalTokens: 31, cachedContentTokenCount: 4, extra: { promptTokensDetails: [] } })
    expect(parseCountTokensRequest({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }, 'm').messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }])
    expect(renderCountTokensResponse(7)).toEqual({ totalTokens: 7 })
  })
})
