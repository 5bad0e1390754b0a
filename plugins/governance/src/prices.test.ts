import { describe, expect, it } from 'vitest'
import { baseModelName, costOf, createPriceBook, DEFAULT_PRICES } from './prices.js'

describe('the price table', () => {
  it('finds dated and -latest model names under their base name, and azure/vertex under openai/gemini', () => {
    const book = createPriceBook()
    expect(baseModelName('gpt-4o-2024-08-06')).toBe('gpt-4o')
    expect(baseModelName('claude-sonnet-4-5-20250929')).toBe('claude-sonnet-4-5')
    expect(baseModelName('gpt-4o')).toBeUndefined()
    expect(book.lookup('openai', 'gpt-4.1-nano-2025-04-14')).toBe(DEFAULT_PRICES['openai/gpt-4.1-nano'])
    expect(book.lookup('anthropic', 'claude-3-5-sonnet-latest')).toBe(DEFAULT_PRICES['anthropic/claude-3-5-sonnet'])
    expect(book.lookup('azure', 'gpt-4o')).toBe(DEFAULT_PRICES['openai/gpt-4o'])
    expect(book.lookup('vertex', 'gemini-2.5-flash')).toBe(DEFAULT_PRICES['gemini/gemini-2.5-flash'])
    expect(book.lookup('openai', 'no-such-model')).toBeUndefined()
    expect(book.knows('anthropic', 'gpt-4o')).toBe(false)
  })

  it('overrides win over the shipped table and add models', () => {
    const book = createPriceBook({ 'openai/gpt-4o': { input_cost_per_token: 1 }, 'acme/brand-new': { output_cost_per_token: 2 } })
    expect(book.lookup('openai', 'gpt-4o')).toEqual({ input_cost_per_token: 1 })
    expect(book.lookup('acme', 'brand-new')).toEqual({ output_cost_per_token: 2 })
  })
})

describe('costOf', () => {
  const price = { input_cost_per_token: 3e-6, output_cost_per_token: 15e-6, cache_read_input_token_cost: 0.3e-6, cache_creation_input_token_cost: 3.75e-6, batch_discount: 0.5 }

  it('charges plain, cached and cache-written input, and output, each at its own price', () => {
    const usage = { inputTokens: 1_000, cachedInputTokens: 600, cacheWriteInputTokens: 100, outputTokens: 200 }
    expect(costOf(price, usage)).toBeCloseTo(300 * 3e-6 + 600 * 0.3e-6 + 100 * 3.75e-6 + 200 * 15e-6, 12)
    expect(costOf(price, usage, { batch: true })).toBeCloseTo((300 * 3e-6 + 600 * 0.3e-6 + 100 * 3.75e-6 + 200 * 15e-6) / 2, 12)
  })

  it('prices reasoning tokens at the reasoning price when there is one, else as output', () => {
    expect(costOf({ output_cost_per_token: 1, output_cost_per_reasoning_token: 2 }, { inputTokens: 0, outputTokens: 10, reasoningTokens: 4 })).toBe(6 + 8)
    expect(costOf({ output_cost_per_token: 1 }, { inputTokens: 0, outputTokens: 10, reasoningTokens: 4 })).toBe(10)
  })

  it('is unknown, never 0, when a used part has no price or nothing was measured', () => {
    expect(costOf({ output_cost_per_token: 1 }, { inputTokens: 5, outputTokens: 1 })).toBeUndefined()
    expect(costOf(price, undefined)).toBeUndefined()
    expect(costOf(price, { inputTokens: undefined, outputTokens: undefined })).toBeUndefined()
    expect(costOf({ output_cost_per_image: 0.04 }, undefined, { images: 3 })).toBeCloseTo(0.12, 12)
    expect(costOf({ input_cost_per_token: 1 }, undefined, { images: 1 })).toBeUndefined()
  })

  it('charges audio by the second when the provider reported the duration', () => {
    expect(costOf({ input_cost_per_audio_per_second: 0.0001 }, { inputTokens: undefined, outputTokens: undefined, extra: { seconds: 90 } })).toBeCloseTo(0.009, 12)
    expect(costOf({ input_cost_per_audio_per_second: 0.0001 }, undefined)).toBeUndefined()
  })
})
