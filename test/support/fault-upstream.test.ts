import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, createGate, DEFAULT_CHUNKS, fault, INPUT_TOKENS, startFaultUpstream, type FaultUpstream } from './fault-upstream.js'

/** The fault upstream itself, driven with plain fetch: each behaviour does what it says. */

const hello = [{ role: 'user', content: 'Hello!' }]
let upstream: FaultUpstream

beforeAll(async () => {
  upstream = await startFaultUpstream('fu')
})
afterEach(async () => {
  try {
    expect(await upstream.waitForNoOpenSockets(), 'no connection outlives its exchange').toBe(0)
  } finally {
    upstream.reset()
  }
})
afterAll(() => upstream.close())

const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${upstream.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer key-a', ...headers }, body: JSON.stringify({ model: 'gpt-4o', messages: hello, ...body }), signal })

const messages = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${upstream.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'ant-key', 'anthropic-version': '2023-06-01', ...headers }, body: JSON.stringify({ model: 'claude-x', max_tokens: 10, messages: hello, ...body }) })

/** `data:` payloads of an SSE text, in order. */
const dataOf = (text: string) =>
  text
    .split('\n\n')
    .filter((frame) => frame.includes('data:'))
    .map((frame) => frame.split('\n').find((line) => line.startsWith('data:'))!.slice(5).trim())

/** Reads from a body until `count` SSE events arrived (or it ends). */
async function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  while (dataOf(text).length < count) {
    const { value, done } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
  }
  return text
}

const raceTimeout = <T>(promise: Promise<T>, ms: number) => Promise.race([promise.then(() => 'settled' as const), new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))])

describe('ok', () => {
  it('answers a valid chat.completion with usage, and records the request', async () => {
    const response = await chat({})
    expect(response.status).toBe(200)
    const body = await response.json()
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: upstream.textOf() }, finish_reason: 'stop' }], usage: { prompt_tokens: INPUT_TOKENS, completion_tokens: DEFAULT_CHUNKS } })
    const [request] = upstream.requests
    expect(request).toMatchObject({ seq: 1, method: 'POST', path: '/v1/chat/completions', dialect: 'openai', model: 'gpt-4o', stream: false, key: 'key-a', fault: 'ok', finished: true, aborted: false })
    expect(request!.json.messages).toEqual(hello)
  })

  it('streams N chunks, the usage chunk when asked, then [DONE]', async () => {
    const response = await chat({ stream: true, stream_options: { include_usage: true } })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const data = dataOf(await response.text())
    expect(data.at(-1)).toBe('[DONE]')
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line))
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe(upstream.textOf())
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta?.content).length).toBe(DEFAULT_CHUNKS)
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: INPUT_TOKENS, completion_tokens: DEFAULT_CHUNKS } })
    // Without include_usage there is no usage chunk, as with the real API.
    const plain = dataOf(await (await chat({ stream: true, chunks: 5 })).text())
    expect(plain.some((line) => line.includes('"usage"'))).toBe(false)
  })

  it('chunks, text, delay and a gate are honoured', async () => {
    upstream.script({}, fault.ok({ chunks: 5 }), fault.ok({ text: 'exact' }))
    const five = dataOf(await (await chat({ stream: true })).text())
    expect(five.filter((line) => line.includes('"content":"fu:')).length).toBe(5)
    expect((await (await chat({})).json()).choices[0].message.content).toBe('exact')

    const gate = createGate()
    upstream.script({}, fault.ok({ gate: gate.promise }))
    const held = chat({})
    expect(await raceTimeout(held, 100)).toBe('pending')
    expect(upstream.inFlight()).toBe(1)
    gate.open()
    expect((await held).status).toBe(200)
    expect(upstream.maxInFlight()).toBe(1)
  })

  it('speaks the Anthropic dialect on /v1/messages (message and event stream), key from x-api-key', async () => {
    const message = await (await messages({})).json()
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: upstream.textOf() }], stop_reason: 'end_turn', usage: { input_tokens: INPUT_TOKENS, output_tokens: DEFAULT_CHUNKS } })
    const text = await (await messages({ stream: true })).text()
    const types = dataOf(text).map((line) => JSON.parse(line).type)
    expect(types).toEqual(['message_start', 'content_block_start', ...Array(DEFAULT_CHUNKS).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop'])
    expect(upstream.requests.map((request) => [request.dialect, request.key])).toEqual([
      ['anthropic', 'ant-key'],
      ['anthropic', 'ant-key'],
    ])
  })

  it('an unknown path is a 404 in the dialect', async () => {
    const response = await fetch(`${upstream.url}/v1/nope`, { method: 'POST', body: '{}' })
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } })
  })
})

describe('scripts', () => {
  it('queues per model, per key and per path; standing rules apply after the queue; default is ok', async () => {
    upstream.script({ model: 'gpt-4o' }, fault.status(500), fault.status(503))
    upstream.script({ key: 'key-b' }, fault.status(401))
    upstream.always({ path: '/v1/messages' }, fault.status(529))
    expect((await chat({})).status).toBe(500)
    expect((await chat({}, { authorization: 'Bearer key-b' })).status).toBe(503)
    expect((await chat({}, { authorization: 'Bearer key-b' })).status).toBe(401)
    expect((await chat({}, { authorization: 'Bearer key-b' })).status).toBe(200)
    expect((await messages({})).status).toBe(529)
    expect((await messages({})).status).toBe(529)
    expect(upstream.requests.map((request) => request.fault)).toEqual(['status', 'status', 'status', 'ok', 'status', 'status'])
    expect(upstream.requestsWithKey('key-b')).toHaveLength(3)
  })

  it('a match needs every field it names', async () => {
    upstream.script({ model: 'gpt-4o', key: 'key-b' }, fault.status(500))
    expect((await chat({})).status).toBe(200)
    expect((await chat({ model: 'other' }, { authorization: 'Bearer key-b' })).status).toBe(200)
    expect((await chat({}, { authorization: 'Bearer key-b' })).status).toBe(500)
  })
})

describe('failures', () => {
  it('status: 429 with retry-after and an OpenAI error body; Anthropic shape on /v1/messages', async () => {
    upstream.script({}, fault.status(429, { retryAfter: '3' }), fault.status(529))
    const limited = await chat({})
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('3')
    expect(await limited.json()).toEqual({ error: { message: expect.any(String), type: 'requests', param: null, code: 'rate_limit_exceeded' } })
    const overloaded = await messages({})
    expect(overloaded.status).toBe(529)
    expect(await overloaded.json()).toEqual({ type: 'error', error: { type: 'overloaded_error', message: expect.any(String) } })
  })

  it('refuse: the socket is destroyed without an answer (fetch fails)', async () => {
    upstream.script({}, fault.refuse())
    await expect(chat({})).rejects.toThrow(TypeError)
    expect(upstream.requests[0]).toMatchObject({ fault: 'refuse', finished: false, aborted: false })
    await upstream.waitForNoOpenSockets()
    expect(upstream.requests[0]!.socketClosed).toBe(true)
  })

  it('closedPort: nothing listens there (connection refused)', async () => {
    const port = await closedPort()
    const error = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: '{}' }).catch((caught: unknown) => caught as Error)
    expect(error).toBeInstanceOf(TypeError)
    expect(String((error as Error & { cause?: { code?: string } }).cause?.code)).toBe('ECONNREFUSED')
  })

  it('hang-before-headers: no answer until the client aborts; the abort and the socket close are recorded', async () => {
    upstream.script({}, fault.hangBeforeHeaders())
    const controller = new AbortController()
    const pending = chat({}, {}, controller.signal)
    await upstream.waitForRequests(1)
    expect(await raceTimeout(pending, 150)).toBe('pending')
    expect(upstream.openSockets()).toBe(1)
    expect(upstream.inFlight()).toBe(1)
    controller.abort()
    await expect(pending).rejects.toThrow()
    expect(await upstream.waitForNoOpenSockets()).toBe(0)
    const [request] = upstream.requests
    expect(request).toMatchObject({ fault: 'hang-before-headers', aborted: true, finished: false, socketClosed: true })
    expect(request!.abortedAt).toBeGreaterThan(request!.at)
    expect(upstream.inFlight()).toBe(0)
  })

  it('hang-mid-stream: headers and K events, then nothing; the abort closes the socket', async () => {
    upstream.script({}, fault.hangMidStream(2))
    const controller = new AbortController()
    const response = await chat({ stream: true }, {}, controller.signal)
    expect(response.status).toBe(200)
    const reader = response.body!.getReader()
    const head = await readEvents(reader, 2)
    expect(dataOf(head)).toHaveLength(2)
    expect(await raceTimeout(reader.read(), 150)).toBe('pending')
    controller.abort()
    expect(await upstream.waitForNoOpenSockets()).toBe(0)
    expect(upstream.requests[0]).toMatchObject({ fault: 'hang-mid-stream', aborted: true, socketClosed: true })
  })

  it('reset-mid-stream: K events, then the connection is cut (the read fails)', async () => {
    upstream.script({}, fault.resetMidStream(2))
    const response = await chat({ stream: true })
    expect(response.status).toBe(200)
    let text = ''
    const error = await (async () => {
      const decoder = new TextDecoder()
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true })
    })().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Error)
    expect(dataOf(text)).toHaveLength(2)
    expect(await upstream.waitForNoOpenSockets()).toBe(0)
    expect(upstream.requests[0]).toMatchObject({ fault: 'reset-mid-stream', aborted: false, finished: false, socketClosed: true })
  })

  it('reset-mid-stream on a non-stream request cuts the JSON body halfway', async () => {
    upstream.script({}, fault.resetMidStream())
    const response = await chat({})
    await expect(response.text()).rejects.toThrow()
  })

  it('malformed-json: 200 with a JSON content type and a body that does not parse', async () => {
    upstream.script({}, fault.malformedJson())
    const response = await chat({})
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    await expect(response.json()).rejects.toThrow(SyntaxError)
  })

  it('malformed-sse: one data line is not JSON, the rest of the stream is valid', async () => {
    upstream.script({}, fault.malformedSse(1))
    const data = dataOf(await (await chat({ stream: true })).text())
    const parsed = data.map((line) => {
      try {
        JSON.parse(line)
        return 'json'
      } catch {
        return line === '[DONE]' ? 'done' : 'broken'
      }
    })
    expect(parsed[1]).toBe('broken')
    expect(parsed.filter((kind) => kind === 'broken')).toHaveLength(1)
    expect(parsed.at(-1)).toBe('done')
  })
})
