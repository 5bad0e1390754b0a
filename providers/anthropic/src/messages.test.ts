import { readFileSync } from 'node:fs'
import { GatewayError, type ChatRequest, type ChatResponse, type Warning } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { budgetForEffort, defaultMaxTokens, parseMessagesRequest, parseMessagesResponse, renderMessagesResponse, toMessagesBody } from './messages.js'

type Json = Record<string, any>

const fixture = (name: string) => readFileSync(new URL(`../../../../shared/fixtures/anthropic/${name}`, import.meta.url), 'utf8')
const json = (name: string): Json => JSON.parse(fixture(name))
/** VCR.py interactions (`parsed_body` request and response). */
const cassette = (name: string): Json[] => parseYaml(fixture(name)).interactions
/** nock recording: `{body, response}` per exchange. */
const nock = (): Json[] => json('messages-tool-runner.nock.json') as unknown as Json[]

const RESPONSES: Array<[string, Json]> = [
  ['messages-text.json', json('messages-text.json')],
  ['messages-thinking.json', json('messages-thinking.json')],
  ['messages-web-search.json', json('messages-web-search.json')],
  ...['messages-parallel-tool-use.cassette.yaml', 'messages-prompt-cache.cassette.yaml'].flatMap((name) =>
    cassette(name).map((interaction, index): [string, Json] => [`${name}#${index}`, interaction.response.parsed_body])),
  ...nock().map((exchange, index): [string, Json] => [`messages-tool-runner.nock.json#${index}`, exchange.response]),
]

const REQUESTS: Array<[string, Json]> = [
  ...['messages-parallel-tool-use.cassette.yaml', 'messages-prompt-cache.cassette.yaml', 'messages-error-invalid-request.cassette.yaml', 'messages-stream-thinking.cassette.yaml'].flatMap((name) =>
    cassette(name).map((interaction, index): [string, Json] => [`${name}#${index}`, interaction.request.parsed_body])),
  ...nock().map((exchange, index): [string, Json] => [`messages-tool-runner.nock.json#${index}`, exchange.body]),
]

function catchError(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (GatewayError.is(error)) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

const request = (fields: Partial<ChatRequest>): ChatRequest => ({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], extra: {}, ...fields })
const features = (warnings: Warning[]) => warnings.map((warning) => (warning.type === 'unsupported' ? warning.feature : warning.message))

describe('parseMessagesResponse / renderMessagesResponse', () => {
  it.each(RESPONSES)('%s decodes and renders back exactly as recorded', (_name, raw) => {
    const ir = parseMessagesResponse(raw)
    expect(ir.id).toBe(raw.id)
    expect(ir.model).toBe(raw.model)
    expect(ir.created).toBe(0)
    const warnings: Warning[] = []
    const rendered = renderMessagesResponse(ir, raw.model, warnings)
    expect(rendered).toEqual(raw)
    expect(warnings).toEqual([])
    expect(parseMessagesResponse(JSON.parse(JSON.stringify(rendered)))).toEqual(ir)
  })

  it('maps text, tool_use ids and inputs, stop reason and usage of a parallel tool-use reply', () => {
    const ir = parseMessagesResponse(RESPONSES.find(([name]) => name === 'messages-parallel-tool-use.cassette.yaml#0')![1])
    const choice = ir.choices[0]!
    expect(choice.finishReason).toEqual({ unified: 'tool-calls', raw: 'tool_use' })
    expect(choice.message.content.map((part) => part.type)).toEqual(['text', 'tool-call', 'tool-call', 'tool-call', 'tool-call'])
    expect(choice.message.content[1]).toEqual({ type: 'tool-call', id: 'toolu_0167cfEnoQaPviGdVXA95zcu', name: 'retrieve_entity_info', arguments: '{"name":"Alice"}' })
    expect(ir.usage).toMatchObject({ inputTokens: 423, outputTokens: 202, totalTokens: 625, cachedInputTokens: 0, cacheWriteInputTokens: 0 })
  })

  it('keeps the thinking signature, and maps thinking tokens to reasoningTokens and back', () => {
    const raw = json('messages-thinking.json')
    const ir = parseMessagesResponse(raw)
    expect(ir.choices[0]!.message.content[0]).toEqual({ type: 'reasoning', text: raw.content[0].thinking, signature: raw.content[0].signature })
    expect(ir.usage?.reasoningTokens).toBe(139)
    expect(ir.extra).toEqual({ stop_details: null })
    expect(renderMessagesResponse({ ...ir, usage: { ...ir.usage!, extra: undefined } }, 'm').usage).toMatchObject({ output_tokens: 1699, output_tokens_details: { thinking_tokens: 139 } })
  })

  it('counts cache reads and writes into inputTokens once and splits them back out', () => {
    const raw = cassette('messages-prompt-cache.cassette.yaml')[1]!.response.parsed_body
    const ir = parseMessagesResponse(raw)
    expect(ir.usage).toMatchObject({ inputTokens: 3 + 1111 + 418, cachedInputTokens: 1111, cacheWriteInputTokens: 418, outputTokens: 33, totalTokens: 1532 + 33 })
    const usage = renderMessagesResponse(ir, 'm').usage as Json
    expect(usage.input_tokens).toBe(3)
    expect(usage.cache_read_input_tokens).toBe(1111)
    expect(usage.cache_creation_input_tokens).toBe(418)
  })

  it('keeps server tool blocks (web search) verbatim and in place, out of the text', () => {
    const raw = json('messages-web-search.json')
    const ir = parseMessagesResponse(raw)
    const parts = ir.choices[0]!.message.content
    expect(parts.every((part) => part.type === 'text')).toBe(true)
    expect(parts[0]!.extra?.anthropic_blocks_before).toEqual(raw.content.slice(0, 2))
    expect(parts[1]!.extra?.anthropic_blocks_before).toEqual(raw.content.slice(3, 5))
    expect((parts.find((part) => part.extra?.citations)!.extra!.citations as Json[])[0]!.type).toBe('web_search_result_location')
  })

  it('keeps a redacted thinking block and a stop sequence', () => {
    const raw = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [{ type: 'redacted_thinking', data: 'EmwKAhgBEgy' }, { type: 'text', text: 'done' }], stop_reason: 'stop_sequence', stop_sequence: '###', usage: { input_tokens: 1, output_tokens: 2 } }
    const ir = parseMessagesResponse(raw)
    expect(ir.choices[0]!.message.content[0]).toEqual({ type: 'reasoning', text: '', redacted: 'EmwKAhgBEgy' })
    expect(ir.choices[0]!.finishReason).toEqual({ unified: 'stop', raw: 'stop_sequence' })
    expect(renderMessagesResponse(ir, 'claude')).toEqual(raw)
  })

  it('keeps server tool blocks of a reply that has no modeled block (pause_turn)', () => {
    const raw = { id: 'msg_2', type: 'message', role: 'assistant', model: 'c', content: [{ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } }], stop_reason: 'pause_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 6 } }
    const ir = parseMessagesResponse(raw)
    expect(ir.choices[0]!.message.content).toEqual([])
    expect(ir.choices[0]!.finishReason).toEqual({ unified: 'other', raw: 'pause_turn' })
    expect(renderMessagesResponse(ir, 'c')).toEqual(raw)
  })

  it('renders a response from another dialect as an Anthropic message', () => {
    const response: ChatResponse = {
      id: 'chatcmpl-9', model: 'gpt-4o', created: 1700000000,
      usage: { inputTokens: 100, outputTokens: 20, cachedInputTokens: 40, reasoningTokens: 5, extra: { prompt_tokens_details: { cached_tokens: 40 } } },
      choices: [{ index: 0, finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, message: { role: 'assistant', content: [
        { type: 'reasoning', text: 'thinking out loud' },
        { type: 'text', text: 'Calling.' },
        { type: 'tool-call', id: 'call_1', name: 'f', arguments: '{"a":1}' },
        { type: 'tool-call', id: 'call_2', name: 'g', arguments: '' },
        { type: 'tool-call', id: 'call_3', name: 'h', arguments: '{"cut' },
        { type: 'image', source: { type: 'url', url: 'https://x/y.png' } },
      ], extra: { annotations: [], refusal: null, audio: { id: 'a' } } } }],
    }
    const warnings: Warning[] = []
    expect(renderMessagesResponse(response, 'alias', warnings)).toEqual({
      id: 'msg_chatcmpl-9', type: 'message', role: 'assistant', model: 'alias',
      content: [
        { type: 'thinking', thinking: 'thinking out loud', signature: '' },
        { type: 'text', text: 'Calling.' },
        { type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } },
        { type: 'tool_use', id: 'call_2', name: 'g', input: {} },
        { type: 'tool_use', id: 'call_3', name: 'h', input: {} },
      ],
      stop_reason: 'tool_use', stop_sequence: null,
      usage: { input_tokens: 60, cache_read_input_tokens: 40, output_tokens: 20, output_tokens_details: { thinking_tokens: 5 } },
    })
    expect(features(warnings)).toEqual(['content[4]: tool call arguments are not valid JSON; sent as an empty input', 'image part in a response', 'audio'])
  })

  it('renders a refusal as text with stop_reason refusal', () => {
    const response: ChatResponse = { id: 'msg_x', model: 'm', created: 0, usage: undefined, choices: [{ index: 0, finishReason: { unified: 'stop', raw: 'stop' }, message: { role: 'assistant', content: [{ type: 'refusal', text: 'I cannot help with that.' }] } }] }
    expect(renderMessagesResponse(response, 'm')).toMatchObject({ id: 'msg_x', content: [{ type: 'text', text: 'I cannot help with that.' }], stop_reason: 'refusal', usage: { input_tokens: 0, output_tokens: 0 } })
  })

  it('rejects a malformed upstream body with a 502', () => {
    for (const body of [null, 'x', {}, { id: 'm', content: 'hi' }, { id: 'm', content: [{ type: 'tool_use', id: 1 }] }, { id: 'm', content: [{ type: 'image', source: { type: 'url', url: 'u' } }] }]) {
      expect(catchError(() => parseMessagesResponse(body)).status).toBe(502)
    }
  })
})

describe('parseMessagesRequest / toMessagesBody', () => {
  it.each(REQUESTS)('%s parses and encodes back exactly', (_name, body) => {
    const ir = parseMessagesRequest(body, body.model)
    expect(ir.dialect).toBe('anthropic')
    const warnings: Warning[] = []
    expect(toMessagesBody(ir, warnings)).toEqual(body)
    expect(warnings).toEqual([])
  })

  it('keeps unknown top-level fields (cache_control, output_config) in extra and copies them back', () => {
    const cache = parseMessagesRequest(REQUESTS.find(([name]) => name === 'messages-prompt-cache.cassette.yaml#0')![1], 'm')
    expect(cache.extra).toEqual({ cache_control: { ttl: '5m', type: 'ephemeral' } })
    const effort = parseMessagesRequest(REQUESTS.find(([name]) => name === 'messages-error-invalid-request.cassette.yaml#0')![1], 'm')
    expect(effort.extra).toEqual({ output_config: { effort: 'xhigh' } })
  })

  it('maps the recorded thinking request to a reasoning budget', () => {
    const ir = parseMessagesRequest(REQUESTS.find(([name]) => name === 'messages-stream-thinking.cassette.yaml#0')![1], 'm')
    expect(ir).toMatchObject({ maxTokens: 4096, reasoning: { budgetTokens: 1024 }, stream: true, extra: {} })
  })

  it('splits tool results out of a user turn in order, and joins them back', () => {
    const body = {
      model: 'claude-sonnet-4-5', max_tokens: 100,
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'w', input: { city: 'Paris' } }, { type: 'tool_use', id: 'toolu_2', name: 'w', input: {} }] },
        { role: 'user', content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } }] },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'boom', is_error: true },
          { type: 'text', text: 'and tomorrow?' },
        ] },
      ],
    }
    const ir = parseMessagesRequest(body, 'claude-sonnet-4-5')
    expect(ir.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'user'])
    expect(ir.messages[1]!.content[0]).toEqual({ type: 'tool-call', id: 'toolu_1', name: 'w', arguments: '{"city":"Paris"}' })
    expect(ir.messages[2]!.content).toEqual([
      { type: 'tool-result', toolCallId: 'toolu_1', content: [{ type: 'text', text: 'sunny' }, { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'iVBOR' } }] },
      { type: 'tool-result', toolCallId: 'toolu_2', content: [{ type: 'text', text: 'boom' }], isError: true },
    ])
    expect(ir.messages[3]!.content).toEqual([{ type: 'text', text: 'and tomorrow?' }])
    expect(toMessagesBody(ir)).toEqual(body)
    // A copy of the IR (no wire spelling) gives the canonical, equivalent body.
    expect(toMessagesBody(structuredClone(ir))).toEqual({ ...body, messages: [body.messages[0], body.messages[1], body.messages[2]] })
  })

  it('keeps consecutive user turns apart as sent (recorded tool runner exchange)', () => {
    const body = REQUESTS.find(([name]) => name === 'messages-tool-runner.nock.json#9')![1]
    const ir = parseMessagesRequest(body, body.model)
    expect(ir.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'user'])
    expect(toMessagesBody(ir).messages).toHaveLength(4)
    // Without the wire spelling (a copied IR) they join into one turn, as Anthropic itself would.
    expect((toMessagesBody(structuredClone(ir)).messages as Json[]).map((message) => message.role)).toEqual(['user', 'assistant', 'user'])
  })

  it('keeps cache_control on system, text, image, document, tool_use, tool_result and tools both ways', () => {
    const body = {
      model: 'claude-sonnet-4-5', max_tokens: 1024,
      system: [{ type: 'text', text: 'You are terse.' }, { type: 'text', text: 'Long reference text', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      tools: [{ name: 'f', description: 'd', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [
          { type: 'text', text: 'look', cache_control: { type: 'ephemeral' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' }, cache_control: { type: 'ephemeral', ttl: '5m' } },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0' }, title: 'Spec', context: 'v2', citations: { enabled: true }, cache_control: { type: 'ephemeral' } },
        ] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {}, cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok', cache_control: { type: 'ephemeral' } }] },
      ],
    }
    const ir = parseMessagesRequest(body, 'claude-sonnet-4-5')
    expect(ir.messages[0]!.content[1]).toEqual({ type: 'text', text: 'Long reference text', cache: { type: 'ephemeral', ttl: '1h' } })
    expect(ir.tools![0]!.cache).toEqual({ type: 'ephemeral' })
    expect(ir.messages[1]!.content.map((part) => part.cache)).toEqual([{ type: 'ephemeral' }, { type: 'ephemeral', ttl: '5m' }, { type: 'ephemeral' }])
    expect(ir.messages[1]!.content[2]).toMatchObject({ type: 'file', mediaType: 'application/pdf', extra: { title: 'Spec', context: 'v2', citations: { enabled: true } } })
    expect(ir.messages[2]!.content[0]!.cache).toEqual({ type: 'ephemeral' })
    expect(ir.messages[3]!.content[0]!.cache).toEqual({ type: 'ephemeral' })
    expect(toMessagesBody(ir)).toEqual(body)
    // From another dialect, cache hints still become cache_control (and system goes out as blocks).
    const other = toMessagesBody({ ...structuredClone(ir), dialect: 'openai' })
    expect((other.system as Json[])[1]!.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' })
    expect((other.messages as Json[])[0]!.content[0].cache_control).toEqual({ type: 'ephemeral' })
  })

  it('maps every document source, images, thinking, redacted thinking and server tool blocks both ways', () => {
    const body = {
      model: 'claude-sonnet-4-5', max_tokens: 2048, temperature: 1, top_p: 0.9, top_k: 5, stop_sequences: ['END'],
      metadata: { user_id: 'u-1' }, thinking: { type: 'enabled', budget_tokens: 1024 }, stream: false,
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      tools: [
        { type: 'web_search_20250305', name: 'web_search', max_uses: 2 },
        { type: 'custom', name: 'f', input_schema: { type: 'object' }, strict: true, input_examples: [{}] },
      ],
      messages: [
        { role: 'user', content: [
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Grüße, world' } },
          { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } },
          { type: 'document', source: { type: 'file', file_id: 'file_011' } },
          { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'chunk 1' }, { type: 'text', text: 'chunk 2' }] } },
          { type: 'image', source: { type: 'file', file_id: 'file_012' } },
          { type: 'search_result', source: 'https://kb', title: 'KB', content: [{ type: 'text', text: 'fact' }] },
          { type: 'text', text: 'Summarize.' },
        ] },
        { role: 'assistant', content: [
          { type: 'thinking', thinking: 'Let me see.', signature: 'sig-1' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
          { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
          { type: 'text', text: 'Here.', citations: [{ type: 'char_location', cited_text: 'fact', document_index: 0, start_char_index: 0, end_char_index: 4 }] },
        ] },
        { role: 'user', content: 'thanks' },
      ],
    }
    const ir = parseMessagesRequest(body, 'claude-sonnet-4-5')
    expect(ir).toMatchObject({ maxTokens: 2048, temperature: 1, topP: 0.9, topK: 5, stop: ['END'], user: 'u-1', reasoning: { budgetTokens: 1024 }, stream: false, toolChoice: 'required', parallelToolCalls: false })
    expect(ir.extra.tools_server).toEqual([body.tools[0]])
    expect(ir.tools).toEqual([{ type: 'function', name: 'f', parameters: { type: 'object' }, strict: true, extra: { input_examples: [{}] } }])
    const user = ir.messages[0]!.content
    expect(user[0]).toEqual({ type: 'file', source: { type: 'base64', mediaType: 'text/plain', data: 'R3LDvMOfZSwgd29ybGQ=' }, mediaType: 'text/plain' })
    expect(user[1]).toEqual({ type: 'file', source: { type: 'url', url: 'https://example.com/a.pdf' }, mediaType: 'application/pdf' })
    expect(user[2]).toEqual({ type: 'file', source: { type: 'file-id', id: 'file_011' } })
    expect(user[3]).toMatchObject({ type: 'file', mediaType: 'text/plain', source: { type: 'base64', data: btoa('chunk 1\nchunk 2') } })
    expect(user[4]).toEqual({ type: 'image', source: { type: 'file-id', id: 'file_012' } })
    expect(user[5]).toEqual({ type: 'text', text: 'Summarize.', extra: { anthropic_blocks_before: [body.messages[0]!.content[5]] } })
    expect(ir.messages[1]!.content.slice(0, 2)).toEqual([{ type: 'reasoning', text: 'Let me see.', signature: 'sig-1' }, { type: 'reasoning', text: '', redacted: 'opaque' }])
    expect(toMessagesBody(ir)).toEqual(body)
  })

  it('keeps thinking options, disabled thinking and extra metadata', () => {
    for (const thinking of [{ type: 'enabled', budget_tokens: 2000, display: 'omitted' }, { type: 'disabled' }, { type: 'adaptive' }]) {
      const body = { model: 'm', max_tokens: 4000, thinking, metadata: { user_id: 'u', future: 1 }, messages: [{ role: 'user', content: 'x' }] }
      expect(toMessagesBody(parseMessagesRequest(body, 'm'))).toEqual(body)
    }
    expect(parseMessagesRequest({ model: 'm', max_tokens: 1, thinking: { type: 'disabled' }, messages: [{ role: 'user', content: 'x' }] }, 'm').extra).toEqual({ thinking: { type: 'disabled' } })
    for (const metadata of [{}, { user_id: null }]) {
      const body = { model: 'm', max_tokens: 1, metadata, messages: [{ role: 'user', content: 'x' }] }
      expect(toMessagesBody(parseMessagesRequest(body, 'm'))).toEqual(body)
    }
  })

  it('keeps a system entry inside messages in place', () => {
    const body = { model: 'm', max_tokens: 10, system: 'top', messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 'mid' }, { role: 'user', content: 'b' }] }
    const ir = parseMessagesRequest(body, 'm')
    expect(ir.messages.map((message) => message.role)).toEqual(['system', 'user', 'system', 'user'])
    expect(toMessagesBody(ir)).toEqual(body)
  })
})

describe('toMessagesBody from other dialects', () => {
  it('drops OpenAI extra (logprobs) with a warning', () => {
    const warnings: Warning[] = []
    const body = toMessagesBody(request({ dialect: 'openai', extra: { logprobs: true }, maxTokens: 50 }), warnings)
    expect(body).not.toHaveProperty('logprobs')
    expect(body).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
    expect(warnings).toEqual([{ type: 'unsupported', feature: 'logprobs', details: 'openai field has no anthropic equivalent' }])
  })

  it('hoists system and developer messages, joins turns, and maps tool calls and results', () => {
    const warnings: Warning[] = []
    const body = toMessagesBody(request({
      dialect: 'openai',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
        { role: 'user', content: [{ type: 'text', text: 'weather in Paris and Rome?' }] },
        { role: 'assistant', content: [
          { type: 'reasoning', text: 'unsigned thoughts' },
          { type: 'text', text: 'Checking.' },
          { type: 'tool-call', id: 'call_1', name: 'w', arguments: '{"city":"Paris"}' },
          { type: 'tool-call', id: 'call_2', name: 'w', arguments: '{"city":"Rome"}' },
        ] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', content: [{ type: 'text', text: 'sunny' }] }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_2', content: [{ type: 'text', text: 'rain' }] }] },
        { role: 'developer', content: [{ type: 'text', text: 'Use Celsius.' }] },
        { role: 'user', content: [{ type: 'text', text: 'thanks' }, { type: 'image', source: { type: 'base64', mediaType: 'image/jpeg', data: '/9j/' }, detail: 'low' }] },
      ],
      tools: [{ type: 'function', name: 'w', parameters: { type: 'object', properties: { city: { type: 'string' } } } }, { type: 'function', name: 'noop' }],
      toolChoice: { type: 'tool', name: 'w' }, parallelToolCalls: false, stop: ['x'], user: 'user-7', maxTokens: 300,
    }), warnings)
    expect(body).toEqual({
      model: 'claude-sonnet-4-5', max_tokens: 300,
      system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Use Celsius.' }],
      messages: [
        { role: 'user', content: 'weather in Paris and Rome?' },
        { role: 'assistant', content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'call_1', name: 'w', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'w', input: { city: 'Rome' } },
        ] },
        { role: 'user', content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'rain' },
          { type: 'text', text: 'thanks' },
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/' } },
        ] },
      ],
      tools: [
        { name: 'w', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
        { name: 'noop', input_schema: { type: 'object', properties: {} } },
      ],
      tool_choice: { type: 'tool', name: 'w', disable_parallel_tool_use: true },
      stop_sequences: ['x'],
      metadata: { user_id: 'user-7' },
    })
    expect(features(warnings)).toEqual(['reasoning without signature', 'messages[5]: a developer message inside the conversation was moved to the top-level system prompt', 'image detail'])
  })

  it('drops thinking with an empty signature (unsigned reasoning rendered to a client and sent back) with a warning', () => {
    const warnings: Warning[] = []
    const ir = parseMessagesRequest({ model: 'm', max_tokens: 10, messages: [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'from another model', signature: '' }, { type: 'text', text: 'a' }] },
      { role: 'user', content: 'more' },
    ] }, 'm')
    expect((toMessagesBody(ir, warnings).messages as Json[])[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'a' }] })
    expect(features(warnings)).toEqual(['reasoning without signature'])
    // A turn left empty goes away; the user turns around it join.
    const empty = toMessagesBody(request({ dialect: 'openai', messages: [
      { role: 'user', content: [{ type: 'text', text: 'q' }] },
      { role: 'assistant', content: [{ type: 'reasoning', text: 'only thoughts' }] },
      { role: 'user', content: [{ type: 'text', text: 'again' }] },
    ] }), [])
    expect(empty.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'q' }, { type: 'text', text: 'again' }] }])
  })

  it('uses OpenRouter-style cache_control from OpenAI parts as the cache hint, without a warning', () => {
    const warnings: Warning[] = []
    const body = toMessagesBody(request({ dialect: 'openai', messages: [
      { role: 'system', content: [{ type: 'text', text: 'long', extra: { cache_control: { type: 'ephemeral', ttl: '1h' } } }] },
      { role: 'user', content: [{ type: 'text', text: 'q', extra: { cache_control: { type: 'ephemeral' }, prompt_cache_breakpoint: {} } }] },
    ] }), warnings)
    expect(body.system).toEqual([{ type: 'text', text: 'long', cache_control: { type: 'ephemeral', ttl: '1h' } }])
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'q', cache_control: { type: 'ephemeral' } }] }])
    expect(features(warnings)).toEqual(['prompt_cache_breakpoint'])
  })

  it('maps tool choices and parallel tool calls', () => {
    const choiceOf = (fields: Partial<ChatRequest>) => toMessagesBody(request(fields)).tool_choice
    expect(choiceOf({ toolChoice: 'auto' })).toEqual({ type: 'auto' })
    expect(choiceOf({ toolChoice: 'required' })).toEqual({ type: 'any' })
    expect(choiceOf({ toolChoice: 'none', parallelToolCalls: false })).toEqual({ type: 'none' })
    expect(choiceOf({ parallelToolCalls: false })).toEqual({ type: 'auto', disable_parallel_tool_use: true })
    expect(choiceOf({ parallelToolCalls: true })).toBeUndefined()
    expect(choiceOf({ toolChoice: 'auto', parallelToolCalls: true })).toEqual({ type: 'auto', disable_parallel_tool_use: false })
  })

  it('maps files: PDF base64 -> document, text -> plain-text document, image file -> image; filename -> title', () => {
    const body = toMessagesBody(request({ dialect: 'openai', messages: [{ role: 'user', content: [
      { type: 'file', source: { type: 'base64', mediaType: 'application/pdf', data: 'JVBER' }, mediaType: 'application/pdf', filename: 'a.pdf' },
      { type: 'file', source: { type: 'base64', mediaType: 'text/markdown', data: btoa('# hi') } },
      { type: 'file', source: { type: 'base64', mediaType: 'image/png', data: 'iVBOR' } },
      { type: 'image', source: { type: 'url', url: 'data:image/gif;base64,R0lG' } },
    ] }] }))
    expect((body.messages as Json[])[0]!.content).toEqual([
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' }, title: 'a.pdf' },
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: '# hi' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/gif', data: 'R0lG' } },
    ])
  })

  it('warns about what Anthropic cannot express: seed, penalties, response format, OpenAI metadata, names', () => {
    const warnings: Warning[] = []
    toMessagesBody(request({
      seed: 1, presencePenalty: 0.1, frequencyPenalty: 0.2, metadata: { k: 'v' }, n: 1,
      responseFormat: { type: 'json-schema', name: 's', schema: { type: 'object' } },
      messages: [{ role: 'user', name: 'ann', content: [{ type: 'text', text: 'hi' }] }],
    }), warnings)
    expect(features(warnings)).toEqual(['seed', 'presencePenalty', 'frequencyPenalty', 'metadata', 'responseFormat', 'message name'])
    const json: Warning[] = []
    toMessagesBody(request({ responseFormat: { type: 'json' } }), json)
    expect(features(json)).toEqual(['responseFormat'])
    const text: Warning[] = []
    toMessagesBody(request({ responseFormat: { type: 'text' } }), text)
    expect(text).toEqual([])
  })

  const BAD: Array<[string, Partial<ChatRequest>, string]> = [
    ['n > 1', { n: 2 }, 'n'],
    ['an OpenAI temperature above 1', { temperature: 1.5 }, 'temperature'],
    ['audio input', { messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'audio', data: 'UklGR', format: 'wav' }] }] }, 'messages[0].content[1]'],
    ['invalid tool arguments', { messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }] }, { role: 'assistant', content: [{ type: 'tool-call', id: 'c', name: 'f', arguments: '{"a":' }] }] }, 'messages[1].content[0].arguments'],
    ['an image in a system prompt', { messages: [{ role: 'system', content: [{ type: 'image', source: { type: 'url', url: 'https://x' } }] }] }, 'messages[0].content[0]'],
    ['a gs:// image URL', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'gs://bucket/a.png' } }] }] }, 'messages[0].content[0].source'],
    ['a .docx file', { messages: [{ role: 'user', content: [{ type: 'file', source: { type: 'base64', mediaType: 'application/msword', data: 'AA' } }] }] }, 'messages[0].content[0]'],
  ]
  it.each(BAD)('rejects %s with a 400 naming the IR path', (_name, fields, param) => {
    const error = catchError(() => toMessagesBody(request(fields)))
    expect(error.status).toBe(400)
    expect(error.param).toBe(param)
  })
})

describe('max_tokens and reasoning', () => {
  it.each([
    ['claude-3-haiku-20240307', 4096], ['claude-3-opus-latest', 4096], ['claude-3-5-sonnet-20241022', 8192], ['claude-3-5-haiku-latest', 8192],
    ['claude-3-7-sonnet-20250219', 64000], ['claude-sonnet-4-20250514', 64000], ['claude-sonnet-4-0', 64000], ['claude-sonnet-4-5', 64000],
    ['claude-opus-4-20250514', 32000], ['claude-opus-4-1-20250805', 32000], ['claude-opus-4-0', 32000], ['claude-opus-4-5-20251101', 64000],
    ['claude-haiku-4-5', 64000], ['us.anthropic.claude-sonnet-4-20250514-v1:0', 64000], ['claude-3-5-sonnet-v2@20241022', 8192],
    ['some-other-model', 4096], ['claude-opus-4-6', 4096],
  ])('defaultMaxTokens(%s) = %i', (model, expected) => {
    expect(defaultMaxTokens(model)).toBe(expected)
  })

  it('fills max_tokens with the model default when the caller gave none', () => {
    expect(toMessagesBody(request({ model: 'claude-3-5-haiku-20241022' })).max_tokens).toBe(8192)
  })

  it('maps reasoning effort to a thinking budget; budgetTokens wins', () => {
    expect([budgetForEffort('minimal'), budgetForEffort('low'), budgetForEffort('medium'), budgetForEffort('high')]).toEqual([1024, 2048, 8192, 24576])
    expect(toMessagesBody(request({ reasoning: { effort: 'medium' }, maxTokens: 20000 })).thinking).toEqual({ type: 'enabled', budget_tokens: 8192 })
    expect(toMessagesBody(request({ reasoning: { effort: 'high', budgetTokens: 3000 }, maxTokens: 20000 })).thinking).toEqual({ type: 'enabled', budget_tokens: 3000 })
  })

  it('raises max_tokens above the budget with a warning, within the model limit', () => {
    const warnings: Warning[] = []
    const body = toMessagesBody(request({ model: 'claude-opus-4-1', reasoning: { effort: 'high' }, maxTokens: 1000 }), warnings)
    expect(body).toMatchObject({ max_tokens: 32000, thinking: { type: 'enabled', budget_tokens: 24576 } })
    expect(features(warnings)).toEqual(['max_tokens raised from 1000 to 32000: Anthropic needs it above the thinking budget (24576)'])
    const unknown = toMessagesBody(request({ model: 'claude-next', reasoning: { effort: 'medium' } }), [])
    expect(unknown.max_tokens).toBe(8192 + 4096)
    const fits: Warning[] = []
    expect(toMessagesBody(request({ model: 'claude-sonnet-4-5', reasoning: { effort: 'high' } }), fits).max_tokens).toBe(64000)
    expect(fits).toEqual([])
  })
})

describe('bad Anthropic requests', () => {
  const base = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }
  const withMessage = (content: unknown, role = 'user') => ({ ...base, messages: [{ role: 'user', content: 'a' }, { role, content }] })
  const BAD: Array<[string, unknown, string]> = [
    ['missing max_tokens', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, 'max_tokens'],
    ['fractional max_tokens', { ...base, max_tokens: 1.5 }, 'max_tokens'],
    ['no messages', { model: 'm', max_tokens: 10 }, 'messages'],
    ['empty messages', { ...base, messages: [] }, 'messages'],
    ['unknown role', { ...base, messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role'],
    ['numeric content', withMessage(5), 'messages[1].content'],
    ['block without type', withMessage([{ text: 'x' }]), 'messages[1].content[0].type'],
    ['block that is not an object', withMessage(['x']), 'messages[1].content[0]'],
    ['image without source', withMessage([{ type: 'image' }]), 'messages[1].content[0].source'],
    ['image with an unknown source type', withMessage([{ type: 'image', source: { type: 'ftp', url: 'x' } }]), 'messages[1].content[0].source.type'],
    ['base64 image without data', withMessage([{ type: 'image', source: { type: 'base64', media_type: 'image/png' } }]), 'messages[1].content[0].source.data'],
    ['document with a bad source', withMessage([{ type: 'document', source: { type: 'pdf' } }]), 'messages[1].content[0].source.type'],
    ['tool_result without tool_use_id', withMessage([{ type: 'tool_result', content: 'x' }]), 'messages[1].content[0].tool_use_id'],
    ['tool_use in a user message', withMessage([{ type: 'tool_use', id: 'a', name: 'f', input: {} }]), 'messages[1].content[0].type'],
    ['tool_result in an assistant message', withMessage([{ type: 'tool_result', tool_use_id: 'a' }], 'assistant'), 'messages[1].content[0].type'],
    ['tool_use with string input', withMessage([{ type: 'tool_use', id: 'a', name: 'f', input: '{}' }], 'assistant'), 'messages[1].content[0].input'],
    ['thinking without signature', withMessage([{ type: 'thinking', thinking: 'x' }], 'assistant'), 'messages[1].content[0].signature'],
    ['bad cache_control', withMessage([{ type: 'text', text: 'x', cache_control: { type: 'persistent' } }]), 'messages[1].content[0].cache_control.type'],
    ['image in system', { ...base, system: [{ type: 'text', text: 'a' }, { type: 'image', source: { type: 'url', url: 'u' } }] }, 'system[1].type'],
    ['numeric system', { ...base, system: 5 }, 'system'],
    ['tool without input_schema', { ...base, tools: [{ name: 'f' }] }, 'tools[0].input_schema'],
    ['tool without name', { ...base, tools: [{ input_schema: {} }] }, 'tools[0].name'],
    ['unknown tool_choice', { ...base, tool_choice: { type: 'sometimes' } }, 'tool_choice.type'],
    ['tool_choice tool without name', { ...base, tool_choice: { type: 'tool' } }, 'tool_choice.name'],
    ['enabled thinking without budget', { ...base, thinking: { type: 'enabled' } }, 'thinking.budget_tokens'],
    ['string temperature', { ...base, temperature: 'hot' }, 'temperature'],
    ['stop_sequences of numbers', { ...base, stop_sequences: [1] }, 'stop_sequences[0]'],
    ['string stream', { ...base, stream: 'yes' }, 'stream'],
  ]
  it.each(BAD)('rejects %s with a 400 naming the field', (_name, body, param) => {
    const error = catchError(() => parseMessagesRequest(body as Json, 'm'))
    expect(error.status).toBe(400)
    expect(error.code).toBe('invalid_request')
    expect(error.param).toBe(param)
    expect(error.message).toContain(param)
  })
})
