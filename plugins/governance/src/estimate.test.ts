import { describe, expect, it } from 'vitest'
import { ATTACHMENT_TOKENS, estimateRequest, outputCapOf } from './estimate.js'

describe('estimateRequest', () => {
  it('counts about a token per 4 characters of text, and the output cap times n', () => {
    const body = { model: 'a-very-long-model-name-that-does-not-count', messages: [{ role: 'user', content: 'x'.repeat(36) }], max_tokens: 50, n: 2 }
    expect(estimateRequest('chat', body, 1024)).toEqual({ inputTokens: 10, outputTokens: 100, images: undefined })
  })

  it('takes the default output when the request sets no cap; none for operations without completions', () => {
    expect(estimateRequest('chat', { messages: [] }, 700).outputTokens).toBe(700)
    expect(estimateRequest('embeddings', { input: 'abcd' }, 700)).toEqual({ inputTokens: 1, outputTokens: 0, images: undefined })
    expect(estimateRequest('imageGenerations', { prompt: 'a cat', n: 3 }, 700)).toMatchObject({ outputTokens: 0, images: 3 })
  })

  it('counts an inline image or file as a fixed amount, not by its base64 length', () => {
    const image = `data:image/png;base64,${'A'.repeat(200_000)}`
    const raw = 'B'.repeat(10_000)
    const body = { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'image', source: { data: raw } }] }] }
    // The text is the role and the two part types; the two attachments count a fixed amount each.
    expect(estimateRequest('chat', body, 0).inputTokens).toBe(Math.ceil('user image_url image'.replaceAll(' ', '').length / 4) + 2 * ATTACHMENT_TOKENS)
  })

  it('reads every dialect\'s output cap', () => {
    expect(outputCapOf({ max_completion_tokens: 5, max_tokens: 9 })).toBe(5)
    expect(outputCapOf({ max_output_tokens: 7 })).toBe(7)
    expect(outputCapOf({ generationConfig: { maxOutputTokens: 8 } })).toBe(8)
    expect(outputCapOf({ max_tokens: 0 })).toBeUndefined()
  })
})
