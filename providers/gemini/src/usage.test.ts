import { describe, expect, it } from 'vitest'
import { json } from '../test/fixtures.js'
import { toGeminiUsage, usageFromGemini } from './usage.js'

describe('usageFromGemini', () => {
  it('adds thoughts to the output: candidatesTokenCount leaves them out (recorded)', () => {
    // 9 prompt + 28 candidates + 244 thoughts = 281 total.
    expect(usageFromGemini(json('generate-content-text.json').usageMetadata)).toEqual({
      inputTokens: 9,
      outputTokens: 272,
      totalTokens: 281,
      reasoningTokens: 244,
      extra: { promptTokensDetails: [{ modality: 'TEXT', tokenCount: 9 }] },
    })
  })

  it('counts cached content inside the prompt and tool-use prompt tokens as input', () => {
    expect(usageFromGemini({ promptTokenCount: 1000, cachedContentTokenCount: 800, toolUsePromptTokenCount: 50, candidatesTokenCount: 20, totalTokenCount: 1070 })).toEqual({
      inputTokens: 1050,
      outputTokens: 20,
      totalTokens: 1070,
      cachedInputTokens: 800,
      extra: { toolUsePromptTokenCount: 50 },
    })
  })

  it('leaves counts Gemini did not send undefined, never 0', () => {
    // A stream's first event: only the prompt is counted so far.
    expect(usageFromGemini({ promptTokenCount: 15, totalTokenCount: 15 })).toEqual({ inputTokens: 15, outputTokens: undefined, totalTokens: 15 })
    expect(usageFromGemini({ thoughtsTokenCount: 7 })).toEqual({ inputTokens: undefined, outputTokens: 7, reasoningTokens: 7 })
    expect(usageFromGemini(undefined)).toBeUndefined()
  })
})

describe('toGeminiUsage', () => {
  it('is the inverse of usageFromGemini', () => {
    for (const raw of [
      json('generate-content-text.json').usageMetadata,
      json('generate-content-tool-call.json').usageMetadata,
      { promptTokenCount: 1000, cachedContentTokenCount: 800, toolUsePromptTokenCount: 50, candidatesTokenCount: 20, totalTokenCount: 1070 },
    ]) expect(toGeminiUsage(usageFromGemini(raw))).toEqual(raw)
  })

  it('leaves unknown counts out and fills the total when both sides are known', () => {
    expect(toGeminiUsage({ inputTokens: 3, outputTokens: undefined })).toEqual({ promptTokenCount: 3 })
    expect(toGeminiUsage({ inputTokens: 3, outputTokens: 4 })).toEqual({ promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 })
  })
})
