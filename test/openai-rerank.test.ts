import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { expectOpenAIError } from './support/e2e.js'
import { CALLER_KEY, launchGateway, type LaunchedGateway } from './support/gateway.js'
import { PREFIXES, rankedAnswer, startCapabilityUpstream, type CapabilityUpstream } from './support/capabilities-upstream.js'

/**
 * `POST /openai/v1/rerank` (Bifrost's rerank shape: `{model, query, documents, top_n,
 * return_documents, max_tokens_per_doc}`): translated to Cohere's `/v2/rerank`, forwarded byte for
 * byte to OpenAI-compatible servers that serve `/rerank` (Together, vLLM), a 400 naming the
 * provider elsewhere. No rerank recording exists; the upstream answers are written from each
 * provider's API reference (`support/capabilities-upstream.ts`), Cohere's after checking the
 * request has only the fields its v2 API takes.
 */

const key = (value: string) => [{ value, models: [], weight: 1 }]

let upstream: CapabilityUpstream
let gateway: LaunchedGateway

beforeAll(async () => {
  upstream = await startCapabilityUpstream()
  const at = (id: string) => ({ base_url: `${upstream.url}${PREFIXES[id]}` })
  gateway = await launchGateway({
    providers: {
      cohere: { keys: key('co-rerank-key-1'), network_config: at('cohere') },
      together: { keys: key('tg-rerank-key-1'), network_config: at('together') },
      vllm: { network_config: at('vllm') },
      // Nothing may reach these.
      openai: { keys: key('sk-never-sent-000000'), network_config: { base_url: 'http://127.0.0.1:9/v1' } },
      anthropic: { keys: key('sk-ant-never-sent'), network_config: { base_url: 'http://127.0.0.1:9/v1' } },
    },
  })
})
afterAll(async () => {
  await gateway?.close()
  await upstream?.close()
})
afterEach(() => {
  upstream.requests.length = 0
})

const rerank = (body: unknown, path = '/openai/v1/rerank') =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${CALLER_KEY}` }, body: typeof body === 'string' ? body : JSON.stringify(body) })

const documents = [
  { id: 'a', text: 'Switchyard supports observability plugins.', meta: { source: 'docs' } },
  'Paris is the capital of France.',
  { text: 'Switchyard routes requests to many LLM providers.' },
]

describe('cohere: translated to /v2/rerank', () => {
  it('documents as texts, top_n; the ranking comes back with the caller\'s documents', async () => {
    const response = await rerank({ model: 'cohere/rerank-v3.5', query: 'What does Switchyard route?', documents, top_n: 2, return_documents: true })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-bf-provider')).toBe('cohere')
    const sent = upstream.last('/cohere')!
    expect(sent.path).toBe('/cohere/v2/rerank')
    expect(sent.headers.authorization).toBe('Bearer co-rerank-key-1')
    expect(sent.json).toEqual({ model: 'rerank-v3.5', query: 'What does Switchyard route?', documents: documents.map((document) => (typeof document === 'string' ? document : document.text)), top_n: 2 })
    const answered = rankedAnswer(sent.json, 'cohere') as { id: string; results: Array<{ index: number; relevance_score: number }> }
    const body = await response.json()
    expect(body).toEqual({
      id: answered.id,
      model: 'rerank-v3.5',
      results: answered.results.map((result) => ({ ...result, document: typeof documents[result.index] === 'string' ? { text: documents[result.index] } : documents[result.index] })),
      extra_fields: { provider: 'cohere', model_requested: 'rerank-v3.5', fallback_index: 0 },
    })
    // Both name Switchyard: a tie, kept in input order by the mock.
    expect(body.results.map((result: { index: number }) => result.index)).toEqual([0, 2])
  })

  it('without return_documents: indexes and scores only; max_tokens_per_doc is sent', async () => {
    const response = await rerank({ model: 'cohere/rerank-v3.5', query: 'capital', documents: ['Berlin', 'Paris is the capital'], max_tokens_per_doc: 512 })
    const body = await response.json()
    expect(body.results).toEqual([{ index: 1, relevance_score: 1 }, { index: 0, relevance_score: 0.5 }])
    expect(upstream.last('/cohere')!.json).toEqual({ model: 'rerank-v3.5', query: 'capital', documents: ['Berlin', 'Paris is the capital'], max_tokens_per_doc: 512 })
  })

  it('a field Cohere does not take is left out and reported in x-switchyard-warnings', async () => {
    const response = await rerank({ model: 'cohere/rerank-v3.5', query: 'q', documents: ['d'], priority: 3 }, '/openai/rerank')
    expect(response.status).toBe(200)
    expect(upstream.last('/cohere')!.json).toEqual({ model: 'rerank-v3.5', query: 'q', documents: ['d'] })
    expect(JSON.parse(response.headers.get('x-switchyard-warnings')!)).toEqual([{ type: 'unsupported', feature: 'priority', details: 'openai field has no cohere equivalent' }])
  })
})

describe('OpenAI-compatible servers with /rerank: forwarded byte for byte', () => {
  it('together: the body with only the model replaced, the answer as it came', async () => {
    const raw = '{"model":"together/Salesforce/Llama-Rank-V1","query":"capital of France","documents":["Paris","Berlin"],"top_n":1,"return_documents":true,"rank_fields":null}'
    const response = await rerank(raw)
    expect(response.status).toBe(200)
    const sent = upstream.last('/together')!
    expect(sent.path).toBe('/together/v1/rerank')
    expect(sent.headers.authorization).toBe('Bearer tg-rerank-key-1')
    expect(Buffer.from(sent.bytes).toString()).toBe(raw.replace('together/Salesforce/Llama-Rank-V1', 'Salesforce/Llama-Rank-V1'))
    expect(await response.text()).toBe(JSON.stringify(rankedAnswer(sent.json, 'together')))
  })

  it('vllm (no key): forwarded to <base>/rerank', async () => {
    const response = await rerank({ model: 'vllm/BAAI/bge-reranker-v2-m3', query: 'q', documents: ['a', 'b'] })
    expect(response.status).toBe(200)
    const sent = upstream.last('/vllm')!
    expect(sent.path).toBe('/vllm/v1/rerank')
    expect(sent.headers.authorization).toBeUndefined()
    expect(sent.json.model).toBe('BAAI/bge-reranker-v2-m3')
  })
})

describe('refused before anything is sent', () => {
  it('a provider without rerank: 400 naming it (openai has no rerank endpoint; anthropic neither)', async () => {
    for (const model of ['gpt-4o', 'openai/gpt-4o', 'anthropic/claude-sonnet-4-5']) {
      const response = await rerank({ model, query: 'q', documents: ['a'] })
      expect(response.status).toBe(400)
      const body = await response.json()
      expectOpenAIError(body)
      expect(body.error.message).toBe(`[${model.startsWith('anthropic') ? 'anthropic' : 'openai'}] provider does not support POST /rerank`)
      expect(body.error.type).toBe('invalid_request_error')
    }
    expect(upstream.requests).toEqual([])
  })

  it('bad bodies: 400 with the field in param', async () => {
    const cases: Array<[unknown, string | null]> = [
      [{ query: 'q', documents: ['a'] }, 'model'],
      [{ model: 'cohere/rerank-v3.5', documents: ['a'] }, 'query'],
      [{ model: 'cohere/rerank-v3.5', query: '', documents: ['a'] }, 'query'],
      [{ model: 'cohere/rerank-v3.5', query: 'q', documents: [] }, 'documents'],
      [{ model: 'cohere/rerank-v3.5', query: 'q', documents: [{ id: 'x' }] }, 'documents[0]'],
      [{ model: 'together/m', query: 'q', documents: ['a'], top_n: 0 }, 'top_n'],
      [{ model: 'together/m', query: 'q', documents: ['a'], return_documents: 'yes' }, 'return_documents'],
    ]
    for (const [body, param] of cases) {
      const response = await rerank(body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      const error = await response.json()
      expectOpenAIError(error)
      expect(error.error.param, JSON.stringify(body)).toBe(param)
    }
    const notJson = await rerank('{"model":')
    expect(notJson.status).toBe(400)
    expectOpenAIError(await notJson.json())
    expect(upstream.requests).toEqual([])
  })
})
