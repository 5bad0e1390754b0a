import { describe, expect, it } from 'vitest'
import type { ChatResponse, Warning } from '@switchyard/core'
import { json, recording } from '../test/fixtures.js'
import { mapGeminiFinishReason, toGeminiFinishReason } from './finish-reason.js'
import { parseGenerateContentResponse, renderGenerateContentResponse } from './response.js'

describe('parseGenerateContentResponse', () => {
  it('reads text with its thought signature (recorded)', () => {
    const response = parseGenerateContentResponse(json('generate-content-text.json'))
    expect(response).toMatchObject({ id: 'Un6LacrVMcjUxs0PmJfWoQc', model: 'gemini-3-pro-preview', created: 0, dialect: 'gemini' })
    expect(response.choices[0]!.message.content).toEqual([
      { type: 'reasoning', text: '', signature: expect.stringMatching(/^EtoFCtcF/) },
      { type: 'text', text: "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y." },
    ])
    expect(response.choices[0]!.finishReason).toEqual({ unified: 'stop', raw: 'STOP' })
  })

  it('gives a function call a stable made-up id and finishes with tool-calls (recorded)', () => {
    const first = parseGenerateContentResponse(json('generate-content-tool-call.json'))
    const again = parseGenerateContentResponse(json('generate-content-tool-call.json'))
    expect(first.choices[0]!.message.content[1]).toEqual({ type: 'tool-call', id: 'call_0_weather', name: 'weather', arguments: '{"location":"San Francisco"}' })
    expect(again.choices[0]!.message.content[1]).toEqual(first.choices[0]!.message.content[1])
    expect(first.choices[0]!.finishReason).toEqual({ unified: 'tool-calls', raw: 'STOP' })
    expect(first.choices[0]!.message.extra).toEqual({ finishMessage: 'Model generated function call(s).' })
  })

  it('keeps a function call id Gemini sent, and numbers calls per candidate', () => {
    const response = parseGenerateContentResponse({
      candidates: [
        { content: { role: 'model', parts: [{ functionCall: { id: 'abc', name: 'f', args: { x: 1 } } }, { functionCall: { name: 'f' } }] }, finishReason: 'STOP', index: 0 },
        { content: { role: 'model', parts: [{ functionCall: { name: 'g', args: {} } }] }, finishReason: 'MAX_TOKENS', index: 1 },
      ],
    })
    expect(response.choices.map((choice) => choice.message.content.map((part) => (part.type === 'tool-call' ? `${part.id} ${part.arguments}` : part.type)))).toEqual([
      ['abc {"x":1}', 'call_1_f {}'],
      ['call_0_g {}'],
    ])
    expect(response.choices[1]!.finishReason).toEqual({ unified: 'length', raw: 'MAX_TOKENS' })
  })

  it('reads a thought part as reasoning (recorded v1alpha thinking)', () => {
    const response = parseGenerateContentResponse(recording('generate-content-thinking.recording.json')[0]!.response.bodySegments[0])
    expect(response.choices[0]!.message.content).toEqual([{ type: 'reasoning', text: expect.stringMatching(/^\*\*Breaking Down/) }])
    expect(response.choices[0]!.finishReason).toEqual({ unified: 'length', raw: 'MAX_TOKENS' })
    expect(response.usage).toEqual({ inputTokens: 17, outputTokens: 19, totalTokens: 36, reasoningTokens: 19, extra: { promptTokensDetails: [{ modality: 'TEXT', tokenCount: 17 }] } })
    expect(response.extra).toEqual({ turnToken: expect.any(String) })
  })

  it('joins an empty signed thought part to the thought before it', () => {
    const response = parseGenerateContentResponse({ candidates: [{ content: { parts: [{ text: 'hmm', thought: true }, { text: '', thought: true, thoughtSignature: 's1' }, { text: 'answer' }] }, finishReason: 'STOP' }] })
    expect(response.choices[0]!.message.content).toEqual([{ type: 'reasoning', text: 'hmm', signature: 's1' }, { type: 'text', text: 'answer' }])
  })

  it('turns a blocked prompt into one empty content-filter choice', () => {
    const response = parseGenerateContentResponse({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 }, modelVersion: 'gemini-2.5-flash' })
    expect(response.choices).toEqual([{ index: 0, message: { role: 'assistant', content: [] }, finishReason: { unified: 'content-filter', raw: 'PROHIBITED_CONTENT' } }])
    expect(response.usage).toEqual({ inputTokens: 8, outputTokens: undefined, totalTokens: 8 })
  })

  it('reads Vertex AI\'s createTime as created', () => {
    const response = parseGenerateContentResponse({ candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP' }], createTime: '2025-08-16T00:45:58.123456Z', responseId: 'r' })
    expect(response.created).toBe(1755305158)
  })

  it('refuses a malformed body with a 502', () => {
    expect(() => parseGenerateContentResponse({ candidates: 'nope' }, { provider: 'vertex' })).toThrowError(/\[vertex\] malformed response/)
  })
})

describe('finish reasons', () => {
  it.each([
    ['STOP', 'stop'], ['MAX_TOKENS', 'length'], ['SAFETY', 'content-filter'], ['RECITATION', 'content-filter'], ['BLOCKLIST', 'content-filter'],
    ['PROHIBITED_CONTENT', 'content-filter'], ['SPII', 'content-filter'], ['MALFORMED_FUNCTION_CALL', 'error'], ['LANGUAGE', 'other'], ['OTHER', 'other'],
    ['SOMETHING_NEW', 'other'],
  ])('%s -> %s', (raw, unified) => {
    expect(mapGeminiFinishReason(raw)).toEqual({ unified, raw })
  })

  it('renders unified reasons back, keeping Gemini raw values', () => {
    expect(toGeminiFinishReason({ unified: 'tool-calls', raw: 'tool_use' })).toBe('STOP')
    expect(toGeminiFinishReason({ unified: 'length', raw: 'max_tokens' })).toBe('MAX_TOKENS')
    expect(toGeminiFinishReason({ unified: 'content-filter', raw: 'RECITATION' })).toBe('RECITATION')
    expect(toGeminiFinishReason({ unified: 'other', raw: 'pause_turn' })).toBe('OTHER')
  })
})

describe('renderGenerateContentResponse', () => {
  it.each(['generate-content-text.json', 'generate-content-tool-call.json'])('gives a recorded response back unchanged: %s', (path) => {
    const body = json(path)
    expect(renderGenerateContentResponse(parseGenerateContentResponse(body), body.modelVersion)).toEqual(body)
  })

  it('renders an IR answer from another dialect for a Gemini client', () => {
    const response: ChatResponse = {
      id: 'chatcmpl-1', model: 'gpt-4o', created: 1, dialect: 'openai', extra: { system_fingerprint: 'fp' },
      choices: [{
        index: 0,
        message: { role: 'assistant', content: [
          { type: 'reasoning', text: '', redacted: 'opaque' },
          { type: 'text', text: 'Calling.' },
          { type: 'tool-call', id: 'call_Xyz', name: 'lookup', arguments: '{"q":"x"}' },
        ], extra: { annotations: [] } },
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      }],
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cachedInputTokens: 4, reasoningTokens: 2, extra: { prompt_tokens_details: {} } },
    }
    const warnings: Warning[] = []
    expect(renderGenerateContentResponse(response, 'openai/gpt-4o', warnings)).toEqual({
      candidates: [{ content: { parts: [{ text: 'Calling.' }, { functionCall: { name: 'lookup', args: { q: 'x' }, id: 'call_Xyz' } }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 3, cachedContentTokenCount: 4, thoughtsTokenCount: 2, totalTokenCount: 15 },
      modelVersion: 'openai/gpt-4o',
      responseId: 'chatcmpl-1',
    })
    expect(warnings).toEqual([{ type: 'unsupported', feature: 'redacted reasoning', details: 'choices[0].message.content[0]: Gemini has no redacted thinking; left out' }])
  })
})
