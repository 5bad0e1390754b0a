import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { Warning } from '@switchyard/core'
import { testUpstreamContext } from '@switchyard/core/testing'
import cohere from './index.js'
import { parseCohereEmbedResponse, toCohereEmbedBody } from './embed.js'

const recorded = parse(readFileSync(new URL('../../../../shared/fixtures/cohere/embed.cassette.yaml', import.meta.url), 'utf8')) as { interactions: Array<{ request: { parsed_body: Record<string, unknown> }; response: { parsed_body: Record<string, any> } }> }
const exchange = recorded.interactions[0]!

describe('cohere embeddings', () => {
  it('asks for float vectors of texts with an input type, as the recorded request did', () => {
    const body = toCohereEmbedBody({ model: 'embed-v4.0', input: ['Hello, world!'], encodingFormat: 'base64', dialect: 'openai', extra: {} }, [])
    expect(body).toEqual({ model: 'embed-v4.0', texts: ['Hello, world!'], input_type: 'search_query', embedding_types: ['float'] })
    for (const key of ['model', 'texts', 'input_type', 'embedding_types']) expect(body[key]).toEqual(exchange.request.parsed_body[key])
  })

  it('takes input_type from the caller or the provider options, and dimensions as output_dimension', () => {
    const warnings: Warning[] = []
    expect(toCohereEmbedBody({ model: 'embed-v4.0', input: ['a'], dimensions: 256, dialect: 'openai', extra: { input_type: 'search_document' } }, warnings)).toMatchObject({ input_type: 'search_document', output_dimension: 256 })
    expect(warnings).toEqual([])
    const built = cohere.upstream!.embeddings!.request({ model: 'embed-v4.0', input: ['a'], extra: {} }, { ...testUpstreamContext('cohere'), baseURL: 'https://api.cohere.com/v2', config: { keys: [], options: { input_type: 'clustering' } } })
    expect(built.url).toBe('https://api.cohere.com/v2/embed')
    expect(JSON.parse(built.body as string).input_type).toBe('clustering')
    expect(() => toCohereEmbedBody({ model: 'm', input: ['a'], extra: { input_type: 'poetry' } }, [])).toThrow(/input_type must be one of/)
    expect(() => toCohereEmbedBody({ model: 'm', input: [[1, 2, 3]], extra: {} }, [])).toThrow('[cohere] Cohere embeds texts, not token ids')
  })

  it('reads the recorded answer: one 1536-float vector, billed input tokens as usage', () => {
    const response = parseCohereEmbedResponse(exchange.response.parsed_body)
    expect(response.data).toHaveLength(1)
    expect(response.data[0]!.embedding).toHaveLength(1536)
    expect(response.data[0]!.embedding).toEqual(exchange.response.parsed_body.embeddings.float[0])
    expect(response.usage).toMatchObject({ inputTokens: 4, outputTokens: undefined })
    expect(response.extra).toMatchObject({ id: '0728b136-9b30-4fb5-bf9a-2c7cf36d51d3', response_type: 'embeddings_by_type' })
  })
})
