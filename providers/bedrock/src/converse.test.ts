import { describe, expect, it } from 'vitest'
import type { ChatRequest, Message, Warning } from '@switchyard/core'
import { cassette, fixtureJson } from '../test/fixtures.js'
import { parseConverseResponse, toConverseBody } from './converse.js'

const request = (messages: Message[], rest: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'us.anthropic.claude-sonnet-4-20250514-v1:0', messages, extra: {}, ...rest })
const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] })
/** The recorded bodies (pydantic-ai's client) spell absent settings as `{}` / `[]`; the codec leaves them out. */
const withoutEmpty = (body: Record<string, any>) => Object.fromEntries(Object.entries(body).filter(([, value]) => !(typeof value === 'object' && value !== null && Object.keys(value).length === 0)))

describe('toConverseBody: recorded request bodies', () => {
  it('prompt caching: system, document and tools with cache points (Claude Sonnet 4.5)', () => {
    const recorded = cassette('converse-prompt-cache.cassette.yaml')[0]!.request.body
    const [first, document, newline, , question] = recorded.messages[0].content
    const ir = request([
      { role: 'system', content: [{ type: 'text', text: recorded.system[0].text, cache: { type: 'ephemeral' } }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: first.text },
          { type: 'file', source: { type: 'base64', mediaType: 'text/plain', data: document.document.source.bytes }, mediaType: 'text/plain', filename: 'Document 1' },
          { type: 'text', text: newline.text, cache: { type: 'ephemeral' } },
          { type: 'text', text: question.text, cache: { type: 'ephemeral' } },
        ],
      },
    ], {
      model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      tools: [
        { type: 'function', name: 'catalog_lookup', parameters: recorded.toolConfig.tools[0].toolSpec.inputSchema.json },
        { type: 'function', name: 'diagnostics', parameters: recorded.toolConfig.tools[1].toolSpec.inputSchema.json, cache: { type: 'ephemeral' } },
      ],
      toolChoice: 'auto',
    })
    const warnings: Warning[] = []
    expect(toConverseBody(ir, warnings)).toEqual(withoutEmpty(recorded))
    expect(warnings).toEqual([])
  })

  it('tool use, second turn: assistant text + toolUse, then the toolResult (Nova Micro)', () => {
    const recorded = cassette('converse-stream-tool-use.cassette.yaml')[1]!.request.body
    const assistant = recorded.messages[1].content
    const ir = request([
      { role: 'system', content: [{ type: 'text', text: 'You are a helpful chatbot.' }] },
      user('What is the temperature of the capital of France?'),
      { role: 'assistant', content: [{ type: 'text', text: assistant[0].text }, { type: 'tool-call', id: 'tooluse_lAG_zP8QRHmSYOwZzzaCqA', name: 'get_temperature', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'tooluse_lAG_zP8QRHmSYOwZzzaCqA', content: [{ type: 'text', text: '30°C' }] }] },
    ], {
      model: 'us.amazon.nova-micro-v1:0',
      topP: 0.5,
      tools: recorded.toolConfig.tools.map((tool: any) => ({ type: 'function', name: tool.toolSpec.name, description: tool.toolSpec.description, parameters: tool.toolSpec.inputSchema.json })),
      stream: true,
    })
    const expected = structuredClone(recorded)
    // The recording's client sent `status: "success"`, the default; the codec sends a status only for errors.
    delete expected.messages[2].content[0].toolResult.status
    expect(toConverseBody(ir)).toEqual(expected)
  })

  it('Claude thinking goes in additionalModelRequestFields (Claude Sonnet 4)', () => {
    const recorded = cassette('converse-stream-thinking.cassette.yaml')[0]!.request.body
    expect(toConverseBody(request([user('Hello')], { reasoning: { budgetTokens: 1024 }, stream: true }))).toEqual(withoutEmpty(recorded))
  })
})

describe('toConverseBody: mapping rules', () => {
  it('joins consecutive turns of a role, moves late system messages with a warning, and maps sampling', () => {
    const warnings: Warning[] = []
    const body = toConverseBody(request([
      user('a'), user('b'),
      { role: 'developer', content: [{ type: 'text', text: 'late rule' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'c' }] },
    ], { maxTokens: 200, temperature: 0.2, topP: 0.9, topK: 40, stop: ['END'], metadata: { team: 'a' } }), warnings)
    expect(body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'a' }, { text: 'b' }] }, { role: 'assistant', content: [{ text: 'c' }] }],
      system: [{ text: 'late rule' }],
      inferenceConfig: { maxTokens: 200, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
      additionalModelRequestFields: { top_k: 40 },
      requestMetadata: { team: 'a' },
    })
    expect(warnings).toEqual([{ type: 'other', message: 'messages[2]: a developer message inside the conversation was moved to the Converse system prompt' }])
  })

  it('Nova takes topK inside additionalModelRequestFields.inferenceConfig', () => {
    expect(toConverseBody(request([user('x')], { model: 'us.amazon.nova-micro-v1:0', topK: 20 })).additionalModelRequestFields).toEqual({ inferenceConfig: { topK: 20 } })
  })

  it('reasoning effort -> a thinking budget; maxTokens at or below it is raised with a warning', () => {
    const warnings: Warning[] = []
    const body = toConverseBody(request([user('x')], { reasoning: { effort: 'medium' }, maxTokens: 1000 }), warnings)
    expect(body.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 8192 } })
    expect(body.inferenceConfig).toEqual({ maxTokens: 12288 })
    expect(warnings[0]).toMatchObject({ type: 'other', message: expect.stringContaining('raised from 1000 to 12288') })
  })

  it('reasoning toward a model without a known setting is a warning, not a silent drop', () => {
    const warnings: Warning[] = []
    const body = toConverseBody(request([user('x')], { model: 'meta.llama3-70b-instruct-v1:0', reasoning: { effort: 'high' } }), warnings)
    expect(body.additionalModelRequestFields).toBeUndefined()
    expect(warnings).toEqual([{ type: 'unsupported', feature: 'reasoning', details: 'no reasoning setting is known for meta.llama3-70b-instruct-v1:0 on Bedrock' }])
  })

  it('images, documents, tool results with images and errors, signed and redacted reasoning', () => {
    const body = toConverseBody(request([
      { role: 'user', content: [
        { type: 'image', source: { type: 'url', url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'file', source: { type: 'base64', mediaType: 'application/pdf', data: 'JVBERi0=' }, filename: 'report.pdf' },
        { type: 'file', source: { type: 'url', url: 's3://bucket/notes.md' }, mediaType: 'text/markdown', filename: 'report.md' },
      ] },
      { role: 'assistant', content: [
        { type: 'reasoning', text: 'think', signature: 'sig' },
        { type: 'reasoning', text: '', redacted: 'b3BhcXVl' },
        { type: 'tool-call', id: 't1', name: 'shot', arguments: '' },
      ] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 't1', isError: true, content: [{ type: 'text', text: 'failed' }, { type: 'image', source: { type: 'base64', mediaType: 'image/jpeg', data: '/9j/' } }] }] },
    ]))
    expect(body.messages).toEqual([
      { role: 'user', content: [
        { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } },
        { document: { format: 'pdf', name: 'report', source: { bytes: 'JVBERi0=' } } },
        { document: { format: 'md', name: 'report (2)', source: { s3Location: { uri: 's3://bucket/notes.md' } } } },
      ] },
      { role: 'assistant', content: [
        { reasoningContent: { reasoningText: { text: 'think', signature: 'sig' } } },
        { reasoningContent: { redactedContent: 'b3BhcXVl' } },
        { toolUse: { toolUseId: 't1', name: 'shot', input: {} } },
      ] },
      { role: 'user', content: [{ toolResult: { toolUseId: 't1', status: 'error', content: [{ text: 'failed' }, { image: { format: 'jpeg', source: { bytes: '/9j/' } } }] } }] },
    ])
  })

  it('tool choice: required -> any, a named tool -> tool, none -> no tools unless the history has tool calls', () => {
    const tools = [{ type: 'function' as const, name: 'f', parameters: { type: 'object' } }]
    expect(toConverseBody(request([user('x')], { tools, toolChoice: 'required' })).toolConfig).toEqual({ tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object' } } } }], toolChoice: { any: {} } })
    expect(toConverseBody(request([user('x')], { tools, toolChoice: { type: 'tool', name: 'f' } })).toolConfig).toMatchObject({ toolChoice: { tool: { name: 'f' } } })
    expect(toConverseBody(request([user('x')], { tools, toolChoice: 'none' })).toolConfig).toBeUndefined()
    const warnings: Warning[] = []
    const history = [user('x'), { role: 'assistant' as const, content: [{ type: 'tool-call' as const, id: '1', name: 'f', arguments: '{}' }] }, { role: 'tool' as const, content: [{ type: 'tool-result' as const, toolCallId: '1', content: [{ type: 'text' as const, text: 'ok' }] }] }]
    expect(toConverseBody(request(history, { tools, toolChoice: 'none' }), warnings).toolConfig).toEqual({ tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object' } } } }] })
    expect(warnings).toMatchObject([{ type: 'unsupported', feature: 'toolChoice' }])
  })

  it('warns for what Converse cannot say, and refuses what it cannot serve', () => {
    const warnings: Warning[] = []
    toConverseBody(request([user('x')], { seed: 1, presencePenalty: 1, frequencyPenalty: 1, user: 'u', responseFormat: { type: 'json' }, parallelToolCalls: false, tools: [{ type: 'function', name: 'f', strict: true }] }), warnings)
    expect(warnings.map((warning) => (warning as { feature: string }).feature)).toEqual(['seed', 'presencePenalty', 'frequencyPenalty', 'user', 'responseFormat', 'parallelToolCalls', 'strict'])
    expect(() => toConverseBody(request([user('x')], { n: 2 }))).toThrow(expect.objectContaining({ status: 400, param: 'n' }))
    expect(() => toConverseBody(request([{ role: 'user', content: [{ type: 'audio', data: 'AA==', format: 'wav' }] }]))).toThrow(expect.objectContaining({ status: 400, param: 'messages[0].content[0]' }))
    expect(() => toConverseBody(request([{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }] }]))).toThrow(/s3:\/\/ locations/)
    expect(() => toConverseBody(request([{ role: 'assistant', content: [{ type: 'tool-call', id: '1', name: 'f', arguments: '{oops' }] }]))).toThrow(expect.objectContaining({ param: 'messages[0].content[0].arguments' }))
    expect(() => toConverseBody(request([{ role: 'system', content: [{ type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'AA==' } }] }, user('x')]))).toThrow(/text only/)
  })

  it("another dialect's extras are reported, never copied onto the Converse wire", () => {
    const warnings: Warning[] = []
    const body = toConverseBody({ ...request([{ role: 'user', content: [{ type: 'text', text: 'x', extra: { annotations: [] } }] }]), dialect: 'openai', extra: { logprobs: true } }, warnings)
    expect(body).toEqual({ messages: [{ role: 'user', content: [{ text: 'x' }] }] })
    expect(warnings.map((warning) => (warning as { feature: string }).feature).sort()).toEqual(['logprobs', 'text.annotations'])
  })
})

describe('parseConverseResponse: recorded bodies', () => {
  it('text (vercel/ai fixture): content, stop reason, usage with the duplicate counters kept in extra', () => {
    const response = parseConverseResponse(fixtureJson('converse-text.json'))
    expect(response.choices[0]!.message.content).toEqual([{ type: 'text', text: expect.stringMatching(/^Let me count the "r"s/) }])
    expect(response.choices[0]!.finishReason).toEqual({ unified: 'stop', raw: 'end_turn' })
    expect(response.usage).toEqual({
      inputTokens: 22, outputTokens: 57, totalTokens: 79, cachedInputTokens: 0, cacheWriteInputTokens: 0,
      extra: { cacheReadInputTokenCount: 0, cacheWriteInputTokenCount: 0, serverToolUsage: {} },
    })
    expect(response.extra).toEqual({ metrics: { latencyMs: 1864 } })
    expect(response.dialect).toBe('bedrock-converse')
  })

  it('reasoning with its signature, then text', () => {
    const response = parseConverseResponse(fixtureJson('converse-reasoning.json'))
    expect(response.choices[0]!.message.content).toEqual([
      { type: 'reasoning', text: expect.stringMatching(/^Let me count/), signature: expect.stringMatching(/^EvYBCkgICxAB/) },
      { type: 'text', text: expect.stringMatching(/^There are \*\*3\*\*/) },
    ])
  })

  it("prompt cache: Bedrock's inputTokens excludes the cache; the IR's includes it (1322 written, then read)", () => {
    const [write, read] = cassette('converse-prompt-cache.cassette.yaml')
    expect(parseConverseResponse(write!.response.json).usage).toMatchObject({ inputTokens: 1324, cacheWriteInputTokens: 1322, cachedInputTokens: 0, outputTokens: 5, totalTokens: 1329 })
    expect(parseConverseResponse(read!.response.json).usage).toMatchObject({ inputTokens: 1324, cachedInputTokens: 1322, cacheWriteInputTokens: 0, outputTokens: 5, totalTokens: 1329 })
  })

  it('keeps blocks the IR has no part for in message extra, and maps tool use', () => {
    const response = parseConverseResponse({
      output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 'tu', name: 'f', input: { a: 1 } } }, { citationsContent: { content: [{ text: 'x' }] } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
    })
    expect(response.choices[0]!.message).toEqual({ role: 'assistant', content: [{ type: 'tool-call', id: 'tu', name: 'f', arguments: '{"a":1}' }], extra: { bedrock_blocks: [{ citationsContent: { content: [{ text: 'x' }] } }] } })
    expect(response.choices[0]!.finishReason).toEqual({ unified: 'tool-calls', raw: 'tool_use' })
  })

  it('a body without output.message is a 502', () => {
    expect(() => parseConverseResponse({ message: 'nope' })).toThrow(expect.objectContaining({ status: 502 }))
  })
})
