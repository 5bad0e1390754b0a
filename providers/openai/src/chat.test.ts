import { readFileSync } from 'node:fs'
import { GatewayError, type ChatRequest, type ChatResponse, type Warning } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { parseChatRequest, parseChatResponse, renderChatResponse, toChatBody } from './chat.js'

type Json = Record<string, any>

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
const interactions = (path: string): Json[] => parseYaml(fixture(path)).interactions
/** Request body of a go-vcr (JSON string) or VCR.py (`parsed_body`) interaction. */
const requestOf = (interaction: Json): Json => interaction.request.parsed_body ?? JSON.parse(interaction.request.body)
const responseOf = (interaction: Json): Json => interaction.response.parsed_body ?? JSON.parse(interaction.response.body)

/** Every non-streaming chat response fixture, by name. */
const RESPONSES: Array<[string, () => Json]> = [
  ['openai/chat-text.json', () => JSON.parse(fixture('openai/chat-text.json'))],
  ['openai/chat-tool-call.cassette.yaml', () => responseOf(interactions('openai/chat-tool-call.cassette.yaml')[0]!)],
  ['openai/chat-prompt-cache.cassette.yaml#0', () => responseOf(interactions('openai/chat-prompt-cache.cassette.yaml')[0]!)],
  ['openai/chat-prompt-cache.cassette.yaml#1', () => responseOf(interactions('openai/chat-prompt-cache.cassette.yaml')[1]!)],
  ['openai/chat-stream-parallel-tool-calls.cassette.yaml#0', () => responseOf(interactions('openai/chat-stream-parallel-tool-calls.cassette.yaml')[0]!)],
  ['azure/chat-text.cassette.yaml', () => responseOf(interactions('azure/chat-text.cassette.yaml')[0]!)],
  ['groq/chat-tool-call.json', () => JSON.parse(fixture('groq/chat-tool-call.json'))],
  ['groq/chat-reasoning.json', () => JSON.parse(fixture('groq/chat-reasoning.json'))],
  ['xai/chat-tool-call.json', () => JSON.parse(fixture('xai/chat-tool-call.json'))],
  ['deepseek/chat-reasoning.json', () => JSON.parse(fixture('deepseek/chat-reasoning.json'))],
  ['deepseek/chat-tool-call.json', () => JSON.parse(fixture('deepseek/chat-tool-call.json'))],
  ['mistral/chat-text.json', () => JSON.parse(fixture('mistral/chat-text.json'))],
  ['mistral/chat-tool-call.json', () => JSON.parse(fixture('mistral/chat-tool-call.json'))],
  ['mistral/chat-reasoning.json', () => JSON.parse(fixture('mistral/chat-reasoning.json'))],
  ['mistral/chat-prompt-cache.cassette.yaml#0', () => responseOf(interactions('mistral/chat-prompt-cache.cassette.yaml')[0]!)],
  ['mistral/chat-prompt-cache.cassette.yaml#1', () => responseOf(interactions('mistral/chat-prompt-cache.cassette.yaml')[1]!)],
]

/** Every chat request body recorded in a cassette. */
const REQUESTS: Array<[string, Json]> = [
  'openai/chat-tool-call.cassette.yaml',
  'openai/chat-stream-usage-reasoning-tokens.cassette.yaml',
  'openai/chat-stream-tool-call.cassette.yaml',
  'openai/chat-stream-parallel-tool-calls.cassette.yaml',
  'openai/chat-prompt-cache.cassette.yaml',
  'openai/chat-error-model-not-found.cassette.yaml',
  'azure/chat-text.cassette.yaml',
  'mistral/chat-prompt-cache.cassette.yaml',
  'mistral/chat-stream-thinking.cassette.yaml',
  'groq/chat-stream-error-tool-use-failed.cassette.yaml',
  'groq/chat-error-model-not-found.cassette.yaml',
].flatMap((path) => interactions(path).map((interaction, index): [string, Json] => [`${path}#${index}`, requestOf(interaction)]))

describe('parseChatResponse / renderChatResponse', () => {
  it.each(RESPONSES)('%s decodes, and render -> parse is stable', (_name, load) => {
    const raw = load()
    const ir = parseChatResponse(raw)
    expect(ir.id).toBe(raw.id)
    expect(ir.model).toBe(raw.model)
    expect(ir.choices).toHaveLength(raw.choices.length)
    const rendered = renderChatResponse(ir, raw.model)
    expect(parseChatResponse(JSON.parse(JSON.stringify(rendered)))).toEqual(ir)
    // Usage (cached, reasoning and provider-specific counts) survives exactly.
    expect(rendered.usage).toEqual(raw.usage)
    raw.choices.forEach((choice: Json, index: number) => {
      const message = (rendered.choices as Json[])[index]!.message
      expect((rendered.choices as Json[])[index]!.finish_reason).toBe(choice.finish_reason)
      if (typeof choice.message.content === 'string') expect(message.content).toBe(choice.message.content)
      // Tool call arguments stay byte-exact.
      expect(message.tool_calls?.map((call: Json) => [call.id, call.function.name, call.function.arguments]))
        .toEqual(choice.message.tool_calls?.length ? choice.message.tool_calls.map((call: Json) => [call.id, call.function.name, call.function.arguments]) : undefined)
    })
  })

  it.each(RESPONSES.filter(([name]) => name.startsWith('openai/')))('%s renders back exactly as OpenAI sent it', (_name, load) => {
    const raw = load()
    // Some recorded replies leave out `logprobs`; the renderer always writes it (null), as most do.
    const expected = { ...raw, choices: raw.choices.map((choice: Json) => ({ logprobs: null, ...choice })) }
    expect(renderChatResponse(parseChatResponse(raw), raw.model)).toEqual(expected)
  })

  it('keeps Azure content filter results at the top level but not per choice (the IR choice has no extra)', () => {
    const raw = RESPONSES.find(([name]) => name.startsWith('azure/'))![1]()
    const rendered = renderChatResponse(parseChatResponse(raw), raw.model)
    expect(rendered.prompt_filter_results).toEqual(raw.prompt_filter_results)
    const { content_filter_results: _dropped, ...choice } = raw.choices[0]
    expect((rendered.choices as Json[])[0]).toEqual(choice)
  })

  it('maps text, tool calls, usage and extras of an OpenAI tool-call reply', () => {
    const ir = parseChatResponse(RESPONSES[1]![1]())
    expect(ir.choices[0]!.message.content).toEqual([
      { type: 'tool-call', id: 'call_8fxy20OEu9ulvvaa5b5CzVA4', name: 'get_current_weather', arguments: '{"location":"Boston, MA","unit":"fahrenheit"}' },
    ])
    expect(ir.choices[0]!.finishReason).toEqual({ unified: 'tool-calls', raw: 'tool_calls' })
    expect(ir.usage).toMatchObject({ inputTokens: 162, outputTokens: 287, totalTokens: 449, cachedInputTokens: 0, reasoningTokens: 256 })
    expect(ir.extra).toEqual({ service_tier: 'default', system_fingerprint: null })
  })

  it('puts reasoning first: reasoning_content (xAI, DeepSeek), reasoning (Groq), Mistral thinking items', () => {
    for (const name of ['xai/chat-tool-call.json', 'deepseek/chat-reasoning.json', 'groq/chat-reasoning.json', 'mistral/chat-reasoning.json']) {
      const raw = RESPONSES.find(([n]) => n === name)![1]()
      const ir = parseChatResponse(raw)
      const first = ir.choices[0]!.message.content[0]!
      expect(first.type).toBe('reasoning')
      const rendered = renderChatResponse(ir, raw.model)
      expect((rendered.choices as Json[])[0]!.message.reasoning_content).toBe((first as { text: string }).text)
    }
    const mistral = parseChatResponse(RESPONSES.find(([n]) => n === 'mistral/chat-reasoning.json')![1]())
    expect(mistral.choices[0]!.message.content).toEqual([
      { type: 'reasoning', text: 'The user is asking for 2+2. This is basic arithmetic. 2+2=4.' },
      { type: 'text', text: '2 + 2 = 4' },
    ])
  })

  it('reads cached and reasoning tokens of DeepSeek and xAI', () => {
    expect(parseChatResponse(RESPONSES.find(([n]) => n === 'deepseek/chat-tool-call.json')![1]()).usage?.cachedInputTokens).toBe(320)
    expect(parseChatResponse(RESPONSES.find(([n]) => n === 'xai/chat-tool-call.json')![1]()).usage).toMatchObject({ reasoningTokens: expect.any(Number), cachedInputTokens: expect.any(Number) })
  })

  it('maps an unknown finish reason to other, keeps raw, and renders a valid OpenAI value', () => {
    const raw = JSON.parse(fixture('openai/chat-text.json'))
    raw.choices[0].finish_reason = 'eos_token'
    const ir = parseChatResponse(raw)
    expect(ir.choices[0]!.finishReason).toEqual({ unified: 'other', raw: 'eos_token' })
    expect((renderChatResponse(ir, 'm').choices as Json[])[0]!.finish_reason).toBe('stop')
  })

  it('renders refusals, logprobs and finish reasons from other dialects', () => {
    const response: ChatResponse = {
      id: 'msg_1', model: 'claude', created: 5, usage: undefined,
      choices: [{ index: 0, logprobs: { content: [] }, finishReason: { unified: 'length', raw: 'max_tokens' }, message: { role: 'assistant', content: [{ type: 'refusal', text: 'no' }] } }],
    }
    expect(renderChatResponse(response, 'alias')).toEqual({
      id: 'msg_1', object: 'chat.completion', created: 5, model: 'alias',
      choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'no' }, logprobs: { content: [] }, finish_reason: 'length' }],
    })
  })

  it('rejects a malformed upstream body with a 502', () => {
    for (const body of [null, 'x', {}, { choices: [{ message: 'hi' }] }]) {
      const error = catchError(() => parseChatResponse(body))
      expect(error.status).toBe(502)
    }
  })
})

/** What `toChatBody` deliberately writes differently from what a caller sent. */
function normalized(body: Json): Json {
  const out: Json = {}
  for (const [key, value] of Object.entries(body)) if (value !== null) out[key] = value
  if (out.max_tokens !== undefined) [out.max_completion_tokens, out.max_tokens] = [out.max_tokens, undefined]
  if (typeof out.stop === 'string') out.stop = [out.stop]
  if (out.stream) out.stream_options = { ...out.stream_options, include_usage: true }
  out.messages = out.messages.map((message: Json) => {
    const copy = { ...message }
    if (copy.tool_calls?.length === 0) delete copy.tool_calls
    if (copy.role === 'assistant' && copy.content === undefined) copy.content = null
    if (Array.isArray(copy.content)) copy.content = copy.content.map((part: Json) => ({ type: 'text', ...part }))
    // A lone plain text part is written as a string, as the SDKs send it.
    if (copy.content?.length === 1 && Object.keys(copy.content[0]).join() === 'type,text') copy.content = copy.content[0].text
    return copy
  })
  return JSON.parse(JSON.stringify(out))
}

describe('parseChatRequest / toChatBody', () => {
  it.each(REQUESTS)('%s round trips', (_name, body) => {
    const ir = parseChatRequest(body, body.model)
    const wire = toChatBody(ir)
    expect(wire).toEqual(normalized(body))
    expect(parseChatRequest(wire, body.model)).toEqual({ ...ir, stream: ir.stream, streamUsage: ir.stream ? true : ir.streamUsage })
  })

  it('keeps unknown fields in extra and copies them back', () => {
    const body = {
      model: 'gpt-4o', messages: [{ role: 'user', content: 'hi', future_message_field: 1 }],
      logprobs: true, top_logprobs: 2, logit_bias: { '42': -100 }, prediction: { type: 'content', content: 'x' },
      service_tier: 'flex', store: true, modalities: ['text'], some_future_field: { nested: [1, 2] },
      stream: true, stream_options: { include_usage: false, include_obfuscation: false },
      reasoning_effort: 'xhigh',
    }
    const ir = parseChatRequest(body, 'target-model')
    expect(ir.model).toBe('target-model')
    expect(ir.extra).toEqual({
      logprobs: true, top_logprobs: 2, logit_bias: { '42': -100 }, prediction: { type: 'content', content: 'x' },
      service_tier: 'flex', store: true, modalities: ['text'], some_future_field: { nested: [1, 2] },
      stream_options: { include_obfuscation: false }, reasoning_effort: 'xhigh',
    })
    expect(ir.streamUsage).toBe(false)
    expect(ir.messages[0]!.extra).toEqual({ future_message_field: 1 })
    expect(toChatBody(ir)).toEqual({ ...body, model: 'target-model', stream_options: { include_usage: true, include_obfuscation: false } })
  })

  it('maps every modeled field', () => {
    const body = {
      model: 'm',
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', name: 'ann', content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K', detail: 'high' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
          { type: 'input_audio', input_audio: { data: 'UklGR', format: 'wav' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBER', filename: 'a.pdf' } },
          { type: 'file', file: { file_id: 'file-abc' } },
        ] },
        { role: 'assistant', content: 'ok', reasoning_content: 'thought', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a": 1}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: 'r' }] },
      ],
      tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'f' } }, parallel_tool_calls: false,
      max_completion_tokens: 10, temperature: 0.5, top_p: 0.9, stop: ['x', 'y'], seed: 7, n: 2,
      presence_penalty: 0.1, frequency_penalty: 0.2, reasoning_effort: 'low', user: 'u', metadata: { k: 'v' },
      response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' }, strict: true } },
    }
    const ir = parseChatRequest(body, 'm')
    expect(ir).toMatchObject({
      toolChoice: { type: 'tool', name: 'f' }, parallelToolCalls: false, maxTokens: 10, temperature: 0.5, topP: 0.9,
      stop: ['x', 'y'], seed: 7, n: 2, presencePenalty: 0.1, frequencyPenalty: 0.2, reasoning: { effort: 'low' }, user: 'u',
      metadata: { k: 'v' }, responseFormat: { type: 'json-schema', name: 's', schema: { type: 'object' }, strict: true },
      tools: [{ type: 'function', name: 'f', description: 'd', parameters: { type: 'object' }, strict: true }], extra: {},
    })
    expect(ir.messages[1]!.content).toEqual([
      { type: 'text', text: 'look' },
      { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'iVBORw0K' }, detail: 'high' },
      { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
      { type: 'audio', data: 'UklGR', format: 'wav' },
      { type: 'file', source: { type: 'base64', mediaType: 'application/pdf', data: 'JVBER' }, mediaType: 'application/pdf', filename: 'a.pdf' },
      { type: 'file', source: { type: 'file-id', id: 'file-abc' } },
    ])
    expect(ir.messages[2]!.content).toEqual([
      { type: 'reasoning', text: 'thought' },
      { type: 'text', text: 'ok' },
      { type: 'tool-call', id: 'c1', name: 'f', arguments: '{"a": 1}' },
    ])
    expect(ir.messages[3]!.content).toEqual([{ type: 'tool-result', toolCallId: 'c1', content: [{ type: 'text', text: 'r' }] }])
    const wire = toChatBody(ir)
    expect(wire).toEqual({ ...body, messages: body.messages.map((message) => (message.role === 'tool' ? { ...message, content: 'r' } : message)) })
    expect(Object.values(wire).includes(undefined)).toBe(false)
  })

  it('splits tool results out of user messages from other dialects and warns about what it cannot say', () => {
    const request: ChatRequest = {
      model: 'm', extra: {}, topK: 5, reasoning: { budgetTokens: 1024 },
      messages: [
        { role: 'assistant', content: [{ type: 'reasoning', text: 'hm', signature: 'sig' }, { type: 'tool-call', id: 't1', name: 'f', arguments: '{}' }] },
        { role: 'user', content: [
          { type: 'tool-result', toolCallId: 't1', content: [{ type: 'text', text: 'done' }, { type: 'image', source: { type: 'url', url: 'u' } }] },
          { type: 'text', text: 'next?' },
        ] },
      ],
    }
    const warnings: Warning[] = []
    expect(toChatBody(request, warnings).messages).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }], reasoning_content: 'hm' },
      { role: 'tool', tool_call_id: 't1', content: 'done' },
      { role: 'user', content: 'next?' },
    ])
    expect(warnings.map((warning) => (warning.type === 'unsupported' ? warning.feature : warning.message))).toEqual(['topK', 'thinking budget 1024 sent as reasoning_effort "low"', 'reasoning signature', 'image in a tool result'])
  })

  it('accepts a text part without type (as OpenAI does) and keeps unknown part members', () => {
    const ir = parseChatRequest(REQUESTS.find(([name]) => name === 'openai/chat-prompt-cache.cassette.yaml#0')![1], 'm')
    expect(ir.messages[0]!.content[0]).toMatchObject({ type: 'text', extra: { prompt_cache_breakpoint: { mode: 'explicit' } } })
    expect(ir.extra).toMatchObject({ prompt_cache_key: 'pydantic-ai-prompt-cache-e2e-chat', prompt_cache_options: { mode: 'explicit', ttl: '30m' } })
  })

  it('sets stream_options.include_usage whenever it streams', () => {
    expect(toChatBody({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }], stream: true, extra: {} }))
      .toEqual({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } })
  })

  const BAD: Array<[string, unknown, string | undefined]> = [
    ['no messages', { model: 'm' }, 'messages'],
    ['empty messages', { model: 'm', messages: [] }, 'messages'],
    ['messages not an array', { model: 'm', messages: 'hi' }, 'messages'],
    ['message not an object', { model: 'm', messages: ['hi'] }, 'messages[0]'],
    ['unknown role', { model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }] }, 'messages[1].role'],
    ['user without content', { model: 'm', messages: [{ role: 'user' }] }, 'messages[0].content'],
    ['content of the wrong type', { model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { role: 'user', content: 5 }] }, 'messages[2].content'],
    ['unknown part type', { model: 'm', messages: [{ role: 'user', content: [{ type: 'video', video: {} }] }] }, 'messages[0].content[0].type'],
    ['image part in a system message', { model: 'm', messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'u' } }] }] }, 'messages[0].content[0].type'],
    ['image part without url', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'messages[0].content[0].image_url.url'],
    ['file part without data or id', { model: 'm', messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'a' } }] }] }, 'messages[0].content[0].file'],
    ['tool message without tool_call_id', { model: 'm', messages: [{ role: 'tool', content: 'r' }] }, 'messages[0].tool_call_id'],
    ['tool call without arguments', { model: 'm', messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f' } }] }] }, 'messages[0].tool_calls[0].function.arguments'],
    ['non-function tool', { model: 'm', messages: [{ role: 'user', content: 'a' }], tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type'],
    ['bad tool_choice', { model: 'm', messages: [{ role: 'user', content: 'a' }], tool_choice: 'sometimes' }, 'tool_choice'],
    ['string temperature', { model: 'm', messages: [{ role: 'user', content: 'a' }], temperature: 'hot' }, 'temperature'],
    ['fractional max_tokens', { model: 'm', messages: [{ role: 'user', content: 'a' }], max_tokens: 1.5 }, 'max_tokens'],
    ['n of 0', { model: 'm', messages: [{ role: 'user', content: 'a' }], n: 0 }, 'n'],
    ['stop of numbers', { model: 'm', messages: [{ role: 'user', content: 'a' }], stop: [1] }, 'stop'],
    ['unknown response_format', { model: 'm', messages: [{ role: 'user', content: 'a' }], response_format: { type: 'yaml' } }, 'response_format.type'],
    ['json_schema without name', { model: 'm', messages: [{ role: 'user', content: 'a' }], response_format: { type: 'json_schema', json_schema: {} } }, 'response_format.json_schema.name'],
    ['non-string metadata', { model: 'm', messages: [{ role: 'user', content: 'a' }], metadata: { a: 1 } }, 'metadata.a'],
    ['string stream', { model: 'm', messages: [{ role: 'user', content: 'a' }], stream: 'yes' }, 'stream'],
  ]
  it.each(BAD)('rejects %s with a 400 naming the field', (_name, body, param) => {
    const error = catchError(() => parseChatRequest(body as Json, 'm'))
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.status).toBe(400)
    expect(error.param).toBe(param)
    expect(error.message).toContain(param)
  })

  it('rejects the recorded bad request (null user content) before it reaches OpenAI', () => {
    const body = requestOf(interactions('openai/chat-error-unsupported-parameter.cassette.yaml')[0]!)
    expect(catchError(() => parseChatRequest(body, body.model)).param).toBe('messages[0].content')
  })
})

function catchError(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (GatewayError.is(error)) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('extra from another dialect', () => {
  it('is not copied into an OpenAI body; each field becomes a warning', async () => {
    const { toChatBody } = await import('./chat.js')
    const warnings: import('@switchyard/core').Warning[] = []
    const body = toChatBody({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], dialect: 'anthropic', extra: { container: 'c1', mcp_servers: [] } }, warnings)
    expect(body).not.toHaveProperty('container')
    expect(body).not.toHaveProperty('mcp_servers')
    expect(warnings.map((warning) => warning.type === 'unsupported' && warning.feature)).toEqual(['container', 'mcp_servers'])
  })
})

describe('reasoning_details (signed reasoning through the OpenAI dialect)', () => {
  it('renders signatures and redacted reasoning, and parses them back from an assistant turn', async () => {
    const { renderChatResponse, parseChatRequest } = await import('./chat.js')
    const rendered = renderChatResponse(
      {
        id: 'msg_1',
        model: 'claude',
        created: 0,
        usage: undefined,
        choices: [{ index: 0, finishReason: { unified: 'stop', raw: 'end_turn' }, message: { role: 'assistant', content: [
          { type: 'reasoning', text: 'Let me think.', signature: 'sig-abc' },
          { type: 'reasoning', text: '', redacted: 'opaque-data' },
          { type: 'text', text: 'Answer.' },
        ] } }],
      },
      'claude',
    ) as any
    const message = rendered.choices[0].message
    expect(message.reasoning_content).toBe('Let me think.')
    expect(message.reasoning_details).toEqual([
      { type: 'reasoning.text', text: 'Let me think.', signature: 'sig-abc', index: 0 },
      { type: 'reasoning.encrypted', data: 'opaque-data', index: 1 },
    ])
    const request = parseChatRequest({ model: 'm', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: message.content, reasoning_content: message.reasoning_content, reasoning_details: message.reasoning_details }, { role: 'user', content: 'more' }] }, 'm')
    expect(request.messages[1]!.content).toEqual([
      { type: 'reasoning', text: 'Let me think.', signature: 'sig-abc' },
      { type: 'reasoning', text: '', redacted: 'opaque-data' },
      { type: 'text', text: 'Answer.' },
    ])
    expect(request.messages[1]!.extra).toBeUndefined()
  })

  it('leaves reasoning_details out when no reasoning is signed', async () => {
    const { renderChatResponse } = await import('./chat.js')
    const rendered = renderChatResponse({ id: 'c', model: 'm', created: 0, usage: undefined, choices: [{ index: 0, finishReason: { unified: 'stop', raw: 'stop' }, message: { role: 'assistant', content: [{ type: 'reasoning', text: 'r' }, { type: 'text', text: 't' }] } }] }, 'm') as any
    expect(rendered.choices[0].message).not.toHaveProperty('reasoning_details')
  })
})

describe('thinking budget toward OpenAI', () => {
  it('becomes the nearest reasoning_effort, with a warning', async () => {
    const { toChatBody } = await import('./chat.js')
    const cases: Array<[number, string]> = [[1024, 'low'], [2048, 'low'], [4000, 'medium'], [8192, 'medium'], [20000, 'high']]
    for (const [budget, effort] of cases) {
      const warnings: import('@switchyard/core').Warning[] = []
      const body = toChatBody({ model: 'o3', messages: [{ role: 'user', content: [{ type: 'text', text: 'q' }] }], reasoning: { budgetTokens: budget }, dialect: 'anthropic', extra: {} }, warnings)
      expect(body.reasoning_effort).toBe(effort)
      expect(warnings).toEqual([{ type: 'other', message: `thinking budget ${budget} sent as reasoning_effort "${effort}"` }])
    }
  })
})
