import { describe, expect, it } from 'vitest'
import { isUsageOnlyChunk, passthroughBody, usageFromChatData, usageFromResponsesData } from './passthrough.js'

const call = (raw: string, model: string, inject = false) => passthroughBody(raw, JSON.parse(raw), model, inject)

describe('passthroughBody', () => {
  it('forwards the caller bytes untouched when the model does not change', () => {
    const raw = '{ "model" : "gpt-4o",\n "temperature": 1.0, "x_future": {"a": [1, 2.50]} }'
    expect(call(raw, 'gpt-4o')).toBe(raw)
  })

  it('replaces only the model value, keeping formatting, number spelling and unknown fields', () => {
    const raw = '{"model": "openai/gpt-4o-mini", "temperature": 1.0, "x_future": {"model": "other"}}'
    expect(call(raw, 'gpt-4o-mini')).toBe('{"model": "gpt-4o-mini", "temperature": 1.0, "x_future": {"model": "other"}}')
  })

  it('falls back to re-serializing when the model value is ambiguous', () => {
    const raw = '{"metadata": {"model": "openai/x"}, "model": "openai/x"}'
    const out = JSON.parse(call(raw, 'x'))
    expect(out).toEqual({ metadata: { model: 'openai/x' }, model: 'x' })
  })

  it('handles models that need JSON escaping', () => {
    const raw = JSON.stringify({ model: 'openai/we"ird', messages: [] })
    expect(JSON.parse(call(raw, 'we"ird')).model).toBe('we"ird')
  })

  it('adds stream_options.include_usage when asked to inject usage', () => {
    const raw = '{"model":"openai/gpt-4o","stream":true,"messages":[]}'
    const out = call(raw, 'gpt-4o', true)
    expect(out).toBe('{"stream_options":{"include_usage":true},"model":"gpt-4o","stream":true,"messages":[]}')
    expect(JSON.parse(out).stream_options).toEqual({ include_usage: true })
  })

  it('merges into existing stream_options instead of duplicating the key', () => {
    const raw = '{"model":"gpt-4o","stream":true,"stream_options":{"include_obfuscation":false}}'
    expect(JSON.parse(call(raw, 'gpt-4o', true)).stream_options).toEqual({ include_obfuscation: false, include_usage: true })
  })
})

describe('usage observation', () => {
  it('reads chat usage and recognises the usage-only chunk', () => {
    const chunk = '{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}}'
    expect(usageFromChatData(chunk)).toMatchObject({ inputTokens: 9, outputTokens: 2, totalTokens: 11, cachedInputTokens: 4 })
    expect(isUsageOnlyChunk(chunk)).toBe(true)
    expect(isUsageOnlyChunk('{"choices":[{"delta":{"content":"x"}}],"usage":null}')).toBe(false)
    expect(usageFromChatData('{"choices":[{"delta":{"content":"x"}}],"usage":null}')).toBeUndefined()
  })

  it('reads Responses usage from response.completed', () => {
    const event = '{"type":"response.completed","response":{"id":"resp_1","usage":{"input_tokens":5,"output_tokens":7,"total_tokens":12,"output_tokens_details":{"reasoning_tokens":3}}}}'
    expect(usageFromResponsesData(event)).toMatchObject({ inputTokens: 5, outputTokens: 7, reasoningTokens: 3 })
  })
})
