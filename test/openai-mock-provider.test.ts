import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type OpenAI from 'openai'
import { startTestGateway, type TestGateway } from './support/gateway.js'

/**
 * The built-in `mock` provider answers in process: the gateway is started with the openai
 * provider pointed at a closed port, so any upstream call would fail loudly.
 */

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startTestGateway(undefined)
})
afterAll(() => gateway?.close())

const question = 'Echo this sentence back, please.'
const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: question }]

describe('mock provider through the OpenAI SDK', () => {
  it('chat: echoes the last user message', async () => {
    const completion = await gateway.openai.chat.completions.create({ model: 'mock/echo', messages })
    expect(completion.object).toBe('chat.completion')
    expect(completion.choices).toHaveLength(1)
    expect(completion.choices[0]!.message).toMatchObject({ role: 'assistant', content: question })
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens)
  })

  it('chat stream: deltas add up to the echo, usage chunk when asked', async () => {
    const stream = await gateway.openai.chat.completions.create({ model: 'mock/echo', messages, stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(question)
    expect(chunks.length).toBeGreaterThan(2)
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]!.finish_reason).toBe('stop')
    const last = chunks.at(-1)!
    expect(last.choices).toEqual([])
    expect(last.usage?.completion_tokens).toBeGreaterThan(0)
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1)
  })

  it('chat stream without include_usage: no usage-only chunk', async () => {
    const stream = await gateway.openai.chat.completions.create({ model: 'mock/echo', messages, stream: true })
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.every((chunk) => chunk.choices.length > 0)).toBe(true)
    expect(chunks.map((chunk) => chunk.choices[0]!.delta.content ?? '').join('')).toBe(question)
  })

  it('chat stream helper: finalChatCompletion with a mock tool call', async () => {
    const tool: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { input: { type: 'string' } } } } }
    const final = await gateway.openai.chat.completions.stream({ model: 'mock/tools', messages, tools: [tool] }).finalChatCompletion()
    const call = final.choices[0]!.message.tool_calls![0]!
    expect(call.type === 'function' && call.function.name).toBe('lookup')
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ input: question })
    expect(final.choices[0]!.finish_reason).toBe('tool_calls')
  })

  it('embeddings: float and the SDK default (base64)', async () => {
    const float = await gateway.openai.embeddings.create({ model: 'mock/echo', input: ['a', 'b'], encoding_format: 'float' })
    expect(float.object).toBe('list')
    expect(float.data.map((item) => item.index)).toEqual([0, 1])
    expect(float.data[0]!.embedding).toHaveLength(8)
    const decoded = await gateway.openai.embeddings.create({ model: 'mock/echo', input: ['a', 'b'] })
    expect(decoded.data[0]!.embedding).toHaveLength(8)
    for (let i = 0; i < 8; i++) expect(decoded.data[0]!.embedding[i]).toBeCloseTo(float.data[0]!.embedding[i]!, 6)
    expect(float.data[0]!.embedding).not.toEqual(float.data[1]!.embedding)
  })

  it('responses: output_text is the echo', async () => {
    const response = await gateway.openai.responses.create({ model: 'mock/echo', input: question })
    expect(response.object).toBe('response')
    expect(response.status).toBe('completed')
    expect(response.output_text).toBe(question)
  })

  it('responses stream: events in order, final response carries the text', async () => {
    const stream = gateway.openai.responses.stream({ model: 'mock/echo', input: [{ role: 'user', content: question }] })
    const types: string[] = []
    let text = ''
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'response.output_text.delta') text += event.delta
    }
    const final = await stream.finalResponse()
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.completed')
    expect(text).toBe(question)
    expect(final.output_text).toBe(question)
  })

  it('completions: echoes the prompt', async () => {
    const completion = await gateway.openai.completions.create({ model: 'mock/echo', prompt: question })
    expect(completion.choices[0]!.text).toBe(question)
  })

  it('an injected error keeps its status', async () => {
    const response = await fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock/error-429', messages }) })
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('1')
    expect((await response.json()).error.type).toBe('rate_limit_error')
  })
})
