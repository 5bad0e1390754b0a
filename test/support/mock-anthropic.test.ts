import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { validateCountTokensRequest, validateMessagesRequest } from './anthropic-spec.js'
import { ANTHROPIC_ERROR_MODELS, ANTHROPIC_RETRY_AFTER, mockTokenCount, startMockAnthropic, type MockAnthropic } from './mock-anthropic.js'

// Expected bytes are rebuilt here straight from the files, independently of the mock's helpers.
const file = (name: string) => readFileSync(new URL(`../../../shared/fixtures/anthropic/${name}`, import.meta.url), 'utf8')
const interactions = (name: string) => (parse(file(name)) as { interactions: Array<{ request: { parsed_body: any }; response: { parsed_body?: any; body?: { string: string }; status: { code: number } } }> }).interactions
const nock = () => JSON.parse(file('messages-tool-runner.nock.json')) as Array<{ body: any }>

const HEADERS = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' }

function exchange(mock: MockAnthropic, method: string, path: string, body?: unknown, headers: Record<string, string> = HEADERS) {
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
const base = { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: hello }
const weather = { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } }

describe('mock Anthropic upstream', () => {
  let mock: MockAnthropic
  beforeAll(async () => {
    mock = await startMockAnthropic()
  })
  afterAll(() => mock.close())
  beforeEach(() => mock.reset())

  it('replays the plain message byte for byte and records the request', async () => {
    const body = JSON.stringify(base)
    const response = await exchange(mock, 'POST', '/v1/messages', body)
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('application/json')
    expect(response.text).toBe(file('messages-text.json'))
    const [recorded] = mock.requests
    expect(recorded).toMatchObject({ method: 'POST', path: '/v1/messages', rawBody: body, json: base, endpoint: 'messages', specErrors: [], outcome: 'finished' })
    expect(recorded!.headers['x-api-key']).toBe('sk-ant-test')
  })

  it('streams the raw .sse bodies one event per write', async () => {
    const text = await exchange(mock, 'POST', '/v1/messages', { ...base, stream: true })
    expect(text.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(text.text).toBe(file('messages-stream-text.sse'))
    expect(text.chunks.length).toBe(file('messages-stream-text.sse').split('\n\n').length - 1)
    for (const chunk of text.chunks) expect(chunk.endsWith('\n\n')).toBe(true)
    const tool = await exchange(mock, 'POST', '/v1/messages', { ...base, stream: true, tools: [weather] })
    expect(tool.text).toBe(file('messages-stream-tool-use.sse'))
  })

  it('streams the recorded thinking reply (with its whitespace padding) when thinking is enabled', async () => {
    const response = await exchange(mock, 'POST', '/v1/messages', { ...base, max_tokens: 4096, stream: true, thinking: { type: 'enabled', budget_tokens: 1024 } })
    expect(response.text).toBe(interactions('messages-stream-thinking.cassette.yaml')[0]!.response.body!.string)
    expect(response.text).toContain('"type":"signature_delta"')
  })

  it('answers non-stream tool calls, tool results, thinking and cache_control from the recordings', async () => {
    const parallel = interactions('messages-parallel-tool-use.cassette.yaml')
    const first = await exchange(mock, 'POST', '/v1/messages', { ...base, tools: [weather] })
    expect(JSON.parse(first.text)).toEqual(parallel[0]!.response.parsed_body)
    const history = [...hello, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] }]
    const second = await exchange(mock, 'POST', '/v1/messages', { ...base, messages: history, tools: [weather] })
    expect(JSON.parse(second.text)).toEqual(parallel[1]!.response.parsed_body)
    const thinking = await exchange(mock, 'POST', '/v1/messages', { ...base, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } })
    expect(thinking.text).toBe(file('messages-thinking.json'))
    const cached = await exchange(mock, 'POST', '/v1/messages', { ...base, system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }] })
    expect(JSON.parse(cached.text)).toEqual(interactions('messages-prompt-cache.cassette.yaml')[1]!.response.parsed_body)
    expect(mock.requests.map((request) => request.specErrors)).toEqual([[], [], [], []])
  })

  it('fails by model name the way the API does', async () => {
    const invalid = await exchange(mock, 'POST', '/v1/messages', { ...base, model: ANTHROPIC_ERROR_MODELS.invalidRequest })
    expect(invalid.status).toBe(400)
    expect(JSON.parse(invalid.text)).toEqual(interactions('messages-error-invalid-request.cassette.yaml')[0]!.response.parsed_body)
    const cases: Array<[string, number, string]> = [
      [ANTHROPIC_ERROR_MODELS.notFound, 404, 'not_found_error'],
      [ANTHROPIC_ERROR_MODELS.rateLimited, 429, 'rate_limit_error'],
      [ANTHROPIC_ERROR_MODELS.serverError, 500, 'api_error'],
      [ANTHROPIC_ERROR_MODELS.overloaded, 529, 'overloaded_error'],
    ]
    for (const [model, status, type] of cases) {
      const response = await exchange(mock, 'POST', '/v1/messages', { ...base, model })
      expect(response.status).toBe(status)
      expect(JSON.parse(response.text)).toEqual({ type: 'error', error: { type, message: expect.any(String) } })
      if (status === 429) expect(response.headers['retry-after']).toBe(ANTHROPIC_RETRY_AFTER)
    }
  })

  it('needs a key and an anthropic-version, like the API', async () => {
    const noKey = await exchange(mock, 'POST', '/v1/messages', base, { 'anthropic-version': '2023-06-01' })
    expect(noKey.status).toBe(401)
    expect(JSON.parse(noKey.text).error.type).toBe('authentication_error')
    const noVersion = await exchange(mock, 'POST', '/v1/messages', base, { 'x-api-key': 'k' })
    expect(noVersion.status).toBe(400)
    const bearer = await exchange(mock, 'POST', '/v1/messages', base, { authorization: 'Bearer k', 'anthropic-version': '2023-06-01' })
    expect(bearer.status).toBe(200)
  })

  it('counts tokens, lists models, and answers setNext responses in order', async () => {
    const counted = await exchange(mock, 'POST', '/v1/messages/count_tokens', { model: 'claude-sonnet-4-5', messages: hello })
    expect(JSON.parse(counted.text)).toEqual({ input_tokens: mockTokenCount({ messages: hello }) })
    expect(mock.requests[0]!.endpoint).toBe('count_tokens')
    const models = JSON.parse((await exchange(mock, 'GET', '/v1/models')).text)
    expect(models.data[0]).toMatchObject({ type: 'model', id: expect.any(String) })
    mock.setNext({ status: 200, events: ['event: ping\ndata: {"type": "ping"}\n\n'] })
    mock.setNext({ status: 418, body: { type: 'error', error: { type: 'x', message: 'teapot' } } })
    expect((await exchange(mock, 'POST', '/v1/messages', base)).text).toBe('event: ping\ndata: {"type": "ping"}\n\n')
    expect((await exchange(mock, 'POST', '/v1/messages', base)).status).toBe(418)
    expect((await exchange(mock, 'POST', '/v1/messages', base)).status).toBe(200)
  })
})

describe('Anthropic request rules (the mock validator)', () => {
  it('accepts every recorded request body', () => {
    const bodies = [
      ...interactions('messages-parallel-tool-use.cassette.yaml'),
      ...interactions('messages-prompt-cache.cassette.yaml'),
      ...interactions('messages-stream-thinking.cassette.yaml'),
      ...interactions('messages-error-invalid-request.cassette.yaml'),
    ].map((interaction) => interaction.request.parsed_body)
    bodies.push(...nock().map((exchange) => exchange.body))
    expect(bodies).toHaveLength(16)
    for (const body of bodies) expect(validateMessagesRequest(body)).toEqual([])
  })

  it('accepts the content blocks a gateway sends: images, documents, tool results with images, thinking', () => {
    const png = 'iVBORw0KGgo='
    const body = {
      ...base,
      system: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } }, { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }, { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 'sig' }, { type: 'redacted_thinking', data: 'opaque' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }, { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { location: 'x' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'ok' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } }], is_error: true }, { type: 'tool_result', tool_use_id: 'call_2', content: 'fine' }, { type: 'text', text: 'and?' }] },
      ],
      tools: [weather],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      metadata: { user_id: 'u1' },
      stop_sequences: ['END'],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
    }
    expect(validateMessagesRequest(body)).toEqual([])
  })

  const invalidCases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing model', { max_tokens: 10, messages: hello }, /^model: /],
    ['missing max_tokens', { model: 'm', messages: hello }, /^max_tokens: /],
    ['an OpenAI field at the top level', { ...base, n: 2 }, /^n: /],
    ['a system role in messages', { ...base, messages: [{ role: 'system', content: 'x' }, ...hello] }, /^messages\[0\]\.role: /],
    ['an empty text block', { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, /text content blocks must be non-empty/],
    ['an image given as a data URL', { ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'data:image/png;base64,iVBO' } }] }] }, /source\.data: data must be base64/],
    ['an OpenAI image part', { ...base, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x' } }] }] }, /^messages\[0\]\.content/],
    ['a tool_result without its tool_use', { ...base, messages: [...hello, { role: 'assistant', content: 'ok' }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }] }, /unexpected tool_use_id/],
    ['a tool_use without its tool_result', { ...base, messages: [...hello, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] }, { role: 'user', content: 'next' }] }, /without tool_result blocks/],
    ['text before tool results', { ...base, messages: [...hello, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] }, { role: 'user', content: [{ type: 'text', text: 'here' }, { type: 'tool_result', tool_use_id: 'toolu_1' }] }] }, /must come first/],
    ['tool_use input that is a string', { ...base, messages: [...hello, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: '{}' }] }] }, /input must be an object/],
    ['a tool_result in an assistant message', { ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 'a' }] }] }, /assistant content blocks/],
    ['a thinking block without signature', { ...base, messages: [...hello, { role: 'assistant', content: [{ type: 'thinking', thinking: 'x' }] }] }, /signature/],
    ['temperature above 1', { ...base, temperature: 1.5 }, /^temperature: /],
    ['metadata with an unknown member', { ...base, metadata: { user: 'u' } }, /^metadata\.user: /],
    ['a whitespace stop sequence', { ...base, stop_sequences: [' '] }, /stop_sequences/],
    ['tool_choice naming an unknown tool', { ...base, tools: [weather], tool_choice: { type: 'tool', name: 'nope' } }, /no tool named nope/],
    ['an OpenAI tool definition', { ...base, tools: [{ type: 'function', function: { name: 'f' } }] }, /^tools\[0\]/],
    ['a thinking budget not below max_tokens', { ...base, thinking: { type: 'enabled', budget_tokens: 2048 }, max_tokens: 2048 }, /budget_tokens: must be less than max_tokens/],
    ['thinking with temperature', { ...base, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 }, temperature: 0.2 }, /temperature: may only be set to 1/],
    ['thinking with a final tool_use turn that does not start with thinking', { ...base, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [...hello, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'r' }] }] }, /must start with a thinking block/],
    ['an empty message', { ...base, messages: [{ role: 'user', content: [] }] }, /non-empty content/],
  ]
  for (const [name, body, expected] of invalidCases) {
    it(`rejects ${name}`, () => {
      const errors = validateMessagesRequest(body)
      expect(errors.some((error) => expected.test(error)), errors.join('\n')).toBe(true)
    })
  }

  it('accepts consecutive same-role messages (the API merges them) but checks pairing across the merged turn', () => {
    const split = [...hello, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] }, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'f', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1' }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2' }] }]
    expect(validateMessagesRequest({ ...base, messages: split })).toEqual([])
  })

  it('checks count_tokens bodies without max_tokens, and rejects Messages-only fields there', () => {
    expect(validateCountTokensRequest({ model: 'm', messages: hello, system: 's', tools: [weather] })).toEqual([])
    expect(validateCountTokensRequest({ model: 'm', messages: hello, max_tokens: 10 })).toEqual(['max_tokens: Invalid key: Expected never but received "max_tokens"'])
  })
})
