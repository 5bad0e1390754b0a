import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { toOpenAIChatUsage, usageFromOpenAI } from './usage.js'

const cassette = parse(readFileSync(new URL('../../../../shared/fixtures/openai/chat-prompt-cache.cassette.yaml', import.meta.url), 'utf8')) as { interactions: Array<{ response: { parsed_body: { usage: Record<string, unknown> } } }> }
const [written, read] = cassette.interactions.map((interaction) => interaction.response.parsed_body.usage)

describe('prompt cache counts', () => {
  it('cache_write_tokens is the cache-write part of prompt_tokens, cached_tokens the cache-read part', () => {
    expect(usageFromOpenAI(written)).toMatchObject({ inputTokens: 4020, cachedInputTokens: 0, cacheWriteInputTokens: 4012, outputTokens: 4 })
    expect(usageFromOpenAI(read)).toMatchObject({ inputTokens: 4020, cachedInputTokens: 4012, cacheWriteInputTokens: 0, outputTokens: 4 })
  })

  it('round trips to the same chat usage', () => {
    expect(toOpenAIChatUsage(usageFromOpenAI(written)!)).toEqual(written)
    expect(toOpenAIChatUsage(usageFromOpenAI(read)!)).toEqual(read)
  })
})
