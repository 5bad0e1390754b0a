import { describe, expect, it } from 'vitest'
import { GatewayError, type ChatRequest, type Warning } from '@switchyard/core'
import { cassette, modelOfUrl, recording } from '../test/fixtures.js'
import { parseGenerateContentRequest } from './request-parse.js'
import { thinkingBudgetForEffort, toGenerateContentBody } from './request.js'

/** Every recorded Gemini request body, with its model. */
const recorded: Array<{ name: string; model: string; body: Record<string, any> }> = [
  ...['generate-content-stream-text.cassette.yaml', 'generate-content-stream-thinking.cassette.yaml'].map((path) => {
    const request = cassette(path)[0]!.request
    return { name: path, model: modelOfUrl(request.uri), body: request.parsed_body }
  }),
  ...['generate-content-stream.recording.json', 'generate-content-thinking.recording.json', 'stream-error-model-not-found.recording.json', 'chat-function-calling-stream.recording.json']
    .flatMap((path) => recording(path).map((interaction, index) => ({ name: `${path} #${index}`, model: modelOfUrl(interaction.request.url), body: interaction.request.bodySegments[0]! }))),
]

const base = (messages: ChatRequest['messages'], more: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'gemini-2.5-flash', messages, extra: {}, ...more })
const encode = (request: ChatRequest) => {
  const warnings: Warning[] = []
  return { body: toGenerateContentBody(request, warnings) as Record<string, any>, warnings }
}

describe('recorded Gemini requests: parse to IR, encode back', () => {
  for (const { name, model, body } of recorded) {
    it(name, () => {
      const request = parseGenerateContentRequest(body, model)
      expect(request.dialect).toBe('gemini')
      const { body: encoded, warnings } = encode(request)
      expect(encoded).toEqual(body)
      expect(warnings).toEqual([])
    })
  }

  it('reads the recorded settings into the IR', () => {
    const stream = parseGenerateContentRequest(recording('generate-content-stream.recording.json')[0]!.request.bodySegments[0]!, 'gemini-2.5-flash')
    expect(stream).toMatchObject({ n: 1, maxTokens: 200, reasoning: { budgetTokens: 50 } })
    const text = parseGenerateContentRequest(cassette('generate-content-stream-text.cassette.yaml')[0]!.request.parsed_body, 'm')
    expect(text.temperature).toBe(0)
    // The `role` @google/genai puts on a system instruction means nothing: no extra for other dialects to report (the encode above gives it back).
    expect(text.messages[0]).toEqual({ role: 'system', content: [{ type: 'text', text: 'You are a helpful chatbot.' }] })
    const tools = parseGenerateContentRequest(recording('chat-function-calling-stream.recording.json')[1]!.request.bodySegments[0]!, 'm')
    // Gemini's OpenAPI schema reaches other dialects as JSON Schema.
    expect(tools.tools![0]!.parameters).toEqual({ type: 'object', properties: { denominator: { type: 'number' }, numerator: { type: 'number' } } })
    expect(tools.messages[1]!.content[0]).toEqual({ type: 'tool-call', id: 'call_0_customDivide', name: 'customDivide', arguments: '{"denominator":2,"numerator":100}' })
  })
})

describe('parseGenerateContentRequest', () => {
  it('splits function responses into tool messages matched to their calls, and joins them back', () => {
    const body = {
      contents: [
        { role: 'user', parts: [{ text: 'weather in Paris and Rome?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }, { functionCall: { name: 'weather', args: { city: 'Rome' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { temp: 21 } } }, { functionResponse: { name: 'weather', response: { temp: 25 } } }, { text: 'and in C?' }] },
      ],
    }
    const request = parseGenerateContentRequest(body, 'gemini-2.5-flash')
    expect(request.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'user'])
    expect(request.messages[2]!.content).toEqual([
      { type: 'tool-result', toolCallId: 'call_0_weather', content: [{ type: 'text', text: '{"temp":21}' }] },
      { type: 'tool-result', toolCallId: 'call_1_weather', content: [{ type: 'text', text: '{"temp":25}' }] },
    ])
    expect(encode(request).body).toEqual(body)
  })

  it('keeps ids Gemini (or a caller) sent, and unmodeled parts and fields in extra', () => {
    const body = {
      contents: [{ role: 'model', parts: [{ executableCode: { language: 'PYTHON', code: 'print(1)' } }, { functionCall: { id: 'fc-1', name: 'f', args: {} } }] },
        { role: 'user', parts: [{ functionResponse: { id: 'fc-1', name: 'f', response: { ok: true } } }] }],
      safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
      tools: [{ googleSearch: {} }, { functionDeclarations: [{ name: 'f', parametersJsonSchema: { type: 'object', additionalProperties: false } }] }],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f', 'g'] } },
      generationConfig: { responseMimeType: 'application/json', responseSchema: { type: 'STRING', nullable: true }, thinkingConfig: { thinkingLevel: 'high' }, responseModalities: ['TEXT'] },
    }
    const request = parseGenerateContentRequest(body, 'gemini-3-pro-preview')
    expect(request.messages[0]!.content[0]).toMatchObject({ type: 'tool-call', id: 'fc-1', extra: { gemini_parts_before: [{ executableCode: { language: 'PYTHON', code: 'print(1)' } }] } })
    expect(request.messages[1]!.content[0]).toMatchObject({ type: 'tool-result', toolCallId: 'fc-1' })
    expect(request.toolChoice).toBe('required')
    expect(request.reasoning).toEqual({ effort: 'high' })
    expect(request.responseFormat).toEqual({ type: 'json-schema', name: 'response', schema: { type: ['string', 'null'] } })
    expect(request.extra).toMatchObject({ safetySettings: body.safetySettings, tools_other: [{ googleSearch: {} }], generationConfig: { responseModalities: ['TEXT'] } })
    const encoded = encode(request).body
    expect(encoded).toEqual({ ...body, tools: [body.tools[1], body.tools[0]] })
  })

  it('answers bad input with a 400 naming the field', () => {
    const bad = (body: Record<string, unknown>) => {
      try {
        parseGenerateContentRequest(body, 'm')
      } catch (error) {
        return GatewayError.is(error) ? { status: error.status, param: error.param } : error
      }
      return undefined
    }
    expect(bad({})).toEqual({ status: 400, param: 'contents' })
    expect(bad({ contents: [{ role: 'robot', parts: [] }] })).toEqual({ status: 400, param: 'contents[0].role' })
    expect(bad({ contents: [{ role: 'model', parts: [{ functionCall: { args: {} } }] }] })).toEqual({ status: 400, param: 'contents[0].parts[0].functionCall.name' })
    expect(bad({ contents: [], systemInstruction: { parts: [{ inlineData: { mimeType: 'image/png', data: 'AA==' } }] } })).toEqual({ status: 400, param: 'systemInstruction.parts[0]' })
  })
})

describe('toGenerateContentBody (IR from another dialect)', () => {
  it('maps messages, tools, tool choice and sampling', () => {
    const request = base([
      { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', source: { type: 'url', url: 'data:image/png;base64,iVBO' } }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool-call', id: 'call_abc', name: 'weather', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_abc', content: [{ type: 'text', text: 'sunny' }] }] },
      { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
    ], {
      dialect: 'openai',
      tools: [{ type: 'function', name: 'weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }],
      toolChoice: { type: 'tool', name: 'weather' },
      maxTokens: 100, temperature: 0.5, topP: 0.9, stop: ['END'], seed: 7, n: 2, presencePenalty: 0.1, frequencyPenalty: 0.2,
    })
    const { body, warnings } = encode(request)
    expect(body).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Weather?' }, { inlineData: { mimeType: 'image/png', data: 'iVBO' } }] },
        { role: 'model', parts: [{ text: 'Checking.' }, { functionCall: { name: 'weather', args: { city: 'Paris' } } }] },
        // The tool result and the user's next words are one user turn; the function is named from the call.
        { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { output: 'sunny' } } }, { text: 'Thanks' }] },
      ],
      tools: [{ functionDeclarations: [{ name: 'weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }] }],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['weather'] } },
      generationConfig: { candidateCount: 2, stopSequences: ['END'], maxOutputTokens: 100, temperature: 0.5, topP: 0.9, seed: 7, presencePenalty: 0.1, frequencyPenalty: 0.2 },
    })
    expect(warnings).toEqual([{ type: 'unsupported', feature: 'tool parameters schema', details: 'tools[0] (weather): Gemini function schemas have no additionalProperties at /' }])
  })

  it.each([
    ['auto', { mode: 'AUTO' }],
    ['none', { mode: 'NONE' }],
    ['required', { mode: 'ANY' }],
  ] as const)('tool choice %s -> %o', (choice, config) => {
    expect(encode(base([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], { toolChoice: choice })).body.toolConfig).toEqual({ functionCallingConfig: config })
  })

  it('maps reasoning effort and budget to thinkingConfig, asking for thoughts back', () => {
    const user = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }]
    expect(encode(base(user, { dialect: 'openai', reasoning: { effort: 'medium' } })).body.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 8192, includeThoughts: true } })
    expect(encode(base(user, { dialect: 'anthropic', reasoning: { budgetTokens: 2000 } })).body.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 2000, includeThoughts: true } })
    expect(thinkingBudgetForEffort('minimal')).toBe(128)
  })

  it('puts thought signatures back on the parts they came with', () => {
    const request = base([
      { role: 'user', content: [{ type: 'text', text: 'q' }] },
      { role: 'assistant', content: [
        { type: 'reasoning', text: 'thinking...', signature: 'sig-thought' },
        { type: 'reasoning', text: '', signature: 'sig-call' },
        { type: 'tool-call', id: 'call_0_f', name: 'f', arguments: '' },
        { type: 'text', text: 'done' },
        { type: 'reasoning', text: '', signature: 'sig-trailing' },
      ] },
    ], { dialect: 'anthropic' })
    expect(encode(request).body.contents[1].parts).toEqual([
      { text: 'thinking...', thought: true, thoughtSignature: 'sig-thought' },
      // A made-up id never goes to Gemini.
      { functionCall: { name: 'f', args: {} }, thoughtSignature: 'sig-call' },
      { text: 'done' },
      { text: '', thoughtSignature: 'sig-trailing' },
    ])
  })

  it('warns about what Gemini cannot take, and reports foreign extras', () => {
    const { body, warnings } = encode(base([
      { role: 'user', content: [{ type: 'text', text: 'hi', cache: { type: 'ephemeral' } }], name: 'bob' },
      { role: 'system', content: [{ type: 'text', text: 'late system' }] },
      { role: 'assistant', content: [{ type: 'reasoning', text: '', redacted: 'opaque' }] },
    ], { dialect: 'openai', user: 'u1', metadata: { a: 'b' }, parallelToolCalls: false, extra: { logprobs: true } }))
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'hi' }] }])
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'late system' }] })
    expect(warnings.map((warning) => ('feature' in warning ? warning.feature : warning.message))).toEqual([
      'logprobs', 'message name', 'cache_control', 'messages[1]: a system message inside the conversation was moved to systemInstruction', 'redacted reasoning',
      'parallel_tool_calls', 'user', 'metadata',
    ])
  })

  it('maps media sources', () => {
    const { body } = encode(base([{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', mediaType: 'image/jpeg', data: '/9j/' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
      { type: 'file', source: { type: 'base64', mediaType: 'application/pdf', data: 'JVBE' }, mediaType: 'application/pdf' },
      { type: 'file', source: { type: 'file-id', id: 'files/abc-123' }, mediaType: 'application/pdf' },
      { type: 'audio', data: 'UklG', format: 'wav' },
    ] }]))
    expect(body.contents[0].parts).toEqual([
      { inlineData: { mimeType: 'image/jpeg', data: '/9j/' } },
      { fileData: { mimeType: 'image/png', fileUri: 'https://example.com/cat.png' } },
      { inlineData: { mimeType: 'application/pdf', data: 'JVBE' } },
      { fileData: { fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/abc-123', mimeType: 'application/pdf' } },
      { inlineData: { mimeType: 'audio/wav', data: 'UklG' } },
    ])
  })

  it('refuses what cannot be sent with a 400 naming the part', () => {
    const refuse = (request: ChatRequest) => {
      try {
        toGenerateContentBody(request)
      } catch (error) {
        return GatewayError.is(error) ? `${error.status} ${error.param}` : String(error)
      }
      return 'no error'
    }
    expect(refuse(base([{ role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_unknown', content: [] }] }]))).toBe('400 messages[0].content[0]')
    expect(refuse(base([{ role: 'assistant', content: [{ type: 'tool-call', id: 'c', name: 'f', arguments: '{oops' }] }]))).toBe('400 messages[0].content[0].arguments')
    expect(refuse(base([{ role: 'user', content: [{ type: 'file', source: { type: 'file-id', id: 'file-openai123' } }] }]))).toBe('400 messages[0].content[0].source')
    expect(refuse(base([{ role: 'system', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }]))).toBe('400 messages[0].content[0]')
  })

  it('marks error results and wraps non-object results', () => {
    const { body } = encode(base([
      { role: 'assistant', content: [{ type: 'tool-call', id: 'a', name: 'f', arguments: '{}' }, { type: 'tool-call', id: 'b', name: 'g', arguments: '{}' }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'a', content: [{ type: 'text', text: 'boom' }], isError: true }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'b', content: [{ type: 'text', text: '[1,2]' }] }] },
    ], { dialect: 'openai' }))
    expect(body.contents[1]).toEqual({ role: 'user', parts: [
      { functionResponse: { name: 'f', response: { error: 'boom' } } },
      { functionResponse: { name: 'g', response: { output: [1, 2] } } },
    ] })
  })
})
