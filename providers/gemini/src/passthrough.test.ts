import { describe, expect, it } from 'vitest'
import { GatewayError } from '@switchyard/core'
import { geminiStreamErrorFrame, replaceModelNames, usageFromGenerateContentData } from './passthrough.js'

describe('replaceModelNames', () => {
  it('renames every "model" member naming the caller\'s model, and touches no other byte', () => {
    const raw = '{"requests": [\n {"model" : "models/gemini/gemini-embedding-001", "content": {"parts": [{"text": "model: models/gemini/gemini-embedding-001"}]}},\n {"content": {"parts": [{"text": "b"}]}, "model":"models/gemini/gemini-embedding-001"}]}'
    expect(replaceModelNames(raw, 'gemini/gemini-embedding-001', 'gemini-embedding-001')).toBe(raw.replace('"model" : "models/gemini/gemini-embedding-001"', '"model" : "models/gemini-embedding-001"').replace('"model":"models/gemini/gemini-embedding-001"', '"model":"models/gemini-embedding-001"'))
    // A bare name in a "model" member is renamed too.
    expect(replaceModelNames('{"model": "gemini/gemini-2.5-flash"}', 'gemini/gemini-2.5-flash', 'gemini-2.5-flash')).toBe('{"model": "gemini-2.5-flash"}')
  })

  it('returns the raw text itself when nothing names the caller\'s model', () => {
    const raw = '{"contents": [{"parts": [{"text": "hi"}]}], "model": "models/other"}'
    expect(replaceModelNames(raw, 'gemini/gemini-2.5-flash', 'gemini-2.5-flash')).toBe(raw)
    expect(replaceModelNames(raw, 'gemini-2.5-flash', 'gemini-2.5-flash')).toBe(raw)
  })
})

describe('usageFromGenerateContentData', () => {
  it('reads usageMetadata from a body or one event, and nothing from one without it', () => {
    expect(usageFromGenerateContentData('{"candidates": [], "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 28, "thoughtsTokenCount": 244, "totalTokenCount": 281}}')).toEqual({
      inputTokens: 9, outputTokens: 272, totalTokens: 281, reasoningTokens: 244,
    })
    expect(usageFromGenerateContentData('{"candidates": [{"content": {"parts": [{"text": "usageMetadata"}]}}]}')).toBeUndefined()
    expect(usageFromGenerateContentData('{"embeddings": []}')).toBeUndefined()
  })
})

describe('geminiStreamErrorFrame', () => {
  it('is one CRLF-framed event holding the Google error body', () => {
    const frame = geminiStreamErrorFrame(new GatewayError({ status: 504, code: 'timeout', message: '[gemini] the upstream went silent' }))
    expect(frame).toBe('data: {"error":{"code":504,"message":"[gemini] the upstream went silent","status":"DEADLINE_EXCEEDED"}}\r\n\r\n')
  })
})
