import type OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { budgetForEffort, defaultMaxTokens } from '@switchyard/provider-anthropic'
import { sseEvents, useAnthropicGateway } from './support/anthropic-e2e.js'
import { messageVariant, systemBlocks, turnsOf } from './support/anthropic-wire.js'
import { cassette, fixtureText } from './support/fixtures.js'

/** OpenAI Responses API -> /openai with `model: "anthropic/claude-..."` -> Anthropic Messages (through the chat IR). */

const gw = useAnthropicGateway()
const MODEL = 'anthropic/claude-sonnet-4-5'
const recorded = JSON.parse(fixtureText('anthropic/messages-text.json'))
const parallel = cassette('anthropic/messages-parallel-tool-use.cassette.yaml')
const firstReply = JSON.parse(parallel[0]!.response.body)
const entityTool: OpenAI.Responses.FunctionTool = { type: 'function', name: 'retrieve_entity_info', description: 'Get the knowledge about the given entity.', parameters: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false }, strict: true }
const weatherTool: OpenAI.Responses.FunctionTool = { type: 'function', name: 'get_weather', description: 'Weather for a location', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'], additionalProperties: false }, strict: true }
const question = 'Alice, Bob, Charlie and Daisy are a family. Who is the youngest?'

describe('responses.create', () => {
  it('plain: instructions -> system, input -> a user turn, the default max_tokens; the client gets a completed response', async () => {
    const response = await gw.openai.responses.create({ model: MODEL, instructions: 'Be terse.', input: 'Hello, how are you?' })
    const upstream = gw.onlyRequest().json
    expect(upstream.model).toBe('claude-sonnet-4-5')
    expect(systemBlocks(upstream.system)).toEqual([{ type: 'text', text: 'Be terse.' }])
    expect(turnsOf(upstream.messages)).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hello, how are you?' }] }])
    expect(upstream.max_tokens).toBe(defaultMaxTokens('claude-sonnet-4-5'))

    expect(response.object).toBe('response')
    expect(response.status).toBe('completed')
    expect(response.output_text).toBe(recorded.content[0].text)
    expect(response.output).toHaveLength(1)
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: recorded.content[0].text }] })
    expect(response.usage).toMatchObject({ input_tokens: 12, output_tokens: 29, total_tokens: 41 })
  })

  it('max_output_tokens, temperature and top_p map to Anthropic', async () => {
    await gw.openai.responses.create({ model: MODEL, input: 'Hi', max_output_tokens: 500, temperature: 0.3, top_p: 0.8 })
    expect(gw.onlyRequest().json).toMatchObject({ max_tokens: 500, temperature: 0.3, top_p: 0.8 })
  })

  it('streamed: created, text deltas, done events, then completed with the whole text', async () => {
    const stream = gw.openai.responses.stream({ model: MODEL, input: 'Hello, how are you?' })
    const types: string[] = []
    const deltas: string[] = []
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'response.output_text.delta') deltas.push(event.delta)
    }
    const final = await stream.finalResponse()
    expect(deltas).toEqual(['Hello', ' there', '!'])
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.completed')
    expect(types).toEqual(expect.arrayContaining(['response.output_item.added', 'response.content_part.added', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done']))
    expect(types.filter((type) => type === 'response.completed')).toHaveLength(1)
    expect(final.output_text).toBe('Hello there!')
    expect(final.usage).toMatchObject({ input_tokens: 11, output_tokens: 6 })
    expect(gw.onlyRequest().json.stream).toBe(true)
  })
})

describe('function calling', () => {
  it('tools reach Anthropic; tool_use blocks come back as function_call items with the call ids; outputs go back as tool_result', async () => {
    const first = await gw.openai.responses.create({ model: MODEL, input: question, tools: [entityTool], tool_choice: 'auto' })
    const upstream = gw.mock.requests[0]!.json
    expect(upstream.tools).toEqual([expect.objectContaining({ name: 'retrieve_entity_info', description: entityTool.description, input_schema: entityTool.parameters })])
    expect(upstream.tool_choice).toEqual({ type: 'auto' })

    const calls = first.output.filter((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === 'function_call')
    expect(calls.map((call) => ({ call_id: call.call_id, name: call.name, arguments: JSON.parse(call.arguments) }))).toEqual(
      firstReply.content.slice(1).map((block: any) => ({ call_id: block.id, name: block.name, arguments: block.input })),
    )
    expect(first.output_text).toBe(firstReply.content[0].text)

    const outputs = calls.map((call, index) => ({ type: 'function_call_output' as const, call_id: call.call_id, output: `fact ${index}` }))
    const second = await gw.openai.responses.create({ model: MODEL, input: [{ role: 'user', content: question }, ...first.output, ...outputs] as OpenAI.Responses.ResponseInput, tools: [entityTool] })
    expect(second.output_text).toContain('Daisy is the youngest')
    const turns = turnsOf(gw.mock.requests[1]!.json.messages)
    expect(turns.map((turn) => turn.role)).toEqual(['user', 'assistant', 'user'])
    expect(turns[1]!.content).toEqual(firstReply.content)
    expect(turns[2]!.content.map((block) => [block.type, block.tool_use_id])).toEqual(calls.map((call) => ['tool_result', call.call_id]))
  })

  it('streamed function call: argument deltas, then the complete function_call item', async () => {
    const stream = gw.openai.responses.stream({ model: MODEL, input: 'Weather in Paris?', tools: [weatherTool] })
    const argumentDeltas: string[] = []
    for await (const event of stream) if (event.type === 'response.function_call_arguments.delta') argumentDeltas.push(event.delta)
    const final = await stream.finalResponse()
    expect(argumentDeltas.join('')).toBe('{"location": "Paris"}')
    const call = final.output.find((item) => item.type === 'function_call')
    expect(call).toMatchObject({ call_id: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather', arguments: '{"location": "Paris"}' })
    expect(final.output_text).toBe("I'll check the current weather in Paris for you.")
  })
})

describe('reasoning', () => {
  const thinkingReply = JSON.parse(fixtureText('anthropic/messages-thinking.json'))
  const thinking = thinkingReply.content[0]

  it('reasoning.effort -> a thinking budget; thinking comes back as a reasoning item carrying the signature, and goes back unchanged', async () => {
    const first = await gw.openai.responses.create({ model: MODEL, input: 'Find the roots of x^3 - 6x^2 + 11x - 6.', reasoning: { effort: 'low' } })
    expect(gw.mock.requests[0]!.json.thinking).toEqual({ type: 'enabled', budget_tokens: budgetForEffort('low') })
    const reasoning = first.output.find((item): item is OpenAI.Responses.ResponseReasoningItem => item.type === 'reasoning')
    expect(reasoning?.summary.map((entry) => entry.text).join('')).toBe(thinking.thinking)
    expect(reasoning?.encrypted_content).toBe(thinking.signature)
    expect(first.output_text).toBe(thinkingReply.content[1].text)

    await gw.openai.responses.create({ model: MODEL, input: [{ role: 'user', content: 'Find the roots.' }, ...first.output, { role: 'user', content: 'And their sum?' }] as OpenAI.Responses.ResponseInput, reasoning: { effort: 'low' } })
    expect(turnsOf(gw.mock.requests[1]!.json.messages)[1]).toEqual({ role: 'assistant', content: [{ type: 'thinking', thinking: thinking.thinking, signature: thinking.signature }, { type: 'text', text: thinkingReply.content[1].text }] })
  })

  // KNOWN BUG (reported): providers/openai/src/responses.ts renders a redacted reasoning part as a reasoning item
  // with an empty summary and no encrypted_content, so the redacted data is lost. Flip to \`it\` when fixed.
  it('redacted thinking survives the round trip through reasoning items', async () => {
    const redacted = { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj' }
    gw.mock.setNext({ status: 200, body: messageVariant({ content: [redacted, { type: 'text', text: 'Done.' }] }) })
    const first = await gw.openai.responses.create({ model: MODEL, input: 'Think.', reasoning: { effort: 'low' } })
    await gw.openai.responses.create({ model: MODEL, input: [{ role: 'user', content: 'Think.' }, ...first.output, { role: 'user', content: 'Go on.' }] as OpenAI.Responses.ResponseInput, reasoning: { effort: 'low' } })
    expect(turnsOf(gw.mock.requests[1]!.json.messages)[1]!.content).toEqual([redacted, { type: 'text', text: 'Done.' }])
  })

  it('streamed thinking: reasoning summary deltas, then the text; the final reasoning item has the signature', async () => {
    const response = await gw.openai.responses.create({ model: MODEL, input: 'How do I cross the street?', reasoning: { effort: 'low' }, stream: true }).asResponse()
    const events = sseEvents(await response.text()).map((event) => event.data)
    const completed = events.find((event) => event.type === 'response.completed').response
    const recordedEvents = sseEvents(cassette('anthropic/messages-stream-thinking.cassette.yaml')[0]!.response.body).map((event) => event.data)
    const signature = recordedEvents.filter((event) => event.delta?.type === 'signature_delta').map((event) => event.delta.signature).join('')
    const reasoning = completed.output.find((item: any) => item.type === 'reasoning')
    expect(reasoning.encrypted_content).toBe(signature)
    expect(completed.output.at(-1).type).toBe('message')
  })
})
