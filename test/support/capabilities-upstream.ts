import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { cassette, chunkLines, fixtureText, frameDataEvents, frameTypedEvents, splitSseEvents } from './fixtures.js'
import { closeServer, headersOf, listenLocal } from './mock-http.js'
import { mediaReply, readForm, type MediaReply, type MockForm } from './openai-media.js'

/**
 * One mock upstream for every provider of the capability table except `openai` and `anthropic`
 * (they have spec-validating mocks of their own, `mock-openai.ts` and `mock-anthropic.ts`). Each
 * provider lives under a path prefix (`/gemini/v1beta/...`, `/mistral/v1/...`; Azure, whose endpoints
 * are origins, at the root: `/openai/deployments/...`) and answers with its
 * own recorded wire data from /work/shared/fixtures, chosen from the request the way the real API
 * would differ (stream, tools, thinking). Where a provider has no recording of its own:
 * - OpenAI-compatible servers without recordings (openrouter, together, fireworks, cerebras,
 *   perplexity, huggingface, vllm, lmstudio, ollama) replay OpenAI's recorded chat, stream,
 *   tool-call and embeddings traffic (they speak the same wire format), and so do `azure` for tools
 *   and embeddings and `mistral` for embeddings;
 * - images and audio answer with `openai-media.ts` (the OpenAI spec's examples, synthesized media);
 * - rerank (Cohere, Together, vLLM) and Vertex AI's `:predict` embeddings answer with bodies written
 *   here from each provider's API reference (marked "synthesized" below).
 */

export interface UpstreamRequest {
  method: string
  /** Path without the query, prefix included (`/gemini/v1beta/models/x:generateContent`). */
  path: string
  query: string
  headers: Record<string, string>
  bytes: Uint8Array
  json: any
  form: MockForm | undefined
}

export interface CapabilityUpstream {
  url: string
  requests: UpstreamRequest[]
  /** The last request whose path starts with `prefix`. */
  last(prefix: string): UpstreamRequest | undefined
  close(): Promise<void>
}

type Reply = MediaReply

const JSON_TYPE = { 'content-type': 'application/json' }
const SSE_TYPE = { 'content-type': 'text/event-stream' }
const EVENT_STREAM = { 'content-type': 'application/vnd.amazon.eventstream' }

const body = (text: string, headers: Record<string, string> = JSON_TYPE): Reply => ({ status: 200, headers, body: text })
const events = (list: string[]): Reply => ({ status: 200, headers: SSE_TYPE, body: list })
const bytes = (data: Uint8Array): Reply => ({ status: 200, headers: EVENT_STREAM, body: data })

/** The recorded answer of a cassette interaction (a binary body stays bytes). */
const recorded = (name: string, index = 0) => cassette(name)[index]!.response.body as string | Uint8Array

// ---- Recordings every OpenAI-format upstream can replay ------------------------------------

/** The OpenAI-format answers: the provider's own recordings where it has them, else OpenAI's. */
export interface ChatRecordings {
  text: string
  tools: string
  /** Payload lines of a recorded stream, framed `data: <line>` + `[DONE]`. */
  stream: string[]
  toolStream: string[]
  /** A recorded reasoning answer and the model that gave it (asking for that model gets it). */
  reasoning?: { model: string; body: string }
  embeddings?: string
}

export const OPENAI_RECORDINGS: ChatRecordings = {
  text: fixtureText('openai/chat-text.json'),
  tools: recorded('openai/chat-tool-call.cassette.yaml') as string,
  stream: chunkLines('openai/chat-stream-text.chunks.txt'),
  toolStream: splitSseEvents(recorded('openai/chat-stream-tool-call.cassette.yaml') as string).flatMap((event) => (event.startsWith('data: {') ? [event.slice(6).trim()] : [])),
  embeddings: recorded('openai/embeddings.cassette.yaml') as string,
}

export const PROVIDER_RECORDINGS: Readonly<Record<string, ChatRecordings>> = {
  mistral: {
    text: fixtureText('mistral/chat-text.json'),
    tools: fixtureText('mistral/chat-tool-call.json'),
    stream: chunkLines('mistral/chat-stream-text.chunks.txt'),
    toolStream: chunkLines('mistral/chat-stream-tool-call.chunks.txt'),
    reasoning: { model: 'magistral-medium-2507', body: fixtureText('mistral/chat-reasoning.json') },
    embeddings: OPENAI_RECORDINGS.embeddings,
  },
  groq: {
    // Groq's recordings: a reasoning model's text answer, a tool call, a tool-call stream.
    text: fixtureText('groq/chat-reasoning.json'),
    tools: fixtureText('groq/chat-tool-call.json'),
    stream: chunkLines('groq/chat-stream-tool-call.chunks.txt'),
    toolStream: chunkLines('groq/chat-stream-tool-call.chunks.txt'),
    reasoning: { model: 'qwen/qwen3-32b', body: fixtureText('groq/chat-reasoning.json') },
  },
  deepseek: {
    text: fixtureText('deepseek/chat-reasoning.json'),
    tools: fixtureText('deepseek/chat-tool-call.json'),
    stream: chunkLines('deepseek/chat-stream-tool-call.chunks.txt'),
    toolStream: chunkLines('deepseek/chat-stream-tool-call.chunks.txt'),
    reasoning: { model: 'deepseek-reasoner', body: fixtureText('deepseek/chat-reasoning.json') },
  },
  xai: {
    // xAI's recordings are one tool-call turn (with reasoning), non-stream and streamed.
    text: fixtureText('xai/chat-tool-call.json'),
    tools: fixtureText('xai/chat-tool-call.json'),
    stream: chunkLines('xai/chat-stream-tool-call.chunks.txt'),
    toolStream: chunkLines('xai/chat-stream-tool-call.chunks.txt'),
    reasoning: { model: 'grok-3-mini', body: fixtureText('xai/chat-tool-call.json') },
  },
}

/** What the recordings of `provider` are (its own, or OpenAI's). */
export const recordingsOf = (provider: string): ChatRecordings => PROVIDER_RECORDINGS[provider] ?? OPENAI_RECORDINGS

/** Chat completions, embeddings, media and rerank of an OpenAI-format upstream, by path below its API root. */
function openAIFormat(provider: string, path: string, request: UpstreamRequest): Reply | undefined {
  const recordings = recordingsOf(provider)
  const json = request.json
  if (path === '/chat/completions') {
    const tools = Array.isArray(json?.tools) && json.tools.length > 0
    if (json?.stream === true) return events(frameDataEvents(tools ? recordings.toolStream : recordings.stream))
    if (tools) return body(recordings.tools)
    if (recordings.reasoning && json?.model === recordings.reasoning.model) return body(recordings.reasoning.body)
    return body(recordings.text)
  }
  if (path === '/embeddings' && recordings.embeddings) return body(recordings.embeddings)
  if (path === '/rerank') return body(JSON.stringify(rankedAnswer(json, 'together')))
  return mediaReply(path, json, request.form)
}

// ---- Rerank (synthesized from the API references) ------------------------------------------------

/**
 * A deterministic ranking: documents by how many of the query's words they contain, ties in input
 * order; scores in (0, 1]. Not a model: it only makes the answer depend on the request.
 */
function rank(query: string, documents: string[]): Array<{ index: number; relevance_score: number }> {
  const words = new Set(query.toLowerCase().split(/\W+/).filter(Boolean))
  const scored = documents.map((text, index) => {
    const hits = text.toLowerCase().split(/\W+/).filter((word) => words.has(word)).length
    return { index, relevance_score: Number(((hits + 1) / (words.size + 1)).toFixed(6)) }
  })
  return scored.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
}

const textOf = (document: unknown) => (typeof document === 'string' ? document : String((document as { text?: unknown })?.text ?? ''))

/**
 * Synthesized rerank answers. `cohere`: https://docs.cohere.com/reference/rerank (v2: `results` of
 * `{index, relevance_score}`, `meta.billed_units.search_units`, no documents). `together` (the shape
 * Together and vLLM serve, https://docs.together.ai/reference/rerank): `{id, object, model, results,
 * usage}`, documents echoed as `{text}` when `return_documents`.
 */
export function rankedAnswer(json: any, shape: 'cohere' | 'together'): Record<string, unknown> {
  const documents: unknown[] = Array.isArray(json?.documents) ? json.documents : []
  let results: Array<Record<string, unknown>> = rank(String(json?.query ?? ''), documents.map(textOf))
  if (typeof json?.top_n === 'number') results = results.slice(0, json.top_n)
  if (shape === 'cohere') return { id: '07734bd2-2473-4f07-94e1-0d9f0e6843cf', results, meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } } }
  if (json?.return_documents === true) results = results.map((result) => ({ ...result, document: { text: textOf(documents[result.index as number]) } }))
  return { id: 'oGs6Zt9-62bZhn-99529372487b1b0a', object: 'rerank', model: json?.model, results, usage: { prompt_tokens: 1837, completion_tokens: 0, total_tokens: 1837 } }
}

/** Cohere v2 rerank takes `model`, `query`, `documents` (strings), `top_n`, `max_tokens_per_doc` (API reference). */
export function cohereRerankReply(json: any): Reply {
  const problem =
    typeof json?.model !== 'string' ? 'model is required'
      : typeof json.query !== 'string' ? 'query is required'
        : !Array.isArray(json.documents) || !json.documents.every((document: unknown) => typeof document === 'string') ? 'documents must be an array of strings'
          : Object.keys(json).find((key) => !['model', 'query', 'documents', 'top_n', 'max_tokens_per_doc'].includes(key))
  if (problem) return { status: 400, headers: JSON_TYPE, body: JSON.stringify({ id: 'b3a8c7a0-0d7e-4c0e-9d5f-0a4b1b1c7e11', message: problem.includes(' ') ? problem : `invalid request: unknown field ${problem}` }) }
  return body(JSON.stringify(rankedAnswer(json, 'cohere')))
}

// ---- Providers with their own wire formats -----------------------------------------------------

const googleThinking = JSON.parse(fixtureText('google/generate-content-thinking.recording.json')).interactions[0].response.bodySegments[0]

/** The Gemini API (and Vertex AI, which answers in the same format). */
function google(path: string, request: UpstreamRequest, vertex: boolean): Reply | undefined {
  const json = request.json
  if (path.endsWith(':streamGenerateContent')) {
    const raw = recorded('google/generate-content-stream-text.cassette.yaml') as string
    return { status: 200, headers: SSE_TYPE, body: raw.split(/(?<=\r\n\r\n)/) }
  }
  if (path.endsWith(':generateContent')) {
    if (json?.generationConfig?.thinkingConfig?.includeThoughts === true) return body(JSON.stringify(googleThinking))
    const answered = JSON.stringify(json?.contents ?? []).includes('functionResponse')
    return body(fixtureText(json?.tools && !answered ? 'google/generate-content-tool-call.json' : 'google/generate-content-text.json'))
  }
  if (!vertex && path.endsWith(':batchEmbedContents')) return body(recorded('google/batch-embed-contents.cassette.yaml') as string)
  if (vertex && path.endsWith(':predict')) {
    // Synthesized from Vertex AI's text-embeddings reference: one prediction per instance.
    const instances: unknown[] = Array.isArray(json?.instances) ? json.instances : []
    return body(JSON.stringify({ predictions: instances.map((_, index) => ({ embeddings: { values: [0.0123, -0.0456, 0.0789 + index], statistics: { token_count: 4, truncated: false } } })), metadata: { billableCharacterCount: 13 } }))
  }
  return undefined
}

function bedrock(path: string, request: UpstreamRequest): Reply | undefined {
  const json = request.json
  if (path.endsWith('/converse-stream')) return bytes(recorded(json?.toolConfig ? 'bedrock/converse-stream-tool-use.cassette.yaml' : 'bedrock/converse-stream-text.cassette.yaml') as Uint8Array)
  if (path.endsWith('/converse')) return body(fixtureText(json?.additionalModelRequestFields?.thinking ? 'bedrock/converse-reasoning.json' : 'bedrock/converse-text.json'))
  if (path.endsWith('/invoke')) return body(recorded('bedrock/invoke-embeddings-titan.cassette.yaml') as string, { ...JSON_TYPE, 'x-amzn-bedrock-input-token-count': '4' })
  return undefined
}

function cohere(path: string, request: UpstreamRequest): Reply | undefined {
  const json = request.json
  if (path === '/chat') {
    const tools = Array.isArray(json?.tools) && json.tools.length > 0
    if (json?.stream === true) return events(frameTypedEvents(chunkLines(tools ? 'cohere/chat-stream-tool-calls.chunks.txt' : 'cohere/chat-stream-text.chunks.txt')))
    if (tools) return body(fixtureText('cohere/chat-tool-calls.json'))
    if (json?.thinking?.type === 'enabled') return body(fixtureText('cohere/chat-reasoning.json'))
    return body(fixtureText('cohere/chat-text.json'))
  }
  if (path === '/embed') return body(recorded('cohere/embed.cassette.yaml') as string)
  if (path === '/rerank') return cohereRerankReply(json)
  return undefined
}

/** Azure OpenAI: its own recordings (chat, a Responses stream); OpenAI's for tools and embeddings. */
function azure(path: string, request: UpstreamRequest): Reply | undefined {
  if (path === '/openai/v1/responses' && request.json?.stream === true) return events(frameTypedEvents(chunkLines('azure/responses-stream-text.chunks.txt')))
  const deployment = /^\/openai\/deployments\/[^/]+(\/.+)$/.exec(path)?.[1]
  if (deployment === '/chat/completions' && !request.json?.tools) return body(recorded('azure/chat-text.cassette.yaml') as string)
  return deployment ? openAIFormat('azure', deployment, request) : undefined
}

/** Where each provider lives on the upstream: its prefix and the API root its config points at. */
export const PREFIXES: Readonly<Record<string, string>> = {
  gemini: '/gemini/v1beta',
  vertex: '/vertex/v1',
  bedrock: '/bedrock',
  cohere: '/cohere/v2',
  // Azure endpoints are resource origins (no path): Azure's paths are served at the root.
  azure: '',
  mistral: '/mistral/v1',
  groq: '/groq/openai/v1',
  deepseek: '/deepseek',
  xai: '/xai/v1',
  openrouter: '/openrouter/api/v1',
  together: '/together/v1',
  fireworks: '/fireworks/inference/v1',
  cerebras: '/cerebras/v1',
  perplexity: '/perplexity',
  huggingface: '/huggingface/v1',
  vllm: '/vllm/v1',
  lmstudio: '/lmstudio/v1',
  ollama: '/ollama/v1',
}

function route(request: UpstreamRequest): Reply | undefined {
  if (request.path.startsWith('/openai/')) return azure(request.path, request)
  const provider = request.path.split('/')[1]!
  const prefix = PREFIXES[provider]
  if (!prefix || !request.path.startsWith(prefix)) return undefined
  const path = request.path.slice(prefix.length)
  switch (provider) {
    case 'gemini':
      return google(path, request, false)
    case 'vertex':
      return google(path, request, true)
    case 'bedrock':
      return bedrock(path, request)
    case 'cohere':
      return cohere(path, request)
    case 'azure':
      return azure(path, request)
    default:
      return openAIFormat(provider, path, request)
  }
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('error', reject)
  })
}

async function send(response: ServerResponse, reply: Reply): Promise<void> {
  response.writeHead(reply.status, reply.headers)
  if (!Array.isArray(reply.body)) return void response.end(reply.body)
  for (const event of reply.body) {
    if (response.destroyed) return
    response.write(event)
    await new Promise((resolve) => setImmediate(resolve))
  }
  response.end()
}

export async function startCapabilityUpstream(): Promise<CapabilityUpstream> {
  const requests: UpstreamRequest[] = []
  const server = createServer((incoming, response) => {
    void (async () => {
      const raw = await readBody(incoming)
      const url = new URL(incoming.url ?? '/', 'http://upstream.invalid')
      const headers = headersOf(incoming)
      let json: unknown
      try {
        json = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined
      } catch {
        json = undefined
      }
      const contentType = headers['content-type'] ?? ''
      const form = /^multipart\/form-data/i.test(contentType) ? await readForm(new Uint8Array(raw), contentType) : undefined
      const request: UpstreamRequest = { method: incoming.method ?? 'GET', path: url.pathname, query: url.search, headers, bytes: new Uint8Array(raw), json, form }
      requests.push(request)
      const reply = route(request) ?? { status: 404, headers: JSON_TYPE, body: JSON.stringify({ error: { message: `no recording for ${request.method} ${request.path}` } }) }
      await send(response, reply)
    })().catch((error: unknown) => response.destroy(error as Error))
  })
  return {
    url: await listenLocal(server),
    requests,
    last: (prefix) => requests.findLast((request) => request.path.startsWith(prefix)),
    close: () => closeServer(server),
  }
}
