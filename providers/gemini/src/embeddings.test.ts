import { describe, expect, it } from 'vitest'
import { GatewayError, type Warning } from '@switchyard/core'
import { cassette } from '../test/fixtures.js'
import {
  floatsOfBase64, parseBatchEmbedContentsRequest, parseBatchEmbedContentsResponse, parseEmbedContentRequest, renderBatchEmbedContentsResponse,
  renderEmbedContentResponse, toBatchEmbedContentsBody,
} from './embeddings.js'

const recorded = cassette('batch-embed-contents.cassette.yaml')[0]!

describe('batchEmbedContents', () => {
  it('parses the recorded request and encodes it back unchanged', () => {
    const request = parseBatchEmbedContentsRequest(recorded.request.parsed_body, 'gemini-embedding-2-preview')
    expect(request).toEqual({ model: 'gemini-embedding-2-preview', input: ['Hello, world!'], dimensions: 768, dialect: 'gemini', extra: { requests: [{ taskType: 'RETRIEVAL_QUERY' }] } })
    const warnings: Warning[] = []
    expect(toBatchEmbedContentsBody(request, { modelPath: 'models/gemini-embedding-2-preview', warnings })).toEqual(recorded.request.parsed_body)
    expect(warnings).toEqual([])
  })

  it('decodes the recorded response: one 768-value vector, no usage', () => {
    const response = parseBatchEmbedContentsResponse(recorded.response.parsed_body)
    expect(response.data).toHaveLength(1)
    expect(response.data[0]!.index).toBe(0)
    expect(response.data[0]!.embedding).toHaveLength(768)
    expect(response.usage).toBeUndefined()
    expect(renderBatchEmbedContentsResponse(response)).toEqual(recorded.response.parsed_body)
  })

  it('encodes an OpenAI-style request, warning about user and foreign extras', () => {
    const warnings: Warning[] = []
    const body = toBatchEmbedContentsBody(
      { model: 'gemini-embedding-001', input: ['a', 'b'], dimensions: 256, encodingFormat: 'base64', user: 'u', dialect: 'openai', extra: { foo: 1 } },
      { modelPath: 'models/gemini-embedding-001', warnings },
    )
    expect(body).toEqual({ requests: [
      { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] }, outputDimensionality: 256 },
      { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'b' }] }, outputDimensionality: 256 },
    ] })
    expect(warnings.map((warning) => ('feature' in warning ? warning.feature : ''))).toEqual(['foo', 'user'])
  })

  it('refuses token ids with a 400', () => {
    expect(() => toBatchEmbedContentsBody({ model: 'm', input: [[1, 2]], extra: {} }, { modelPath: 'models/m' })).toThrow(GatewayError)
  })

  it('parses and renders the single embedContent shape, decoding base64 vectors', () => {
    const request = parseEmbedContentRequest({ content: { parts: [{ text: 'x' }] }, taskType: 'SEMANTIC_SIMILARITY' }, 'gemini-embedding-001')
    expect(request).toMatchObject({ input: ['x'], extra: { requests: [{ taskType: 'SEMANTIC_SIMILARITY' }] } })
    const floats = new Float32Array([0.5, -1.25])
    const base64 = btoa(String.fromCharCode(...new Uint8Array(floats.buffer)))
    expect(floatsOfBase64(base64)).toEqual([0.5, -1.25])
    expect(renderEmbedContentResponse({ model: 'm', data: [{ index: 0, embedding: base64 }], usage: undefined, dialect: 'openai' })).toEqual({ embedding: { values: [0.5, -1.25] } })
  })
})
