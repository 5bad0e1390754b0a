import OpenAI, { toFile } from 'openai'
import { expect } from 'vitest'
import type { Operation } from '@switchyard/core'
import { PREFIXES, rankedAnswer, recordingsOf, type CapabilityUpstream, type UpstreamRequest } from './capabilities-upstream.js'
import { CALLER_KEY } from './gateway.js'
import { ANSWER_PNG_BASE64, makePng, specExample, speechAudio } from './openai-media.js'
import type { MockAnthropic } from './mock-anthropic.js'
import type { MockOpenAI } from './mock-openai.js'

/**
 * The proofs behind the capability table: each runs one capability of one provider through the
 * real gateway with the official OpenAI SDK, against a mock upstream replaying that provider's
 * recorded traffic (`capabilities-upstream.ts`, `mock-openai.ts`, `mock-anthropic.ts`), and checks
 * both what reached the upstream (path, model, the provider's own wire shape) and what came back
 * (the recording's content, as the caller's SDK reads it). Expected values are read from the
 * recordings directly, never through the gateway's codecs.
 */

/** How a proof's traffic came to be: recorded wire data, the published API reference (no recording exists), or the provider's own in-process answer. */
export type Evidence = 'recorded' | 'spec' | 'in-process'

export interface ProofContext {
  openai: OpenAI
  gatewayUrl: string
  upstream: CapabilityUpstream
  mockOpenAI: MockOpenAI
  mockAnthropic: MockAnthropic
}

export interface Proof {
  evidence: Evidence
  run(context: ProofContext): Promise<void>
}

const recorded = (run: Proof['run']): Proof => ({ evidence: 'recorded', run })
const spec = (run: Proof['run']): Proof => ({ evidence: 'spec', run })

// ---- Shared inputs and readers -------------------------------------------------------------------

export const HELLO: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Say hello.' }]
export const WEATHER: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'weather', description: 'Current weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
}
export const PNG = makePng(4, 200)
export const PNG_BASE64 = Buffer.from(PNG).toString('base64')
export const LOOK: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } }] },
]

/** Text and tool calls of OpenAI chat chunks (as the SDK yields them, or parsed from recorded lines). */
export function summarizeChunks(chunks: readonly any[]): { text: string; tools: Array<{ name: string; arguments: string }> } {
  let text = ''
  const tools: Array<{ name: string; arguments: string }> = []
  for (const chunk of chunks) {
    const delta = chunk?.choices?.[0]?.delta
    if (typeof delta?.content === 'string') text += delta.content
    for (const call of delta?.tool_calls ?? []) {
      const index = call.index ?? tools.length
      tools[index] ??= { name: '', arguments: '' }
      if (call.function?.name) tools[index].name += call.function.name
      if (call.function?.arguments) tools[index].arguments += call.function.arguments
    }
  }
  return { text, tools }
}

/** The reasoning text of an OpenAI-format message: `reasoning_content`, `reasoning`, or Mistral's `thinking` chunks. */
export function reasoningOf(message: any): string {
  if (typeof message?.reasoning_content === 'string') return message.reasoning_content
  if (typeof message?.reasoning === 'string') return message.reasoning
  if (!Array.isArray(message?.content)) return ''
  return message.content.filter((part: any) => part.type === 'thinking').flatMap((part: any) => part.thinking.map((item: any) => item.text)).join('')
}

/** Events of an AWS event-stream body (a small independent decoder: lengths and string headers; CRCs not checked). */
export function decodeEventStream(bytes: Uint8Array): Array<{ type: string; payload: any }> {
  const decoder = new TextDecoder()
  const out: Array<{ type: string; payload: any }> = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let at = 0; at + 16 <= bytes.length;) {
    const total = view.getUint32(at)
    const headersEnd = at + 12 + view.getUint32(at + 4)
    const headers: Record<string, string> = {}
    for (let h = at + 12; h < headersEnd;) {
      const name = decoder.decode(bytes.subarray(h + 1, h + 1 + bytes[h]!))
      h += 1 + bytes[h]!
      if (bytes[h] !== 7) throw new Error(`header ${name} is not a string`)
      const length = view.getUint16(h + 1)
      headers[name] = decoder.decode(bytes.subarray(h + 3, h + 3 + length))
      h += 3 + length
    }
    out.push({ type: headers[':event-type']!, payload: JSON.parse(decoder.decode(bytes.subarray(headersEnd, at + total - 4))) })
    at += total
  }
  return out
}

/** The last request `prefix` received; fails when there is none. */
function lastAt(context: ProofContext, prefix: string): UpstreamRequest {
  const request = context.upstream.last(prefix)
  expect(request, `a request under ${prefix}`).toBeDefined()
  return request!
}

async function streamOf(context: ProofContext, params: OpenAI.Chat.ChatCompletionCreateParamsStreaming) {
  const chunks: OpenAI.Chat.ChatCompletionChunk[] = []
  for await (const chunk of await context.openai.chat.completions.create(params)) chunks.push(chunk)
  return summarizeChunks(chunks)
}

const toolCallsOf = (calls: readonly any[] | undefined) => (calls ?? []).map((call) => ({ name: call.function.name, arguments: JSON.parse(call.function.arguments) }))

// ---- OpenAI-format upstreams (presets, ollama): the passthrough path ------------------------------

/**
 * Proofs for an OpenAI-compatible provider: its recordings (or OpenAI's, see
 * `capabilities-upstream.ts`) answer, and the caller's body is forwarded with only the model
 * replaced. `claims` are the provider's declared capabilities; `operations` the endpoints it
 * forwards (its `passthroughOperations`), which decide the images, audio and rerank proofs.
 */
export function compatibleProofs(id: string, models: { chat: string; embeddings?: string }, claims: { tools?: boolean; images?: boolean }, operations: readonly Operation[]): Record<string, Proof> {
  const prefix = PREFIXES[id]!
  const recordings = recordingsOf(id)
  const model = `${id}/${models.chat}`
  const proofs: Record<string, Proof> = {
    chat: recorded(async (context) => {
      const response = await context.openai.chat.completions.create({ model, messages: HELLO }).asResponse()
      expect(await response.text()).toBe(recordings.text)
      const sent = lastAt(context, prefix)
      expect(sent.path).toBe(`${prefix}/chat/completions`)
      expect(sent.json).toEqual({ model: models.chat, messages: HELLO })
    }),
    stream: recorded(async (context) => {
      const summary = await streamOf(context, { model, messages: HELLO, stream: true })
      const expected = summarizeChunks(recordings.stream.map((line) => JSON.parse(line)))
      expect(summary).toEqual(expected)
      expect(expected.text.length + expected.tools.length).toBeGreaterThan(0)
      expect(lastAt(context, prefix).json).toMatchObject({ model: models.chat, stream: true })
    }),
  }
  if (claims.tools) {
    proofs.tools = recorded(async (context) => {
      const completion = await context.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Weather in San Francisco?' }], tools: [WEATHER] })
      const expected = toolCallsOf(JSON.parse(recordings.tools).choices[0].message.tool_calls)
      expect(expected.length).toBeGreaterThan(0)
      expect(toolCallsOf(completion.choices[0]!.message.tool_calls)).toEqual(expected)
      expect(lastAt(context, prefix).json.tools).toEqual([WEATHER])
    })
  }
  if (claims.images) {
    proofs.vision = recorded(async (context) => {
      const response = await context.openai.chat.completions.create({ model, messages: LOOK }).asResponse()
      expect(await response.text()).toBe(recordings.text)
      expect(lastAt(context, prefix).json.messages).toEqual(LOOK)
    })
  }
  const reasoning = recordings.reasoning
  if (reasoning) {
    proofs.reasoning = recorded(async (context) => {
      // The recording's own reasoning model answers with its reasoning.
      const completion = await context.openai.chat.completions.create({ model: `${id}/${reasoning.model}`, messages: [{ role: 'user', content: 'How many r in strawberry?' }] })
      const expected = reasoningOf(JSON.parse(reasoning.body).choices[0].message)
      expect(expected.length).toBeGreaterThan(0)
      expect(reasoningOf(completion.choices[0]!.message)).toBe(expected)
      expect(lastAt(context, prefix).json.model).toBe(reasoning.model)
    })
  }
  if (models.embeddings && operations.includes('embeddings') && recordings.embeddings) {
    proofs.embeddings = recorded(async (context) => {
      const result = await context.openai.embeddings.create({ model: `${id}/${models.embeddings}`, input: 'How do I reset my password?', encoding_format: 'float' })
      expect(result.data[0]!.embedding).toEqual(JSON.parse(recordings.embeddings!).data[0].embedding)
      expect(lastAt(context, prefix).path).toBe(`${prefix}/embeddings`)
    })
  }
  Object.assign(proofs, mediaProofs(id, operations, (context) => lastAt(context, prefix), (_model, path) => `${prefix}${path}`))
  if (operations.includes('rerank')) {
    proofs.rerank = spec(async (context) => {
      const response = await rerank(context, { model: `${id}/rerank-model`, query: 'capital of France', documents: ['Berlin', 'Paris is the capital of France'] })
      const sent = lastAt(context, prefix)
      expect(sent.path).toBe(`${prefix}/rerank`)
      expect(await response.json()).toEqual(rankedAnswer(sent.json, 'together'))
    })
  }
  return proofs
}

export function rerank(context: ProofContext, body: unknown): Promise<Response> {
  return fetch(`${context.gatewayUrl}/openai/v1/rerank`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${CALLER_KEY}` }, body: JSON.stringify(body) })
}

// ---- Images, audio, moderations of an OpenAI-dialect provider (spec answers) ----------------------

/**
 * `images`, `audio` and `moderations` proofs for the endpoints in `operations`: every declared
 * endpoint of a column is exercised; the column is proven when it has at least one. `pathOf` says
 * where the upstream must have been called for a model and an endpoint path.
 */
export function mediaProofs(id: string, operations: readonly Operation[], sentOf: (context: ProofContext) => { path: string; json?: any; form?: any }, pathOf: (model: string, path: string) => string): Record<string, Proof> {
  const name = (model: string) => `${id}/${model}`
  const proofs: Record<string, Proof> = {}
  const images = operations.filter((operation) => operation === 'imageGenerations' || operation === 'imageEdits' || operation === 'imageVariations')
  if (images.length > 0) {
    proofs.images = spec(async (context) => {
      for (const operation of images) {
        if (operation === 'imageGenerations') {
          const result = await context.openai.images.generate({ model: name('gpt-image-1'), prompt: 'An otter' })
          expect(result.data![0]!.b64_json).toBe(ANSWER_PNG_BASE64)
          expect(sentOf(context)).toMatchObject({ path: pathOf('gpt-image-1', '/images/generations'), json: { prompt: 'An otter' } })
        } else if (operation === 'imageEdits') {
          const result = await context.openai.images.edit({ model: name('gpt-image-1'), image: await toFile(PNG, 'in.png', { type: 'image/png' }), prompt: 'Add a hat' })
          expect(result.data![0]!.b64_json).toBe(ANSWER_PNG_BASE64)
          const sent = sentOf(context)
          expect(sent.path).toBe(pathOf('gpt-image-1', '/images/edits'))
          expect(Buffer.from(sent.form.files[0].bytes).equals(Buffer.from(PNG))).toBe(true)
        } else {
          const result = await context.openai.images.createVariation({ model: name('dall-e-2'), image: await toFile(PNG, 'in.png', { type: 'image/png' }), n: 2 })
          expect(result.data).toHaveLength(2)
          expect(sentOf(context).path).toBe(pathOf('dall-e-2', '/images/variations'))
        }
      }
    })
  }
  const audio = operations.filter((operation) => operation === 'speech' || operation === 'transcriptions' || operation === 'translations')
  if (audio.length > 0) {
    proofs.audio = spec(async (context) => {
      const wav = speechAudio('wav')!.bytes
      for (const operation of audio) {
        if (operation === 'speech') {
          const response = await context.openai.audio.speech.create({ model: name('tts-1'), voice: 'alloy', input: 'Hello' })
          expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(speechAudio('mp3')!.bytes))).toBe(true)
          expect(response.headers.get('content-type')).toBe('audio/mpeg')
          expect(sentOf(context).path).toBe(pathOf('tts-1', '/audio/speech'))
        } else {
          const create = operation === 'transcriptions' ? context.openai.audio.transcriptions : context.openai.audio.translations
          const result = await create.create({ model: name('whisper-1'), file: await toFile(wav, 'speech.wav', { type: 'audio/wav' }) })
          expect(result).toEqual(JSON.parse(specExample(`/audio/${operation}`, operation === 'transcriptions' ? 'Default' : undefined)))
          const sent = sentOf(context)
          expect(sent.path).toBe(pathOf('whisper-1', `/audio/${operation}`))
          expect(Buffer.from(sent.form.files[0].bytes).equals(Buffer.from(wav))).toBe(true)
        }
      }
    })
  }
  if (operations.includes('moderations')) {
    proofs.moderations = spec(async (context) => {
      const result = await context.openai.moderations.create({ model: name('omni-moderation-latest'), input: 'I want to kill them.' })
      expect(result).toEqual(JSON.parse(specExample('/moderations', 'Single string')))
      expect(sentOf(context).path).toBe(pathOf('omni-moderation-latest', '/moderations'))
    })
  }
  return proofs
}

export { recorded as recordedProof, spec as specProof, lastAt, streamOf, toolCallsOf }
