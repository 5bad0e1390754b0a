import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { parse } from 'yaml'
import { ERROR_MODELS, RATE_LIMIT_RETRY_AFTER, startMockOpenAI, type MockOpenAI } from './mock-openai.js'
import { validateOpenAIRequest } from './openapi.js'

// Expected bytes are rebuilt here straight from the files and the README's framing rules,
// independently of the mock's own fixture helpers.
const file = (name: string) => readFileSync(new URL(`../../../shared/fixtures/openai/${name}`, import.meta.url), 'utf8')
const lines = (name: string) => file(name).split('\n').filter(Boolean)
const rawCassetteBody = (name: string, index: number): string => {
  const document = parse(file(name)) as { interactions: Array<{ response: { body: string | { string: string } } }> }
  const body = document.interactions[index]!.response.body
  return typeof body === 'string' ? body : body.string
}

const KEY = { authorization: 'Bearer sk-test' }

/** Raw HTTP exchange: status, headers, the body chunks as the client received them. */
function exchange(mock: MockOpenAI, method: string, path: string, body?: unknown, headers: Record<string, string> = KEY) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; chunks: string[]; text: string }>((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    const req = httpRequest(`${mock.url}${path}`, { method, headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: string[] = []
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, chunks, text: chunks.join('') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

const hello = [{ role: 'user', content: 'Hello!' }]

describe('mock OpenAI upstream', () => {
  let mock: MockOpenAI
  beforeAll(async () => {
    mock = await startMockOpenAI()
  })
  afterAll(() => mock.close())
  beforeEach(() => mock.reset())

  it('replays the plain chat completion byte for byte', async () => {
    const response = await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-4.1-nano', messages: hello })
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('application/json')
    expect(response.text).toBe(file('chat-text.json'))
  })

  it('streams the text fixture one event per write, byte-exact, with the usage chunk when asked', async () => {
    const response = await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-4.1-nano', messages: hello, stream: true, stream_options: { include_usage: true } })
    const expected = lines('chat-stream-text.chunks.txt').map((line) => `data: ${line}\n\n`).join('') + 'data: [DONE]\n\n'
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(response.text).toBe(expected)
    expect(response.chunks.length).toBeGreaterThan(10)
    for (const chunk of response.chunks) expect(chunk.endsWith('\n\n')).toBe(true)
  })

  it('leaves the usage-only chunk out when the request does not ask for usage', async () => {
    const response = await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-4.1-nano', messages: hello, stream: true })
    const all = lines('chat-stream-text.chunks.txt')
    const expected = all.slice(0, -1).map((line) => `data: ${line}\n\n`).join('') + 'data: [DONE]\n\n'
    expect(all.at(-1)).toContain('"choices":[]')
    expect(response.text).toBe(expected)
  })

  it('replays recorded SSE bodies from cassettes verbatim (tool call, parallel tool calls, tool result turn)', async () => {
    const tool = { type: 'function', function: { name: 'get_capital', parameters: { type: 'object', properties: { country: { type: 'string' } } } } }
    const other = { type: 'function', function: { name: 'get_country', parameters: { type: 'object', properties: {} } } }
    const base = { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true } }
    const single = await exchange(mock, 'POST', '/v1/chat/completions', { ...base, messages: hello, tools: [tool] })
    expect(single.text).toBe(rawCassetteBody('chat-stream-tool-call.cassette.yaml', 0))
    const parallel = await exchange(mock, 'POST', '/v1/chat/completions', { ...base, messages: hello, tools: [tool, other] })
    expect(parallel.text).toBe(rawCassetteBody('chat-stream-parallel-tool-calls.cassette.yaml', 1))
    const history = [...hello, { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_capital', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_1', content: 'London' }]
    const answer = await exchange(mock, 'POST', '/v1/chat/completions', { ...base, messages: history, tools: [tool] })
    expect(answer.text).toBe(rawCassetteBody('chat-stream-tool-call.cassette.yaml', 1))
    expect(mock.requests.map((request) => request.specErrors)).toEqual([[], [], []])
  })

  it('replays the non-streamed tool call with its recorded headers', async () => {
    const tool = { type: 'function', function: { name: 'get_current_weather', parameters: { type: 'object' } } }
    const response = await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-5-nano', messages: hello, tools: [tool] })
    expect(response.text).toBe(rawCassetteBody('chat-tool-call.cassette.yaml', 0))
    expect(response.headers['x-request-id']).toMatch(/^req_/)
  })

  it('synthesizes n > 1 from the text fixture', async () => {
    const response = await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-4.1-nano', messages: hello, n: 2 })
    const recorded = JSON.parse(file('chat-text.json'))
    const body = JSON.parse(response.text)
    expect(body.choices.map((choice: { index: number }) => choice.index)).toEqual([0, 1])
    expect(body.choices[1].message).toEqual(recorded.choices[0].message)
    expect(body.usage.completion_tokens).toBe(recorded.usage.completion_tokens * 2)
  })

  it('replays completions, embeddings and the Responses API', async () => {
    const completion = await exchange(mock, 'POST', '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Hi' })
    expect(completion.text).toBe(file('completion-text.json'))
    const completionStream = await exchange(mock, 'POST', '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Hi', stream: true, stream_options: { include_usage: true } })
    expect(completionStream.text).toBe(lines('completion-stream-text.chunks.txt').map((line) => `data: ${line}\n\n`).join('') + 'data: [DONE]\n\n')
    const embeddings = await exchange(mock, 'POST', '/v1/embeddings', { model: 'text-embedding-3-small', input: 'How do I reset my password?', encoding_format: 'float' })
    expect(embeddings.text).toBe(rawCassetteBody('embeddings.cassette.yaml', 0))
    expect(embeddings.headers['openai-model']).toBe('text-embedding-3-small')

    const plain = await exchange(mock, 'POST', '/v1/responses', { model: 'gpt-5-mini', input: 'Hi' })
    expect(plain.text).toBe(file('responses-reasoning-encrypted.json'))
    const tool = { type: 'function', name: 'final_result', parameters: { type: 'object' }, strict: false }
    const streamedCall = await exchange(mock, 'POST', '/v1/responses', { model: 'gpt-5', input: 'Hi', tools: [tool], stream: true })
    expect(streamedCall.text).toBe(rawCassetteBody('responses-stream-function-call.cassette.yaml', 0))
    const streamedText = await exchange(mock, 'POST', '/v1/responses', { model: 'gpt-5', input: 'Hi', stream: true })
    const all = lines('responses-stream-reasoning-encrypted.chunks.txt')
    const last = all.slice(all.findLastIndex((line) => line.startsWith('{"type":"response.created"')))
    expect(streamedText.text).toBe(last.map((line) => `event: ${JSON.parse(line).type}\ndata: ${line}\n\n`).join(''))
    expect(mock.requests.every((request) => request.specErrors.length === 0)).toBe(true)
  })

  it('serves stored responses by id and deletes them', async () => {
    const id = JSON.parse(file('responses-reasoning-encrypted.json')).id
    const got = await exchange(mock, 'GET', `/v1/responses/${id}`)
    expect(got.status).toBe(200)
    expect(got.text).toBe(file('responses-reasoning-encrypted.json'))
    const deleted = await exchange(mock, 'DELETE', `/v1/responses/${id}`)
    expect(JSON.parse(deleted.text)).toEqual({ id, object: 'response', deleted: true })
    expect((await exchange(mock, 'GET', `/v1/responses/${id}`)).status).toBe(404)
  })

  it('fails on demand: by model name and with setNext', async () => {
    const notFound = await exchange(mock, 'POST', '/v1/chat/completions', { model: ERROR_MODELS.notFound, messages: hello })
    expect(notFound.status).toBe(404)
    expect(notFound.text).toBe(rawCassetteBody('chat-error-model-not-found.cassette.yaml', 0))
    const limited = await exchange(mock, 'POST', '/v1/chat/completions', { model: ERROR_MODELS.rateLimited, messages: hello })
    expect(limited.status).toBe(429)
    expect(limited.headers['retry-after']).toBe(RATE_LIMIT_RETRY_AFTER)
    mock.setNext({ status: 503, body: { error: { message: 'busy', type: 'server_error', param: null, code: null } }, headers: { 'x-test': '1' } })
    const next = await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: hello })
    expect(next.status).toBe(503)
    expect(next.headers['x-test']).toBe('1')
    expect((await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: hello })).status).toBe(200)
  })

  it('notices a client that goes away mid-stream', async () => {
    mock.setNext({ status: 200, events: ['data: {"n":1}\n\n', 'data: {"n":2}\n\n', 'data: [DONE]\n\n'], eventDelayMs: 200 })
    const controller = new AbortController()
    const response = await fetch(`${mock.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...KEY }, body: JSON.stringify({ model: 'gpt-4o', messages: hello, stream: true }), signal: controller.signal })
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: {"n":1}\n\n')
    controller.abort()
    await vi.waitFor(() => expect(mock.requests[0]!.outcome).toBe('aborted'))
  })

  it('answers 401 without a bearer key, like the API', async () => {
    const response = await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: hello }, {})
    expect(response.status).toBe(401)
    expect(JSON.parse(response.text).error.type).toBe('invalid_request_error')
  })

  it('records every request with method, path, headers, raw body and parsed JSON', async () => {
    const raw = '{"model":"gpt-4o",  "messages":[{"role":"user","content":"Hello!"}]}'
    await exchange(mock, 'POST', '/v1/chat/completions?x=1', raw, { ...KEY, 'x-extra': 'yes' })
    const [recorded] = mock.requests
    expect(recorded).toMatchObject({ method: 'POST', path: '/v1/chat/completions', query: '?x=1', rawBody: raw, operationId: 'createChatCompletion', specErrors: [], outcome: 'finished' })
    expect(recorded!.json).toEqual(JSON.parse(raw))
    expect(recorded!.headers['x-extra']).toBe('yes')
    expect(recorded!.headers.authorization).toBe('Bearer sk-test')
  })

  it('flags bodies the OpenAPI spec rejects', async () => {
    await exchange(mock, 'POST', '/v1/chat/completions', { model: 'gpt-4o' })
    await exchange(mock, 'POST', '/v1/chat/completions', '{"model": "gpt-4o", "messages": [')
    expect(mock.requests[0]!.specErrors).toContain("(body) must have required property 'messages'")
    expect(mock.requests[1]!.specErrors).toEqual(['body is not valid JSON'])
  })
})

describe('OpenAPI request validation', () => {
  const check = (path: string, body: unknown) => validateOpenAIRequest('POST', path, body, 'application/json').errors

  it('accepts valid bodies for every operation the mock serves', () => {
    expect(check('/v1/chat/completions', { model: 'gpt-4o', messages: hello })).toEqual([])
    expect(check('/v1/chat/completions', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } }] }],
      stream: true,
      stream_options: { include_usage: true },
      n: 2,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } } } } },
      x_future_param: { a: 1 },
    })).toEqual([])
    expect(check('/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Hi', max_tokens: 16 })).toEqual([])
    expect(check('/v1/embeddings', { model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'base64' })).toEqual([])
    expect(check('/v1/responses', { model: 'gpt-5', input: [{ type: 'function_call_output', call_id: 'call_1', output: '570' }], tools: [{ type: 'function', name: 'calculator', parameters: { type: 'object' }, strict: true }] })).toEqual([])
    expect(validateOpenAIRequest('GET', '/v1/responses/resp_1', undefined, undefined).errors).toEqual([])
    expect(validateOpenAIRequest('DELETE', '/v1/responses/resp_1', undefined, undefined).operationId).toBe('deleteResponse')
  })

  it('rejects invalid bodies', () => {
    expect(check('/v1/chat/completions', { model: 'gpt-4o' })).toContain("(body) must have required property 'messages'")
    expect(check('/v1/chat/completions', { model: 'gpt-4o', messages: 'hi', stream: 'yes' })).toEqual(expect.arrayContaining(['/messages must be array', '/stream must be boolean,null']))
    expect(check('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'wizard', content: 'x' }] }).length).toBeGreaterThan(0)
    expect(check('/v1/embeddings', { model: 'text-embedding-3-small' })).toContain("(body) must have required property 'input'")
    expect(check('/v1/responses', { model: 'gpt-5', input: 42 }).length).toBeGreaterThan(0)
    expect(check('/v1/responses', { model: 'gpt-5', input: 'Hi', tools: [{ type: 'function' }] }).length).toBeGreaterThan(0)
    expect(validateOpenAIRequest('POST', '/v1/chat/completions', { model: 'x', messages: hello }, 'text/plain').errors.length).toBe(1)
    expect(validateOpenAIRequest('POST', '/v1/not-an-endpoint', {}, 'application/json').errors[0]).toMatch(/no operation/)
  })
})
