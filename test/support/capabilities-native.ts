import type OpenAI from 'openai'
import { expect } from 'vitest'
import type { Operation } from '@switchyard/core'
import { OPENAI_RECORDINGS, PREFIXES, rankedAnswer } from './capabilities-upstream.js'
import { decodeEventStream, HELLO, lastAt, LOOK, mediaProofs, PNG_BASE64, reasoningOf, recordedProof, rerank, specProof, streamOf, summarizeChunks, toolCallsOf, WEATHER, type Proof, type ProofContext } from './capabilities-proofs.js'
import { cassette, chunkLines, fixtureText, splitSseEvents } from './fixtures.js'

/**
 * Proofs for the providers that are not plain OpenAI-compatible servers: `openai` itself (its
 * spec-validating mock), `anthropic`, `gemini`, `vertex`, `bedrock`, `cohere` (translated from the
 * OpenAI SDK's requests through the IR), `azure` (the OpenAI codec at deployment URLs) and the
 * in-process `mock`. Expected values come from the recordings, read here.
 */

const json = (name: string) => JSON.parse(fixtureText(name))
const WEATHER_QUESTION = [{ role: 'user' as const, content: 'Weather in San Francisco?' }]

/** A streamed chat: the text the caller's SDK assembles equals the recording's (which must have some). */
function streamedTextProof(model: string, streamed: string, check?: (context: ProofContext) => void): Proof {
  return recordedProof(async (context) => {
    expect(streamed.length).toBeGreaterThan(0)
    expect((await streamOf(context, { model, messages: HELLO, stream: true })).text).toBe(streamed)
    check?.(context)
  })
}

// ---- openai -------------------------------------------------------------------------------------

/** The mock OpenAI upstream's last request, in the shape the media proofs read. */
const lastOpenAI = (context: ProofContext) => {
  const request = context.mockOpenAI.requests.at(-1)
  expect(request, 'a request to the OpenAI upstream').toBeDefined()
  return { path: request!.path, json: request!.json, form: request!.form }
}

export function openaiProofs(operations: readonly Operation[]): Record<string, Proof> {
  const responses = json('openai/responses-reasoning-encrypted.json')
  return {
    chat: recordedProof(async (context) => {
      const response = await context.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: HELLO }).asResponse()
      expect(await response.text()).toBe(OPENAI_RECORDINGS.text)
      expect(lastOpenAI(context)).toMatchObject({ path: '/v1/chat/completions', json: { model: 'gpt-4.1-nano', messages: HELLO } })
    }),
    stream: recordedProof(async (context) => {
      const summary = await streamOf(context, { model: 'openai/gpt-4.1-nano', messages: HELLO, stream: true })
      expect(summary).toEqual(summarizeChunks(OPENAI_RECORDINGS.stream.map((line) => JSON.parse(line))))
      expect(summary.text.length).toBeGreaterThan(0)
    }),
    tools: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model: 'gpt-5-nano', messages: WEATHER_QUESTION, tools: [WEATHER] })
      expect(toolCallsOf(completion.choices[0]!.message.tool_calls)).toEqual(toolCallsOf(JSON.parse(OPENAI_RECORDINGS.tools).choices[0].message.tool_calls))
    }),
    vision: recordedProof(async (context) => {
      const response = await context.openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: LOOK }).asResponse()
      expect(await response.text()).toBe(OPENAI_RECORDINGS.text)
      expect(lastOpenAI(context).json.messages).toEqual(LOOK)
    }),
    reasoning: recordedProof(async (context) => {
      const response = await context.openai.responses.create({ model: 'gpt-5-mini', input: 'What is 12 + 7, times 3, times 10?', reasoning: { effort: 'low' }, include: ['reasoning.encrypted_content'] })
      const item = response.output.find((entry) => entry.type === 'reasoning') as { encrypted_content?: string } | undefined
      expect(item?.encrypted_content).toBe(responses.output.find((entry: { type: string }) => entry.type === 'reasoning').encrypted_content)
      expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(responses.usage.output_tokens_details.reasoning_tokens)
    }),
    embeddings: recordedProof(async (context) => {
      const result = await context.openai.embeddings.create({ model: 'text-embedding-3-small', input: 'How do I reset my password?', encoding_format: 'float' })
      expect(result.data[0]!.embedding).toEqual(JSON.parse(OPENAI_RECORDINGS.embeddings!).data[0].embedding)
    }),
    ...mediaProofs('openai', operations, lastOpenAI, (_model, path) => `/v1${path}`),
  }
}

// ---- anthropic ----------------------------------------------------------------------------------

const lastAnthropic = (context: ProofContext) => {
  const request = context.mockAnthropic.requests.at(-1)
  expect(request, 'a request to the Anthropic upstream').toBeDefined()
  return request!
}

export function anthropicProofs(): Record<string, Proof> {
  const model = 'anthropic/claude-sonnet-4-5'
  const streamed = splitSseEvents(fixtureText('anthropic/messages-stream-text.sse'))
    .map((event) => JSON.parse(event.split('\ndata: ')[1]!))
    .flatMap((event) => (event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? [event.delta.text] : []))
    .join('')
  const toolTurn = JSON.parse(cassette('anthropic/messages-parallel-tool-use.cassette.yaml')[0]!.response.body)
  return {
    chat: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: HELLO })
      expect(completion.choices[0]!.message.content).toBe(json('anthropic/messages-text.json').content[0].text)
      expect(lastAnthropic(context)).toMatchObject({ path: '/v1/messages', json: { model: 'claude-sonnet-4-5' } })
    }),
    stream: streamedTextProof(model, streamed),
    tools: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: WEATHER_QUESTION, tools: [WEATHER] })
      const expected = toolTurn.content.filter((block: { type: string }) => block.type === 'tool_use').map((block: { name: string; input: unknown }) => ({ name: block.name, arguments: block.input }))
      expect(expected.length).toBeGreaterThan(1)
      expect(toolCallsOf(completion.choices[0]!.message.tool_calls)).toEqual(expected)
      expect(lastAnthropic(context).json.tools[0]).toMatchObject({ name: 'weather', input_schema: (WEATHER as OpenAI.Chat.ChatCompletionFunctionTool).function.parameters })
    }),
    vision: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: LOOK })
      expect(completion.choices[0]!.message.content).toBe(json('anthropic/messages-text.json').content[0].text)
      expect(lastAnthropic(context).json.messages[0].content).toContainEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_BASE64 } })
    }),
    reasoning: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Roots of x^3-6x^2+11x-6?' }], reasoning_effort: 'high' })
      expect(lastAnthropic(context).json.thinking).toMatchObject({ type: 'enabled' })
      expect(reasoningOf(completion.choices[0]!.message)).toBe(json('anthropic/messages-thinking.json').content[0].thinking)
    }),
  }
}

// ---- gemini, vertex -----------------------------------------------------------------------------

/** Gemini API and Vertex AI (the same recordings: Vertex AI answers in the Gemini format). */
export function googleProofs(id: 'gemini' | 'vertex'): Record<string, Proof> {
  const prefix = PREFIXES[id]!
  const model = `${id}/gemini-2.5-flash`
  const textOf = (candidate: any) => candidate.content.parts.filter((part: any) => typeof part.text === 'string' && !part.thought).map((part: any) => part.text).join('')
  const sse = cassette('google/generate-content-stream-text.cassette.yaml')[0]!.response.body as string
  const streamed = sse.split('\r\n\r\n').filter((event) => event.startsWith('data: ')).map((event) => textOf(JSON.parse(event.slice(6)).candidates[0])).join('')
  const thinking = JSON.parse(fixtureText('google/generate-content-thinking.recording.json')).interactions[0].response.bodySegments[0].candidates[0].content.parts[0].text
  const call = json('google/generate-content-tool-call.json').candidates[0].content.parts[0].functionCall
  const proofs: Record<string, Proof> = {
    chat: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: HELLO })
      expect(completion.choices[0]!.message.content).toBe(textOf(json('google/generate-content-text.json').candidates[0]))
      expect(lastAt(context, prefix).path).toMatch(/models\/gemini-2\.5-flash:generateContent$/)
    }),
    stream: streamedTextProof(model, streamed, (context) => expect(lastAt(context, prefix).path).toMatch(/:streamGenerateContent$/)),
    tools: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: WEATHER_QUESTION, tools: [WEATHER] })
      expect(toolCallsOf(completion.choices[0]!.message.tool_calls)).toEqual([{ name: call.name, arguments: call.args }])
      expect(lastAt(context, prefix).json.tools[0].functionDeclarations[0].name).toBe('weather')
    }),
    vision: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: LOOK })
      expect(completion.choices[0]!.message.content).toBe(textOf(json('google/generate-content-text.json').candidates[0]))
      expect(lastAt(context, prefix).json.contents[0].parts).toContainEqual({ inlineData: { mimeType: 'image/png', data: PNG_BASE64 } })
    }),
    reasoning: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Sum of natural numbers?' }], reasoning_effort: 'low' })
      expect(lastAt(context, prefix).json.generationConfig.thinkingConfig).toMatchObject({ includeThoughts: true })
      expect(reasoningOf(completion.choices[0]!.message)).toBe(thinking)
    }),
  }
  if (id === 'gemini') {
    proofs.embeddings = recordedProof(async (context) => {
      const result = await context.openai.embeddings.create({ model: 'gemini/gemini-embedding-2-preview', input: 'Hello, world!', encoding_format: 'float' })
      expect(result.data[0]!.embedding).toEqual(JSON.parse(cassette('google/batch-embed-contents.cassette.yaml')[0]!.response.body).embeddings[0].values)
      expect(lastAt(context, prefix).path).toMatch(/:batchEmbedContents$/)
    })
  } else {
    proofs.embeddings = specProof(async (context) => {
      const result = await context.openai.embeddings.create({ model: 'vertex/text-embedding-005', input: 'Hello, world!', encoding_format: 'float' })
      expect(result.data[0]!.embedding).toEqual([0.0123, -0.0456, 0.0789])
      expect(lastAt(context, prefix)).toMatchObject({ path: `${prefix}/publishers/google/models/text-embedding-005:predict`, json: { instances: [{ content: 'Hello, world!' }] } })
    })
  }
  return proofs
}

// ---- bedrock --------------------------------------------------------------------------------------

export function bedrockProofs(): Record<string, Proof> {
  const prefix = PREFIXES.bedrock!
  const model = 'bedrock/us.amazon.nova-micro-v1:0'
  const textStream = decodeEventStream(cassette('bedrock/converse-stream-text.cassette.yaml')[0]!.response.body as unknown as Uint8Array)
  const toolStream = decodeEventStream(cassette('bedrock/converse-stream-tool-use.cassette.yaml')[0]!.response.body as unknown as Uint8Array)
  const streamedText = textStream.flatMap((event) => (event.type === 'contentBlockDelta' && typeof event.payload.delta.text === 'string' ? [event.payload.delta.text] : [])).join('')
  const toolName = toolStream.find((event) => event.type === 'contentBlockStart' && event.payload.start?.toolUse)!.payload.start.toolUse.name
  const toolInput = toolStream.flatMap((event) => (event.type === 'contentBlockDelta' && event.payload.delta.toolUse ? [event.payload.delta.toolUse.input] : [])).join('')
  const reasoning = json('bedrock/converse-reasoning.json').output.message.content[0].reasoningContent.reasoningText.text
  return {
    chat: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: HELLO })
      expect(completion.choices[0]!.message.content).toBe(json('bedrock/converse-text.json').output.message.content.map((block: { text?: string }) => block.text ?? '').join(''))
      expect(lastAt(context, prefix).path).toBe(`${prefix}/model/us.amazon.nova-micro-v1%3A0/converse`)
    }),
    stream: streamedTextProof(model, streamedText),
    tools: recordedProof(async (context) => {
      const summary = await streamOf(context, { model, messages: WEATHER_QUESTION, tools: [WEATHER], stream: true })
      expect(summary.tools.map((tool) => ({ name: tool.name, arguments: JSON.parse(tool.arguments) }))).toEqual([{ name: toolName, arguments: JSON.parse(toolInput) }])
      expect(lastAt(context, prefix).json.toolConfig.tools[0].toolSpec.name).toBe('weather')
    }),
    vision: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: LOOK })
      expect(completion.choices[0]!.message.content).toBe(json('bedrock/converse-text.json').output.message.content.map((block: { text?: string }) => block.text ?? '').join(''))
      expect(lastAt(context, prefix).json.messages[0].content).toContainEqual({ image: { format: 'png', source: { bytes: PNG_BASE64 } } })
    }),
    reasoning: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model: 'bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0', messages: [{ role: 'user', content: 'How many r in strawberry?' }], reasoning_effort: 'low' })
      expect(lastAt(context, prefix).json.additionalModelRequestFields.thinking).toMatchObject({ type: 'enabled' })
      expect(reasoningOf(completion.choices[0]!.message)).toBe(reasoning)
    }),
    embeddings: recordedProof(async (context) => {
      const result = await context.openai.embeddings.create({ model: 'bedrock/amazon.titan-embed-text-v2:0', input: 'Test embedding dimensions', encoding_format: 'float' })
      expect(result.data[0]!.embedding).toEqual(JSON.parse(cassette('bedrock/invoke-embeddings-titan.cassette.yaml')[0]!.response.body).embedding)
      expect(lastAt(context, prefix).path).toBe(`${prefix}/model/amazon.titan-embed-text-v2%3A0/invoke`)
    }),
  }
}

// ---- cohere -----------------------------------------------------------------------------------------

export function cohereProofs(): Record<string, Proof> {
  const prefix = PREFIXES.cohere!
  const model = 'cohere/command-a-03-2025'
  const streamed = chunkLines('cohere/chat-stream-text.chunks.txt').map((line) => JSON.parse(line)).flatMap((event) => (event.type === 'content-delta' ? [event.delta.message.content.text] : [])).join('')
  return {
    chat: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: HELLO })
      expect(completion.choices[0]!.message.content).toBe(json('cohere/chat-text.json').message.content[0].text)
      expect(lastAt(context, prefix)).toMatchObject({ path: `${prefix}/chat`, json: { model: 'command-a-03-2025' } })
    }),
    stream: streamedTextProof(model, streamed),
    tools: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: WEATHER_QUESTION, tools: [WEATHER] })
      expect(toolCallsOf(completion.choices[0]!.message.tool_calls)).toEqual(toolCallsOf(json('cohere/chat-tool-calls.json').message.tool_calls))
    }),
    vision: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: LOOK })
      expect(completion.choices[0]!.message.content).toBe(json('cohere/chat-text.json').message.content[0].text)
      expect(lastAt(context, prefix).json.messages[0].content).toContainEqual({ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } })
    }),
    reasoning: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: [{ role: 'user', content: '2 + 2?' }], reasoning_effort: 'low' })
      expect(lastAt(context, prefix).json.thinking).toMatchObject({ type: 'enabled' })
      expect(reasoningOf(completion.choices[0]!.message)).toBe(json('cohere/chat-reasoning.json').message.content[0].thinking)
    }),
    embeddings: recordedProof(async (context) => {
      const result = await context.openai.embeddings.create({ model: 'cohere/embed-v4.0', input: 'Hello, world!', encoding_format: 'float' })
      expect(result.data[0]!.embedding).toEqual(JSON.parse(cassette('cohere/embed.cassette.yaml')[0]!.response.body).embeddings.float[0])
    }),
    rerank: specProof(async (context) => {
      const response = await rerank(context, { model: 'cohere/rerank-v3.5', query: 'capital of France', documents: ['Berlin', 'Paris is the capital of France'] })
      const sent = lastAt(context, prefix)
      expect(sent).toMatchObject({ path: `${prefix}/rerank`, json: { model: 'rerank-v3.5', query: 'capital of France', documents: ['Berlin', 'Paris is the capital of France'] } })
      expect((await response.json()).results).toEqual((rankedAnswer(sent.json, 'cohere') as { results: unknown }).results)
    }),
  }
}

// ---- azure ------------------------------------------------------------------------------------------

export function azureProofs(operations: readonly Operation[]): Record<string, Proof> {
  // Azure's paths sit at the upstream's root (an Azure endpoint is an origin).
  const prefix = PREFIXES.azure!
  const lastAzure = (context: ProofContext) => lastAt(context, '/openai/')
  const model = 'azure/gpt-5-nano'
  const chat = JSON.parse(cassette('azure/chat-text.cassette.yaml')[0]!.response.body)
  const streamed = chunkLines('azure/responses-stream-text.chunks.txt').map((line) => JSON.parse(line)).flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : [])).join('')
  const deployment = (name: string, path: string) => `${prefix}/openai/deployments/${name}${path}`
  return {
    chat: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello!' }] })
      expect(completion.choices[0]!.message.content).toBe(chat.choices[0].message.content)
      const sent = lastAzure(context)
      expect(sent).toMatchObject({ path: deployment('gpt-5-nano', '/chat/completions'), query: '?api-version=2024-10-21' })
      expect(sent.headers['api-key']).toBe('azure-capability-key')
    }),
    stream: recordedProof(async (context) => {
      // Azure's recorded stream is a Responses API stream (`/openai/v1/responses`).
      let text = ''
      for await (const event of await context.openai.responses.create({ model: 'azure/gpt-5.1', input: 'Hi', stream: true })) if (event.type === 'response.output_text.delta') text += event.delta
      expect(text).toBe(streamed)
      expect(streamed.length).toBeGreaterThan(0)
      expect(lastAzure(context).path).toBe(`${prefix}/openai/v1/responses`)
    }),
    tools: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: WEATHER_QUESTION, tools: [WEATHER] })
      expect(toolCallsOf(completion.choices[0]!.message.tool_calls)).toEqual(toolCallsOf(JSON.parse(OPENAI_RECORDINGS.tools).choices[0].message.tool_calls))
    }),
    vision: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: LOOK })
      expect(completion.choices[0]!.message.content).toBe(chat.choices[0].message.content)
      expect(lastAzure(context).json.messages[0].content).toContainEqual({ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } })
    }),
    reasoning: recordedProof(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello!' }], reasoning_effort: 'low' })
      expect(lastAzure(context).json.reasoning_effort).toBe('low')
      expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(chat.usage.completion_tokens_details.reasoning_tokens)
    }),
    embeddings: recordedProof(async (context) => {
      const result = await context.openai.embeddings.create({ model: 'azure/text-embedding-3-small', input: 'How do I reset my password?', encoding_format: 'float' })
      expect(result.data[0]!.embedding).toEqual(JSON.parse(OPENAI_RECORDINGS.embeddings!).data[0].embedding)
      expect(lastAzure(context).path).toBe(deployment('text-embedding-3-small', '/embeddings'))
    }),
    ...mediaProofs('azure', operations, lastAzure, deployment),
  }
}

// ---- mock (in process) ------------------------------------------------------------------------------

export function mockProofs(): Record<string, Proof> {
  const inProcess = (run: Proof['run']): Proof => ({ evidence: 'in-process', run })
  return {
    chat: inProcess(async (context) => {
      const completion = await context.openai.chat.completions.create({ model: 'mock/echo', messages: HELLO })
      expect(completion.choices[0]!.message.content).toBe('Say hello.')
    }),
    stream: inProcess(async (context) => {
      expect((await streamOf(context, { model: 'mock/echo', messages: HELLO, stream: true })).text).toBe('Say hello.')
    }),
    tools: inProcess(async (context) => {
      const completion = await context.openai.chat.completions.create({ model: 'mock/tools', messages: WEATHER_QUESTION, tools: [WEATHER] })
      expect(toolCallsOf(completion.choices[0]!.message.tool_calls)).toEqual([{ name: 'weather', arguments: { input: 'Weather in San Francisco?' } }])
    }),
    vision: inProcess(async (context) => {
      const completion = await context.openai.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } }] }] })
      expect(completion.choices[0]!.message.content).toBe('[mock] received image')
    }),
    embeddings: inProcess(async (context) => {
      const first = await context.openai.embeddings.create({ model: 'mock/echo', input: 'abc', encoding_format: 'float' })
      const again = await context.openai.embeddings.create({ model: 'mock/echo', input: 'abc', encoding_format: 'float' })
      expect(first.data[0]!.embedding).toHaveLength(8)
      expect(again.data[0]!.embedding).toEqual(first.data[0]!.embedding)
    }),
  }
}
