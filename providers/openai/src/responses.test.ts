import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { GatewayError, type ChatRequest, type ChatResponse } from '@switchyard/core'
import { parseResponsesRequest, parseResponsesResponse, renderResponsesResponse, toResponsesBody } from './responses.js'

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
const reasoningResponse = JSON.parse(fixture('openai/responses-reasoning-encrypted.json')) as Record<string, any>
const cassette = parseYaml(fixture('openai/responses-stream-function-call.cassette.yaml')) as { interactions: Array<{ request: { parsed_body: Record<string, unknown> } }> }

/** Runs `fn` and returns the GatewayError it throws. */
function thrown(fn: () => unknown): GatewayError {
  try {
    fn()
  } catch (error) {
    if (GatewayError.is(error)) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

/** The SDK's `output_text` convenience: all output_text parts of message items, joined. */
const outputText = (response: Record<string, any>) =>
  (response.output as any[]).filter((item) => item.type === 'message').flatMap((item) => item.content).filter((part) => part.type === 'output_text').map((part) => part.text).join('')

/** A request body using every input item and content part the codec models, plus fields it does not. */
const richBody = {
  model: 'gpt-5',
  instructions: 'Be brief.',
  input: [
    { role: 'developer', content: 'Use metric units.' },
    { type: 'message', role: 'user', content: [
      { type: 'input_text', text: 'What is in these?' },
      { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' },
      { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' },
      { type: 'input_image', file_id: 'file-img', detail: 'high' },
      { type: 'input_file', file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' },
      { type: 'input_file', file_data: 'JVBERi0=', filename: 'b.pdf' },
      { type: 'input_file', file_id: 'file-abc' },
      { type: 'input_file', file_url: 'https://example.com/c.pdf' },
    ] },
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'First.' }, { type: 'summary_text', text: 'Second.' }], encrypted_content: 'gAAAA-opaque' },
    { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Let me look.', annotations: [] }] },
    { type: 'function_call', id: 'fc_1', call_id: 'call_a', name: 'lookup', arguments: '{"q":"a"}', status: 'completed' },
    { type: 'function_call', id: 'fc_2', call_id: 'call_b', name: 'lookup', arguments: '{"q":"b"}', status: 'completed' },
    { type: 'function_call_output', call_id: 'call_a', output: 'A' },
    { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: 'B' }, { type: 'input_image', image_url: 'https://example.com/b.png' }] },
    { type: 'item_reference', id: 'ws_123' },
    { type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot.' }] },
    { role: 'user', content: 'Try again.' },
  ],
  tools: [
    { type: 'function', name: 'lookup', description: 'Looks up', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false, defer_loading: true },
    { type: 'web_search', search_context_size: 'low' },
  ],
  tool_choice: { type: 'function', name: 'lookup' },
  parallel_tool_calls: false,
  max_output_tokens: 500,
  temperature: 0.2,
  top_p: 0.9,
  reasoning: { effort: 'high', summary: 'auto' },
  text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true }, verbosity: 'low' },
  user: 'user-1',
  metadata: { team: 'a' },
  stream: false,
  store: false,
  previous_response_id: 'resp_prev',
  include: ['reasoning.encrypted_content'],
  truncation: 'auto',
  background: false,
  some_new_field: { nested: [1, 2] },
}

describe('parseResponsesRequest', () => {
  it('decodes the recorded request body and encodes it back unchanged', () => {
    const body = cassette.interactions[0]!.request.parsed_body
    const request = parseResponsesRequest(body, 'gpt-5')
    expect(request.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Calculate 100 * 200 / 3' }] }])
    expect(request.tools).toEqual([expect.objectContaining({ type: 'function', name: 'final_result', strict: true })])
    expect(request.toolChoice).toBe('required')
    expect(request.reasoning).toEqual({ effort: 'low' })
    expect(request.stream).toBe(true)
    expect(request.streamUsage).toBe(true)
    expect(request.extra).toEqual({ include: ['reasoning.encrypted_content'], previous_response_id: null, service_tier: 'flex', reasoning: { summary: null } })
    expect(toResponsesBody(request)).toEqual(body)
  })

  it('maps every item kind onto the chat IR', () => {
    const request = parseResponsesRequest(richBody, 'target-model')
    expect(request.model).toBe('target-model')
    const [instructions, developer, user, assistant, tool1, tool2, reference, refusal, last] = request.messages
    expect(instructions).toEqual({ role: 'system', content: [{ type: 'text', text: 'Be brief.' }], extra: { instructions: true } })
    expect(developer!.role).toBe('developer')
    expect(user!.extra).toEqual({ type: 'message' })
    expect(user!.content.slice(1)).toEqual([
      { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' }, detail: 'low' },
      { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'file-id', id: 'file-img' }, detail: 'high' },
      { type: 'file', source: { type: 'base64', mediaType: 'application/pdf', data: 'JVBERi0=' }, mediaType: 'application/pdf', filename: 'a.pdf' },
      { type: 'file', source: { type: 'base64', mediaType: 'application/pdf', data: 'JVBERi0=' }, mediaType: 'application/pdf', filename: 'b.pdf', extra: { raw_file_data: true } },
      { type: 'file', source: { type: 'file-id', id: 'file-abc' } },
      { type: 'file', source: { type: 'url', url: 'https://example.com/c.pdf' } },
    ])
    // Reasoning, the assistant message and both calls form one assistant turn.
    expect(assistant!.role).toBe('assistant')
    expect(assistant!.content.map((part) => part.type)).toEqual(['reasoning', 'text', 'tool-call', 'tool-call'])
    expect(assistant!.content[0]).toMatchObject({ text: 'First.\n\nSecond.', signature: 'gAAAA-opaque', extra: { id: 'rs_1', encrypted_content: 'gAAAA-opaque' } })
    expect(assistant!.content[1]).toEqual({ type: 'text', text: 'Let me look.', extra: { annotations: [], item: { type: 'message', id: 'msg_1', status: 'completed' } } })
    expect(assistant!.content[2]).toEqual({ type: 'tool-call', id: 'call_a', name: 'lookup', arguments: '{"q":"a"}', extra: { id: 'fc_1', status: 'completed' } })
    expect(tool1).toEqual({ role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_a', content: [{ type: 'text', text: 'A' }] }] })
    expect(tool2!.content[0]).toMatchObject({ toolCallId: 'call_b', content: [{ type: 'text', text: 'B' }, { type: 'image' }] })
    expect(reference).toEqual({ role: 'assistant', content: [], extra: { responses_item: { type: 'item_reference', id: 'ws_123' } } })
    expect(refusal!.content).toEqual([{ type: 'refusal', text: 'I cannot.', extra: { item: { type: 'message' } } }])
    expect(last).toEqual({ role: 'user', content: [{ type: 'text', text: 'Try again.' }] })
    expect(request.tools).toEqual([{ type: 'function', name: 'lookup', description: 'Looks up', parameters: richBody.tools[0]!.parameters, strict: false, extra: { defer_loading: true } }])
    expect(request).toMatchObject({
      toolChoice: { type: 'tool', name: 'lookup' }, parallelToolCalls: false, maxTokens: 500, temperature: 0.2, topP: 0.9,
      reasoning: { effort: 'high' }, responseFormat: { type: 'json-schema', name: 'answer', schema: { type: 'object' }, strict: true },
      user: 'user-1', metadata: { team: 'a' }, stream: false,
    })
    expect(request.extra).toEqual({
      tools_builtin: [richBody.tools[1]], reasoning: { summary: 'auto' }, text: { verbosity: 'low' }, store: false,
      previous_response_id: 'resp_prev', include: ['reasoning.encrypted_content'], truncation: 'auto', background: false, some_new_field: { nested: [1, 2] },
    })
  })

  it('round trips a request body: ids, call ids, encrypted reasoning and unknown fields survive', () => {
    const request = parseResponsesRequest(richBody, 'gpt-5')
    const body = toResponsesBody(request)
    expect(body).toEqual(richBody)
    expect(parseResponsesRequest(body, 'gpt-5')).toEqual(request)
  })

  it('keeps efforts and tool choices the IR does not model in extra', () => {
    const body = { model: 'm', input: 'hi', reasoning: { effort: 'xhigh' }, tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [] } }
    const request = parseResponsesRequest(body, 'm')
    expect(request.reasoning).toBeUndefined()
    expect(request.toolChoice).toBeUndefined()
    expect(toResponsesBody(request)).toEqual({ model: 'm', input: [{ role: 'user', content: 'hi' }], reasoning: { effort: 'xhigh' }, tool_choice: body.tool_choice })
  })

  it.each([
    ['input', { input: 42 }],
    ['instructions', { instructions: ['x'] }],
    ['input[0]', { input: ['hello'] }],
    ['input[0].role', { input: [{ role: 'robot', content: 'x' }] }],
    ['input[0].content', { input: [{ role: 'user', content: 7 }] }],
    ['input[0].content[1].type', { input: [{ role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'input_video' }] }] }],
    ['input[0].content[0].text', { input: [{ role: 'user', content: [{ type: 'input_text' }] }] }],
    ['input[0].content[0].image_url', { input: [{ role: 'user', content: [{ type: 'input_image', detail: 'auto' }] }] }],
    ['input[3].call_id', { input: ['a', 'b', 'c'].map((content) => ({ role: 'user', content })).concat([{ type: 'function_call', name: 'f', arguments: '{}' } as any]) }],
    ['input[0].arguments', { input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: { a: 1 } }] }],
    ['input[0].output', { input: [{ type: 'function_call_output', call_id: 'c', output: 5 }] }],
    ['input[0].summary', { input: [{ type: 'reasoning', id: 'rs', summary: 'x' }] }],
    ['input[0].type', { input: [{ content: 'no role, no type' }] }],
    ['tools', { tools: {} }],
    ['tools[0].name', { tools: [{ type: 'function', function: { name: 'chat_style' } }] }],
    ['tools[1].parameters', { tools: [{ type: 'web_search' }, { type: 'function', name: 'f', parameters: 'x' }] }],
    ['tool_choice', { tool_choice: 'sometimes' }],
    ['text.format.type', { text: { format: { type: 'yaml' } } }],
    ['text.format.name', { text: { format: { type: 'json_schema', schema: {} } } }],
    ['temperature', { temperature: 'hot' }],
    ['max_output_tokens', { max_output_tokens: 1.5 }],
    ['metadata.a', { metadata: { a: 1 } }],
    ['stream', { stream: 'yes' }],
  ])('rejects a bad %s with a 400', (param, body) => {
    const error = thrown(() => parseResponsesRequest({ model: 'm', ...body }, 'm'))
    expect(error.status).toBe(400)
    expect(error.code).toBe('invalid_request')
    expect(error.param).toBe(param)
  })

  it('rejects IR the Responses API cannot express instead of dropping it', () => {
    const base: ChatRequest = { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], extra: {} }
    expect(thrown(() => toResponsesBody({ ...base, stop: ['x'] })).param).toBe('stop')
    expect(thrown(() => toResponsesBody({ ...base, n: 2 })).param).toBe('n')
    const audio = thrown(() => toResponsesBody({ ...base, messages: [{ role: 'user', content: [{ type: 'audio', data: 'AA', format: 'wav' }] }] }))
    expect(audio.param).toBe('messages[0].content[0]')
  })

  it('encodes chat IR from another dialect', () => {
    const request: ChatRequest = {
      model: 'gpt-4.1',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'sys' }] },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', mediaType: 'image/jpeg', data: '/9j/' } }] },
        { role: 'assistant', content: [{ type: 'text', text: 'ok' }, { type: 'tool-call', id: 'call_1', name: 'f', arguments: '{}' }, { type: 'reasoning', text: 'anthropic thinking', signature: 'sig' }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', content: [{ type: 'text', text: '42' }] }] },
      ],
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
      toolChoice: 'auto',
      responseFormat: { type: 'json' },
      extra: {},
    }
    expect(toResponsesBody(request)).toEqual({
      model: 'gpt-4.1',
      input: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'data:image/jpeg;base64,/9j/' }] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: '42' },
      ],
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
      tool_choice: 'auto',
      text: { format: { type: 'json_object' } },
    })
  })
})

describe('parseResponsesResponse', () => {
  it('decodes the recorded reasoning response', () => {
    const response = parseResponsesResponse(reasoningResponse)
    expect(response.id).toBe(reasoningResponse.id)
    expect(response.created).toBe(1765591383)
    expect(response.model).toBe('gpt-5-mini-2025-08-07')
    const [choice] = response.choices
    expect(choice!.finishReason).toEqual({ unified: 'stop', raw: 'completed' })
    const [reasoning, text] = choice!.message.content
    const [rsItem, msgItem] = reasoningResponse.output
    expect(reasoning).toEqual({ type: 'reasoning', text: rsItem.summary[0].text, signature: rsItem.encrypted_content, extra: { id: rsItem.id, encrypted_content: rsItem.encrypted_content } })
    expect(text).toEqual({ type: 'text', text: msgItem.content[0].text, extra: { annotations: [], logprobs: [], item: { id: msgItem.id, status: 'completed' } } })
    expect(response.usage).toMatchObject({ inputTokens: 865, outputTokens: 163, totalTokens: 1028, cachedInputTokens: 0, reasoningTokens: 128 })
    expect(response.extra).toMatchObject({ billing: { payer: 'developer' }, store: false, truncation: 'disabled', reasoning: { effort: 'high', summary: 'detailed' } })
  })

  it('round trips parse -> render -> parse, reproducing the recorded object', () => {
    const response = parseResponsesResponse(reasoningResponse)
    const rendered = renderResponsesResponse(response, { model: reasoningResponse.model })
    expect(rendered).toEqual(reasoningResponse)
    expect(parseResponsesResponse(JSON.parse(JSON.stringify(rendered)))).toEqual(response)
    expect(outputText(rendered)).toBe(reasoningResponse.output[1].content[0].text)
  })

  it.each([
    [{ status: 'completed', output: [{ type: 'function_call', id: 'fc_1', call_id: 'c', name: 'f', arguments: '{}' }] }, { unified: 'tool-calls', raw: 'completed' }],
    [{ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }, { unified: 'length', raw: 'max_output_tokens' }],
    [{ status: 'incomplete', incomplete_details: { reason: 'content_filter' } }, { unified: 'content-filter', raw: 'content_filter' }],
    [{ status: 'incomplete', incomplete_details: { reason: 'something_new' } }, { unified: 'other', raw: 'something_new' }],
    [{ status: 'failed', error: { code: 'server_error', message: 'x' } }, { unified: 'error', raw: 'failed' }],
    [{ status: 'cancelled' }, { unified: 'other', raw: 'cancelled' }],
  ])('maps %j to a finish reason', (fields, finishReason) => {
    const json = { id: 'resp_1', object: 'response', created_at: 1, model: 'm', output: [], ...fields }
    const response = parseResponsesResponse(json)
    expect(response.choices[0]!.finishReason).toEqual(finishReason)
    const rendered = renderResponsesResponse(response, { model: 'm' })
    if (finishReason.unified !== 'other' || finishReason.raw === 'cancelled') {
      expect(rendered.status).toBe(fields.status)
      expect(rendered.incomplete_details).toEqual((fields as any).incomplete_details ?? null)
    }
    if (fields.status === 'failed') expect(rendered.error).toEqual((fields as any).error)
  })

  it('keeps output items the IR cannot express in place for a same-dialect render', () => {
    const search = { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'q' } }
    const json = { id: 'resp_2', object: 'response', created_at: 2, status: 'completed', model: 'm', output: [search, { type: 'message', id: 'msg_2', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'found', annotations: [] }] }] }
    const rendered = renderResponsesResponse(parseResponsesResponse(json), { model: 'm' })
    expect(rendered.output).toEqual([search, { ...json.output[1], content: [{ type: 'output_text', text: 'found', annotations: [], logprobs: [] }] }])
  })

  it('rejects a body that is not a Response object with a 502', () => {
    for (const body of [null, 'x', { object: 'response' }]) expect(thrown(() => parseResponsesResponse(body)).status).toBe(502)
  })
})

describe('renderResponsesResponse', () => {
  const chat: ChatResponse = {
    id: 'chatcmpl-abc',
    model: 'claude-x',
    created: 1700000000,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: [
        { type: 'reasoning', text: 'thinking', signature: 'sig-1', extra: { foreign: true } },
        { type: 'text', text: 'Hello ' },
        { type: 'text', text: 'world', extra: { foreign: true } },
        { type: 'tool-call', id: 'toolu_1', name: 'f', arguments: '{"a":1}', extra: { index: 0 } },
      ] },
      finishReason: { unified: 'tool-calls', raw: 'tool_use' },
    }],
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    dialect: 'anthropic',
    extra: { stop_sequence: null },
  }

  it('renders another dialect\'s answer as a Response object the SDK reads', () => {
    const request = parseResponsesRequest({ model: 'x', instructions: 'Be kind.', input: 'hi', tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }, { type: 'web_search' }], temperature: 0.5, max_output_tokens: 100, metadata: { k: 'v' }, store: false }, 'claude-x')
    const rendered = renderResponsesResponse(chat, { model: 'anthropic/claude-x', request })
    expect(rendered).toMatchObject({
      id: 'resp_chatcmpl-abc', object: 'response', created_at: 1700000000, status: 'completed', model: 'anthropic/claude-x',
      error: null, incomplete_details: null, instructions: 'Be kind.', temperature: 0.5, max_output_tokens: 100, metadata: { k: 'v' }, store: false,
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }, { type: 'web_search' }], tool_choice: 'auto', parallel_tool_calls: true,
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
    })
    expect(rendered).not.toHaveProperty('stop_sequence')
    expect(rendered.output).toEqual([
      { id: 'rs_chatcmpl-abc_0', type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking' }], encrypted_content: 'sig-1' },
      { id: 'msg_chatcmpl-abc_1', type: 'message', status: 'completed', role: 'assistant', content: [
        { type: 'output_text', annotations: [], logprobs: [], text: 'Hello ' },
        { type: 'output_text', annotations: [], logprobs: [], text: 'world' },
      ] },
      { id: 'fc_chatcmpl-abc_2', type: 'function_call', status: 'completed', arguments: '{"a":1}', call_id: 'toolu_1', name: 'f' },
    ])
    expect(outputText(rendered)).toBe('Hello world')
  })

  it('renders a cut-off answer as incomplete and an unknown usage as null', () => {
    const cut = { ...chat, usage: undefined, choices: [{ ...chat.choices[0]!, finishReason: { unified: 'length' as const, raw: 'max_tokens' } }] }
    const rendered = renderResponsesResponse(cut, { model: 'm' })
    expect(rendered).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: null })
  })
})
