import { describe, expect, it } from 'vitest'
import type { RerankRequest, Warning } from '@switchyard/core'
import { parseCohereRerankResponse, toCohereRerankBody } from './rerank.js'

const request: RerankRequest = {
  model: 'rerank-v3.5',
  query: 'What is the capital of the United States?',
  documents: [{ text: 'Carson City is the capital city of the American state of Nevada.', id: 'nv' }, { text: 'Washington, D.C. is the capital of the United States.' }],
  topN: 1,
  maxTokensPerDoc: 4096,
  returnDocuments: true,
  dialect: 'openai',
  extra: { priority: 1 },
}

describe('toCohereRerankBody', () => {
  it('texts only (ids and metadata stay with the request); options; foreign extras reported, not sent', () => {
    const warnings: Warning[] = []
    expect(toCohereRerankBody(request, warnings)).toEqual({
      model: 'rerank-v3.5',
      query: 'What is the capital of the United States?',
      documents: ['Carson City is the capital city of the American state of Nevada.', 'Washington, D.C. is the capital of the United States.'],
      top_n: 1,
      max_tokens_per_doc: 4096,
    })
    expect(warnings).toEqual([{ type: 'unsupported', feature: 'priority', details: 'openai field has no cohere equivalent' }])
  })

  it('a Cohere-dialect request keeps its own extras', () => {
    expect(toCohereRerankBody({ ...request, dialect: 'cohere', extra: { rank_fields: ['text'] } }, [])).toMatchObject({ rank_fields: ['text'] })
  })
})

describe('parseCohereRerankResponse', () => {
  // The shape of https://docs.cohere.com/reference/rerank's example answer (v2).
  const answer = { id: '07734bd2-2473-4f07-94e1-0d9f0e6843cf', results: [{ index: 1, relevance_score: 0.999071 }, { index: 0, relevance_score: 0.32713068 }], meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } } }

  it('results in order, search units as usage extra', () => {
    expect(parseCohereRerankResponse(answer)).toEqual({
      id: '07734bd2-2473-4f07-94e1-0d9f0e6843cf',
      model: '',
      results: [{ index: 1, relevanceScore: 0.999071 }, { index: 0, relevanceScore: 0.32713068 }],
      usage: { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined, extra: { billed_units: { search_units: 1 } } },
      dialect: 'cohere',
    })
  })

  it('no meta: usage unknown; a malformed answer is a 502', () => {
    expect(parseCohereRerankResponse({ results: [] }).usage).toBeUndefined()
    expect(() => parseCohereRerankResponse({ results: [{ index: -1, relevance_score: 1 }] })).toThrow(/malformed rerank response from cohere at 'results.0.index'/)
  })
})
