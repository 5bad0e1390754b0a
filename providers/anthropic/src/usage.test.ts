import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { toAnthropicUsage, usageFromAnthropic } from './usage.js'

const recorded = JSON.parse(readFileSync(new URL('../../../../shared/fixtures/anthropic/messages-thinking.json', import.meta.url), 'utf8')).usage

describe('Anthropic usage', () => {
  it('adds cache reads and writes into inputTokens and splits them again on the way back', () => {
    const usage = usageFromAnthropic({ input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 5, output_tokens: 7 })!
    expect(usage).toMatchObject({ inputTokens: 115, cachedInputTokens: 100, cacheWriteInputTokens: 5, outputTokens: 7, totalTokens: 122 })
    expect(toAnthropicUsage(usage)).toEqual({ input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 7 })
  })

  it('maps thinking tokens to reasoningTokens and round trips the recorded usage exactly', () => {
    const usage = usageFromAnthropic(recorded)!
    expect(usage.reasoningTokens).toBe(139)
    expect(toAnthropicUsage(usage)).toEqual(recorded)
  })

  it('keeps OpenAI-only detail fields out of an Anthropic body', () => {
    const body = toAnthropicUsage({ inputTokens: 3, outputTokens: 2, cachedInputTokens: 1, extra: { prompt_tokens_details: { audio_tokens: 0 }, completion_tokens_details: { accepted_prediction_tokens: 0 } } })
    expect(body).toEqual({ input_tokens: 2, cache_read_input_tokens: 1, output_tokens: 2 })
  })

  it('leaves unknown counts unknown', () => {
    expect(usageFromAnthropic({ output_tokens: 4 })).toEqual({ inputTokens: undefined, outputTokens: 4 })
  })
})
