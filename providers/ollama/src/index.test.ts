import { describe, expect, it } from 'vitest'
import type { ChatRequest } from '@switchyard/core'
import { testUpstreamContext } from '@switchyard/core/testing'
import ollama, { listOllamaModels, ollamaNativeRoot, ollamaTagsRequest, parseOllamaTags } from './index.js'

const chat: ChatRequest = { model: 'llama3.1:8b', dialect: 'anthropic', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], maxTokens: 64, stream: true, extra: {} }
const local = { ...testUpstreamContext('ollama'), key: undefined, baseURL: 'http://localhost:11434/v1' }

/** Shape of `GET /api/tags` as Ollama's API reference documents it (synthesized, not recorded). */
const tags = { models: [
  { name: 'llama3.1:8b', model: 'llama3.1:8b', modified_at: '2025-05-04T17:37:44.706015396-07:00', size: 4920753328, digest: 'a2f8', details: { family: 'llama', parameter_size: '8.0B', quantization_level: 'Q4_K_M' } },
  { name: 'nomic-embed-text:latest', model: 'nomic-embed-text:latest', size: 274302450, digest: '0a10', details: {} },
] }

describe('ollama', () => {
  it('is an OpenAI-compatible provider on localhost:11434/v1 that needs no key', () => {
    expect(ollama).toMatchObject({ id: 'ollama', spec: 1, dialect: 'openai', baseURL: 'http://localhost:11434/v1', requiresKey: false })
    expect([...ollama.upstream!.passthroughOperations!].sort()).toEqual(['chat', 'completions', 'embeddings'])
    expect(ollama.upstream!.streamUsage).toBe('on-request')
  })

  it('builds chat requests with max_tokens, usage asked for, model tags kept, no auth header', () => {
    const built = ollama.upstream!.chat!.request(chat, local)
    expect(built.url).toBe('http://localhost:11434/v1/chat/completions')
    expect(built.headers.authorization).toBeUndefined()
    expect(JSON.parse(built.body as string)).toEqual({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 64, stream: true, stream_options: { include_usage: true } })
  })

  it('lists pulled models from the native /api/tags', async () => {
    expect(ollamaNativeRoot('http://gpu:11434/v1/')).toBe('http://gpu:11434')
    expect(ollamaTagsRequest('http://gpu:11434/v1').url).toBe('http://gpu:11434/api/tags')
    expect(parseOllamaTags(tags)).toEqual(['llama3.1:8b', 'nomic-embed-text:latest'])
    const seen: string[] = []
    const fake = (async (url: string) => {
      seen.push(url)
      return new Response(JSON.stringify(tags), { headers: { 'content-type': 'application/json' } })
    }) as unknown as typeof fetch
    expect(await listOllamaModels(fake)).toEqual(['llama3.1:8b', 'nomic-embed-text:latest'])
    expect(seen).toEqual(['http://localhost:11434/api/tags'])
    expect(() => parseOllamaTags({ error: 'nope' })).toThrow(/malformed \/api\/tags answer/)
  })
})
