import { createServer } from 'node:http'
import { cassette, chunkLines, fixtureText, TRANSFER_HEADERS } from './fixtures.js'
import { validateGeminiRequest, type GeminiRpc } from './mock-gemini-spec.js'
import { closeServer, headersOf, listenLocal, readBody, sendReply as send, type MockReply as Reply, type MockUpstream, type NextMockResponse } from './mock-http.js'

/**
 * A stand-in for generativelanguage.googleapis.com (`/v1beta`, also `/v1` and `/v1alpha`) that
 * replays recorded wire data from /work/shared/fixtures/google. Which recording answers is chosen
 * from the request the way the real API would differ: the method in the URL, function
 * declarations (and whether the last turn answers a call), `thinkingConfig.includeThoughts`.
 *
 * Streams are written one event per write, byte for byte: the raw `?alt=sse` bodies of the
 * pydantic-ai cassettes (Gemini's `": "` spacing, CRLF CRLF framing), and the vercel/ai
 * `.chunks.txt` payload lines framed as the fixtures README says (`data: <line>\r\n\r\n`).
 * Synthesized (no recording exists), each marked below: the 403 for a missing key, the 429 and
 * 500 errors (Google's error shape, messages written here), `countTokens` answers, `embedContent`
 * (the recorded batch vector as one embedding), batches of several texts (the recorded vector per
 * text, cut to `outputDimensionality`), and the model list.
 *
 * Every request is recorded and its body checked against the API's rules (`mock-gemini-spec.ts`).
 */

export interface RecordedGeminiRequest {
  method: string
  /** Path without query, e.g. `/v1beta/models/gemini-2.5-flash:generateContent`. */
  path: string
  /** Query string including `?`, or ''. */
  query: string
  /** Lower-case header names, values as received (repeated headers joined with ', '). */
  headers: Record<string, string>
  /** The body bytes as text, exactly as received. */
  rawBody: string
  /** The parsed JSON body; undefined when there is none or it is not JSON. */
  json: any
  /** The model named in the URL (`gemini-2.5-flash`), for model calls. */
  model: string | undefined
  /** The method called: a model-resource method, `listModels`, or undefined for an unknown route. */
  rpc: GeminiRpc | 'listModels' | undefined
  /** Rule violations found in the request (empty = valid). */
  specErrors: string[]
  /** How the answer went: still being written, written to the end, or cut off by the client. */
  outcome: 'pending' | 'finished' | 'aborted'
}

/** The mock's handle; its API root is `${url}/v1beta`. */
export type MockGemini = MockUpstream<RecordedGeminiRequest>

/** Models that make the mock fail the way the API does. */
export const GEMINI_ERROR_MODELS = {
  /** 404 `NOT_FOUND`, the recorded body (google/stream-error-model-not-found.recording.json). */
  notFound: 'custom-gemini-2.0-flash',
  /** 429 `RESOURCE_EXHAUSTED` with a `RetryInfo` detail (synthesized). */
  rateLimited: 'gemini-rate-limited',
  /** 500 `INTERNAL` (synthesized). */
  serverError: 'gemini-server-error',
} as const

/** The `RetryInfo.retryDelay` of the synthesized 429, in seconds. */
export const GEMINI_RETRY_DELAY_SECONDS = 7

const JSON_TYPE = { 'content-type': 'application/json; charset=UTF-8' }
const SSE_TYPE = { 'content-type': 'text/event-stream', 'content-disposition': 'attachment' }

/** Google's error body (synthesized replies only). */
export const googleError = (code: number, status: string, message: string, details?: unknown[]) =>
  JSON.stringify({ error: { code, message, status, ...(details && { details }) } }, null, 2)

const replayHeaders = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !TRANSFER_HEADERS.has(name)))

/** Splits a raw Gemini SSE body into its events (each with its CRLF CRLF); joining them gives the body back. */
export function splitGeminiEvents(raw: string): string[] {
  const events: string[] = []
  let start = 0
  for (let end = raw.indexOf('\r\n\r\n', start); end !== -1; end = raw.indexOf('\r\n\r\n', start)) {
    events.push(raw.slice(start, end + 4))
    start = end + 4
  }
  if (start < raw.length) events.push(raw.slice(start))
  return events
}

/** A pydantic-ai cassette's response, byte for byte: status, headers, SSE split per event. */
function replay(name: string, index = 0): Reply {
  const { response } = cassette(`google/${name}.cassette.yaml`)[index]!
  const headers = replayHeaders(response.headers)
  const isStream = (headers['content-type'] ?? '').startsWith('text/event-stream')
  return { status: response.status, headers, body: isStream ? splitGeminiEvents(response.body) : response.body }
}

/** The raw SSE body of a recorded stream cassette (what a byte-exact relay must deliver). */
export function recordedStream(name: string, index = 0): string {
  return cassette(`google/${name}.cassette.yaml`)[index]!.response.body
}

/** A `.chunks.txt` stream framed as Gemini frames events. */
export const frameGeminiEvents = (lines: readonly string[]) => lines.map((line) => `data: ${line}\r\n\r\n`)

interface Recording {
  interactions: Array<{ request: { url: string; bodySegments: unknown[] }; response: { statusCode: number; headers: Record<string, string>; bodySegments: unknown[] } }>
}

/** The parsed js-genai recording `google/<name>.recording.json`. */
export function recording(name: string): Recording {
  return JSON.parse(fixtureText(`google/${name}.recording.json`)) as Recording
}

/** The recorded 768-value embedding (google/batch-embed-contents.cassette.yaml). */
export function recordedEmbedding(): number[] {
  return JSON.parse(cassette('google/batch-embed-contents.cassette.yaml')[0]!.response.body).embeddings[0].values
}

const json = (body: unknown, status = 200): Reply => ({ status, headers: JSON_TYPE, body: typeof body === 'string' ? body : JSON.stringify(body) })

/** The last content answers a function call (the second request of a function-calling round trip). */
function answersCall(body: any): boolean {
  const last = Array.isArray(body?.contents) ? body.contents.at(-1) : undefined
  return Array.isArray(last?.parts) && last.parts.some((part: any) => part?.functionResponse !== undefined)
}

const declaresFunctions = (body: any) => Array.isArray(body?.tools) && body.tools.some((tool: any) => Array.isArray(tool?.functionDeclarations) && tool.functionDeclarations.length > 0)

function generateReply(body: any, stream: boolean): Reply {
  const callTurn = declaresFunctions(body) && !answersCall(body)
  const thoughts = body?.generationConfig?.thinkingConfig?.includeThoughts === true
  if (stream) {
    if (callTurn) return { status: 200, headers: SSE_TYPE, body: frameGeminiEvents(chunkLines('google/generate-content-stream-tool-call.chunks.txt')) }
    if (thoughts) return replay('generate-content-stream-thinking')
    return replay('generate-content-stream-text')
  }
  if (callTurn) return json(fixtureText('google/generate-content-tool-call.json'))
  if (thoughts) {
    const { response } = recording('generate-content-thinking').interactions[0]!
    return json(response.bodySegments[0])
  }
  return json(fixtureText('google/generate-content-text.json'))
}

/**
 * The `totalTokens` the mock's countTokens answers (synthesized: a deterministic function of the
 * counted members, so tests can predict it).
 */
export function mockGeminiTokenCount(body: any): number {
  const request = body?.generateContentRequest ?? body
  return Math.ceil(JSON.stringify([request?.systemInstruction ?? null, request?.contents ?? null, request?.tools ?? null]).length / 4)
}

/** One embedding per text: the recorded vector, cut to `outputDimensionality` when smaller (synthesized beyond the one recorded text). */
function embeddingFor(request: any): { values: number[] } {
  const values = recordedEmbedding()
  const size = typeof request?.outputDimensionality === 'number' ? request.outputDimensionality : values.length
  return { values: values.slice(0, size) }
}

function batchReply(body: any): Reply {
  const recorded = cassette('google/batch-embed-contents.cassette.yaml')[0]!
  const requests: any[] = body.requests
  if (requests.length === 1 && requests[0].outputDimensionality === 768) return { status: recorded.response.status, headers: replayHeaders(recorded.response.headers), body: recorded.response.body }
  return json({ embeddings: requests.map(embeddingFor) })
}

/** Model names of the recordings, in the API's `Model` shape (synthesized list). */
function modelList(): Reply {
  const names = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-3-pro-preview', 'gemini-2.0-flash', 'gemini-embedding-2-preview']
  return json({
    models: names.map((name) => ({
      name: `models/${name}`,
      version: '001',
      displayName: name,
      supportedGenerationMethods: name.includes('embedding') ? ['embedContent', 'batchEmbedContents', 'countTokens'] : ['generateContent', 'countTokens'],
    })),
  })
}

function errorForModel(model: string, rpc: GeminiRpc): Reply | undefined {
  switch (model) {
    case GEMINI_ERROR_MODELS.notFound: {
      const { response } = recording('stream-error-model-not-found').interactions[0]!
      // Recorded for a stream (sent as text/event-stream); other methods get the same body as JSON (synthesized).
      return { status: response.statusCode, headers: rpc === 'streamGenerateContent' ? { 'content-type': response.headers['Content-Type']! } : JSON_TYPE, body: JSON.stringify(response.bodySegments[0]) }
    }
    case GEMINI_ERROR_MODELS.rateLimited:
      return json(googleError(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.', [
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${GEMINI_RETRY_DELAY_SECONDS}s` },
      ]), 429)
    case GEMINI_ERROR_MODELS.serverError:
      return json(googleError(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'), 500)
    default:
      return undefined
  }
}

const RPCS: readonly GeminiRpc[] = ['generateContent', 'streamGenerateContent', 'countTokens', 'embedContent', 'batchEmbedContents']

/** `/v1beta/models/{model}:{rpc}` -> model and method; `/v1beta/models` -> the list. */
function parseRoute(method: string, path: string): { rpc: RecordedGeminiRequest['rpc']; model: string | undefined } {
  const match = /^\/v1(?:beta|alpha)?\/models(?:\/([^:]+):([A-Za-z]+))?$/.exec(path)
  if (!match) return { rpc: undefined, model: undefined }
  if (match[1] === undefined) return { rpc: method === 'GET' ? 'listModels' : undefined, model: undefined }
  const rpc = RPCS.find((name) => name === match[2])
  return { rpc: method === 'POST' ? rpc : undefined, model: decodeURIComponent(match[1]) }
}

function route(rpc: RecordedGeminiRequest['rpc'], model: string | undefined, body: any, path: string): Reply {
  if (rpc === undefined) return json(googleError(404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`), 404)
  if (rpc === 'listModels') return modelList()
  const error = errorForModel(model!, rpc)
  if (error) return error
  switch (rpc) {
    case 'generateContent':
      return generateReply(body, false)
    case 'streamGenerateContent':
      return generateReply(body, true)
    case 'countTokens': {
      const total = mockGeminiTokenCount(body)
      return json({ totalTokens: total, promptTokensDetails: [{ modality: 'TEXT', tokenCount: total }] })
    }
    case 'embedContent':
      return json({ embedding: embeddingFor(body) })
    case 'batchEmbedContents':
      return batchReply(body)
  }
}

// ---- Server -------------------------------------------------------------------------------

/** Starts the mock on 127.0.0.1 with an ephemeral port. */
export async function startMockGemini(): Promise<MockGemini> {
  const requests: RecordedGeminiRequest[] = []
  const queued: NextMockResponse[] = []

  const server = createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://mock')
      const method = (request.method ?? 'GET').toUpperCase()
      const rawBody = await readBody(request)
      let body: unknown
      try {
        body = rawBody.length > 0 ? JSON.parse(rawBody) : undefined
      } catch {
        body = undefined
      }
      const headers = headersOf(request)
      const { rpc, model } = parseRoute(method, url.pathname)
      const specErrors = rpc !== undefined && rpc !== 'listModels' ? validateGeminiRequest(rpc, body, model!) : []
      if (rpc === 'streamGenerateContent' && url.searchParams.get('alt') !== 'sse') specErrors.push('alt: the gateway must ask for server-sent events (?alt=sse)')
      if (headers['content-type'] !== undefined && method === 'POST' && !headers['content-type'].startsWith('application/json')) specErrors.push(`content-type: expected application/json, got ${headers['content-type']}`)
      const recorded: RecordedGeminiRequest = { method, path: url.pathname, query: url.search, headers, rawBody, json: body, model, rpc, specErrors, outcome: 'pending' }
      requests.push(recorded)
      response.once('close', () => {
        recorded.outcome = response.writableFinished ? 'finished' : 'aborted'
      })

      const next = queued.shift()
      if (next) {
        if (next.events) {
          await send(response, { status: next.status, headers: { ...SSE_TYPE, ...next.headers }, body: next.events, eventDelayMs: next.eventDelayMs })
          return
        }
        const text = typeof next.body === 'string' ? next.body : next.body === undefined ? '' : JSON.stringify(next.body)
        await send(response, { status: next.status, headers: { ...JSON_TYPE, ...next.headers }, body: text })
        return
      }
      if (!headers['x-goog-api-key'] && !url.searchParams.get('key')) {
        // Synthesized: what the API answers a call without a key.
        await send(response, json(googleError(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."), 403))
        return
      }
      if (method === 'POST' && body === undefined) {
        await send(response, json(googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'), 400))
        return
      }
      await send(response, route(rpc, model, body, url.pathname))
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, JSON_TYPE)
      response.end(googleError(500, 'INTERNAL', `mock failure: ${(error as Error).message}`))
    }
  })

  const url = await listenLocal(server)
  return {
    url,
    requests,
    setNext(next) {
      queued.push(next)
    },
    reset() {
      requests.length = 0
      queued.length = 0
    },
    close: () => closeServer(server),
  }
}
