import { describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { expectConfiguredKey, useOpenAIGateway } from './support/e2e.js'
import { cassette, chunkLines, fixtureText, frameTypedEvents } from './support/fixtures.js'
import { ERROR_MODELS } from './support/mock-openai.js'

/** Completions, embeddings, the Responses API and models through the gateway with the official SDK. */

const gw = useOpenAIGateway()

describe('completions', () => {
  const recorded = JSON.parse(fixtureText('openai/completion-text.json'))
  const streamedText = chunkLines('openai/completion-stream-text.chunks.txt').map((line) => JSON.parse(line).choices[0]?.text ?? '').join('')

  it('plain', async () => {
    const completion = await gw.openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Invent a new holiday and describe its traditions.', max_tokens: 16 })
    expect(completion).toEqual(recorded)
    expect(completion.choices[0]!.finish_reason).toBe('length')
    const upstream = gw.onlyRequest()
    expect(upstream.path).toBe('/v1/completions')
    expect(upstream.json).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: 'Invent a new holiday and describe its traditions.', max_tokens: 16 })
    expectConfiguredKey(upstream)
  })

  it('stream: text arrives in order, and the usage chunk only when asked for', async () => {
    const stream = await gw.openai.completions.create({ model: 'openai/gpt-3.5-turbo-instruct', prompt: 'Hi', stream: true })
    const chunks: OpenAI.Completion[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.map((chunk) => chunk.choices[0]?.text ?? '').join('')).toBe(streamedText)
    expect(chunks.every((chunk) => chunk.choices.length === 1)).toBe(true)
    const upstream = gw.onlyRequest()
    expect(upstream.json).toMatchObject({ model: 'gpt-3.5-turbo-instruct', stream: true, stream_options: { include_usage: true } })
  })

  it('stream with include_usage: the usage chunk reaches the client', async () => {
    const stream = await gw.openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Hi', stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.Completion[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 14, completion_tokens: 16, total_tokens: 30 })
  })
})

describe('embeddings', () => {
  const recorded = JSON.parse(cassette('openai/embeddings.cassette.yaml')[0]!.response.body)

  it('float: the recorded vector comes back', async () => {
    const result = await gw.openai.embeddings.create({ model: 'text-embedding-3-small', input: 'How do I reset my password?', encoding_format: 'float' })
    expect(result).toEqual(recorded)
    expect(result.data[0]!.embedding).toHaveLength(1536)
    const upstream = gw.onlyRequest()
    expect(upstream.path).toBe('/v1/embeddings')
    expect(upstream.json).toEqual({ model: 'text-embedding-3-small', input: 'How do I reset my password?', encoding_format: 'float' })
    expectConfiguredKey(upstream)
  })

  it('SDK default (base64 on the wire) decodes to the same vectors', async () => {
    const result = await gw.openai.embeddings.create({ model: 'openai/text-embedding-3-small', input: ['a', 'b'] })
    expect(result.data.map((item) => item.index)).toEqual([0, 1])
    const expected: number[] = recorded.data[0].embedding
    for (const item of result.data) {
      expect(item.embedding).toHaveLength(1536)
      expect(item.embedding[0]).toBeCloseTo(expected[0]!, 6)
      expect(item.embedding[1535]).toBeCloseTo(expected[1535]!, 6)
    }
    expect(gw.onlyRequest().json).toEqual({ model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'base64' })
  })
})

describe('responses API', () => {
  const plain = JSON.parse(fixtureText('openai/responses-reasoning-encrypted.json'))
  const calculator: OpenAI.Responses.FunctionTool = {
    type: 'function',
    name: 'calculator',
    description: 'Evaluate a binary operation',
    parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' }, op: { type: 'string', enum: ['add', 'multiply'] } }, required: ['a', 'b', 'op'], additionalProperties: false },
    strict: true,
  }

  it('plain: output_text is assembled from the message item', async () => {
    const response = await gw.openai.responses.create({ model: 'gpt-5-mini', input: 'What is 12 + 7, times 3, times 10?', reasoning: { effort: 'low' }, include: ['reasoning.encrypted_content'] })
    expect(response.id).toBe(plain.id)
    const message = plain.output.find((item: { type: string }) => item.type === 'message')
    expect(response.output_text).toBe(message.content[0].text)
    expect(response.output_text.length).toBeGreaterThan(0)
    const upstream = gw.onlyRequest()
    expect(upstream.path).toBe('/v1/responses')
    expect(upstream.json).toEqual({ model: 'gpt-5-mini', input: 'What is 12 + 7, times 3, times 10?', reasoning: { effort: 'low' }, include: ['reasoning.encrypted_content'] })
    expectConfiguredKey(upstream)
  })

  it('streamed events through responses.stream(): deltas, then the final response', async () => {
    const stream = gw.openai.responses.stream({ model: 'gpt-5', input: 'What is the final result?' })
    const types: string[] = []
    let text = ''
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'response.output_text.delta') text += event.delta
    }
    const final = await stream.finalResponse()
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.completed')
    expect(types).toContain('response.output_text.done')
    expect(text).toBe('The final result is **570**.')
    expect(final.output_text).toBe('The final result is **570**.')
    expect(gw.onlyRequest().json).toMatchObject({ model: 'gpt-5', input: 'What is the final result?', stream: true })
  })

  it('streamed events with for await over create({ stream: true }), sequence numbers in order', async () => {
    const stream = await gw.openai.responses.create({ model: 'openai/gpt-5', input: 'Hi', stream: true })
    const events: OpenAI.Responses.ResponseStreamEvent[] = []
    for await (const event of stream) events.push(event)
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index))
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent
    expect(completed.response.usage?.output_tokens).toBeGreaterThan(0)
    expect(gw.onlyRequest().json.model).toBe('gpt-5')
  })

  it('streamed function call: arguments arrive complete', async () => {
    const tool: OpenAI.Responses.FunctionTool = { type: 'function', name: 'final_result', description: 'The final response which ends this conversation', parameters: { type: 'object', properties: { result: { type: 'integer' } }, required: ['result'], additionalProperties: false }, strict: true }
    const stream = gw.openai.responses.stream({ model: 'gpt-5', input: [{ role: 'user', content: 'Calculate 100 * 200 / 3' }], tools: [tool], tool_choice: 'required', reasoning: { effort: 'low' }, include: ['reasoning.encrypted_content'] })
    const final = await stream.finalResponse()
    const call = final.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall
    expect(call).toMatchObject({ name: 'final_result', arguments: '{"result":6666}', call_id: 'call_CWXgs68YprAjp6t0371hiPOI' })
    expect(gw.onlyRequest().json).toMatchObject({ tools: [tool], tool_choice: 'required', stream: true })
  })

  it('function calling round trip with function_call_output', async () => {
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: 'What is 12 + 7, times 3, times 10? Use the calculator.' }]
    const first = await gw.openai.responses.create({ model: 'gpt-5.1-codex-max', input, tools: [calculator], reasoning: { effort: 'high', summary: 'detailed' }, include: ['reasoning.encrypted_content'], store: false })
    const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall
    expect(call).toMatchObject({ type: 'function_call', name: 'calculator', arguments: '{"a":12,"b":7,"op":"add"}' })
    expect(JSON.parse(call.arguments)).toEqual({ a: 12, b: 7, op: 'add' })

    const followUp: OpenAI.Responses.ResponseInputItem[] = [...input, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: '19' }]
    const second = await gw.openai.responses.create({ model: 'gpt-5.1-codex-max', input: followUp, tools: [calculator], store: false })
    expect(second.output_text).toBe('The final result is **570**.')

    expect(gw.mock.requests).toHaveLength(2)
    const [firstUpstream, secondUpstream] = gw.mock.requests
    expect(firstUpstream!.json.tools).toEqual([calculator])
    expect(secondUpstream!.json.input.at(-1)).toEqual({ type: 'function_call_output', call_id: call.call_id, output: '19' })
    expect(secondUpstream!.json.input).toEqual(JSON.parse(JSON.stringify(followUp)))
  })

  it('a stream that fails after it started is relayed intact, and the SDK raises the error event', async () => {
    const raw = await gw.openai.responses.create({ model: ERROR_MODELS.streamFails, input: 'Hi', stream: true }).asResponse()
    expect(raw.status).toBe(200)
    expect(await raw.text()).toBe(frameTypedEvents(chunkLines('openai/responses-stream-error.chunks.txt')).join(''))

    const stream = await gw.openai.responses.create({ model: ERROR_MODELS.streamFails, input: 'Hi', stream: true })
    const seen: string[] = []
    const error = await (async () => {
      for await (const event of stream) seen.push(event.type)
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(seen).toEqual(['response.created', 'response.in_progress'])
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('insufficient_quota')
  })

  it('retrieve and delete are forwarded to the upstream with the configured key', async () => {
    const retrieved = await gw.openai.responses.retrieve(plain.id)
    // The SDK adds the convenience `output_text`; everything else is the stored response.
    const { output_text: _text, ...stored } = retrieved
    expect(stored).toEqual(plain)
    await gw.openai.responses.delete(plain.id)
    await expect(gw.openai.responses.retrieve(plain.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)

    const [get, del, getAgain] = gw.mock.requests
    expect([get, del, getAgain].map((request) => `${request!.method} ${request!.path}`)).toEqual([
      `GET /v1/responses/${plain.id}`,
      `DELETE /v1/responses/${plain.id}`,
      `GET /v1/responses/${plain.id}`,
    ])
    for (const request of gw.mock.requests) {
      expectConfiguredKey(request)
      expect(request.rawBody).toBe('')
    }
  })

  it('retrieve keeps the caller query string', async () => {
    await gw.openai.responses.retrieve(plain.id, { include: ['reasoning.encrypted_content'] })
    const upstream = gw.onlyRequest()
    expect(new URLSearchParams(upstream.query).getAll('include[]')).toEqual(['reasoning.encrypted_content'])
  })
})

describe('models', () => {
  it('lists the models the gateway can serve, as provider/model', async () => {
    const ids: string[] = []
    for await (const model of gw.openai.models.list()) {
      expect(model.object).toBe('model')
      ids.push(model.id)
    }
    expect(ids).toContain('mock/echo')
    for (const id of ids) expect(id).toMatch(/^[a-z0-9_-]+\/.+/)
  })
})
