import { describe, expect, it } from 'vitest'
import { parseRerankRequest, renderRerankResponse } from './rerank.js'

describe('parseRerankRequest', () => {
  it('strings and document objects; options; unknown members kept in extra', () => {
    const request = parseRerankRequest({ model: 'cohere/rerank-v3.5', query: 'q', documents: ['a', { text: 'b', id: 'x', meta: { page: 2 } }], top_n: 1, return_documents: true, max_tokens_per_doc: 100, priority: 2 }, 'rerank-v3.5')
    expect(request).toEqual({
      model: 'rerank-v3.5',
      query: 'q',
      documents: [{ text: 'a' }, { text: 'b', id: 'x', meta: { page: 2 } }],
      topN: 1,
      returnDocuments: true,
      maxTokensPerDoc: 100,
      dialect: 'openai',
      extra: { priority: 2 },
    })
  })

  it('a bad body is a 400 naming the field', () => {
    const param = (body: Record<string, unknown>) => {
      try {
        parseRerankRequest(body, 'm')
      } catch (error) {
        return { status: (error as { status: number }).status, param: (error as { param?: string }).param }
      }
      return undefined
    }
    expect(param({ documents: ['a'] })).toEqual({ status: 400, param: 'query' })
    expect(param({ query: 'q', documents: 'a' })).toEqual({ status: 400, param: 'documents' })
    expect(param({ query: 'q', documents: [''] })).toEqual({ status: 400, param: 'documents[0]' })
    expect(param({ query: 'q', documents: ['a'], top_n: 1.5 })).toEqual({ status: 400, param: 'top_n' })
  })
})

describe('renderRerankResponse', () => {
  const request = parseRerankRequest({ query: 'q', documents: ['a', { text: 'b', id: 'x' }], return_documents: true }, 'm')

  it('results with the caller\'s documents when asked; token usage rendered', () => {
    const rendered = renderRerankResponse({ id: 'r1', model: '', results: [{ index: 1, relevanceScore: 0.9 }, { index: 0, relevanceScore: 0.1 }], usage: { inputTokens: 12, outputTokens: undefined, totalTokens: 12 }, dialect: 'openai' }, 'm', request)
    expect(rendered).toEqual({ id: 'r1', model: 'm', results: [{ index: 1, relevance_score: 0.9, document: { text: 'b', id: 'x' } }, { index: 0, relevance_score: 0.1, document: { text: 'a' } }], usage: { prompt_tokens: 12, total_tokens: 12 } })
  })

  it('another dialect\'s billing units stay out; no documents unless asked', () => {
    const plain = parseRerankRequest({ query: 'q', documents: ['a'] }, 'm')
    const rendered = renderRerankResponse({ model: '', results: [{ index: 0, relevanceScore: 0.5 }], usage: { inputTokens: undefined, outputTokens: undefined, extra: { billed_units: { search_units: 1 } } }, dialect: 'cohere' }, 'm', plain)
    expect(rendered).toEqual({ model: 'm', results: [{ index: 0, relevance_score: 0.5 }] })
  })
})
