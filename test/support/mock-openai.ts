import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cassette, chunkLines, fixtureText, frameDataEvents, frameTypedEvents, splitSseEvents, TRANSFER_HEADERS } from './fixtures.js'
import { validateOpenAIRequest } from './openapi.js'
import { formSpecErrors, mediaReply, readForm, type MockForm } from './openai-media.js'

/**
 * A stand-in for api.openai.com/v1 that replays recorded wire data from
 * /work/shared/fixtures/openai. Which recording answers is chosen from the request the
 * way the real API would differ (stream flag, tools, n, tool results in the history).
 *
 * Replays are byte-exact to the fixture framing described in the fixtures README, with
 * these documented departures (each marked "synthesized" below):
 * - the usage-only chunk of a recorded chat/completions stream is left out unless the
 *   request asks for it with `stream_options.include_usage`, as the real API does;
 * - `n > 1` copies the recorded single choice into each index (usage scaled by n);
 * - `encoding_format: "base64"` and array inputs re-encode the recorded embedding;
 * - errors without a recording (500, the 401 for a missing key, unknown ids and routes)
 *   use OpenAI's error shape with messages written here; the 429 body is the recorded
 *   `insufficient_quota` error (which OpenAI sends with 429) plus a `retry-after` header.
 *
 * Images, audio and moderations (no recording exists) answer with the spec's own examples and
 * media made in `openai-media.ts`, which says how each is synthesized; multipart uploads are read
 * with the platform's FormData parser and their fields validated against the spec's
 * `multipart/form-data` schemas.
 *
 * Every request is recorded and its body validated against the official OpenAPI spec.
 */

export interface RecordedRequest {
  method: string
  /** Path without query, e.g. `/v1/chat/completions`. */
  path: string
  /** Query string including `?`, or ''. */
  query: string
  /** Lower-case header names, values as received (repeated headers joined with ', '). */
  headers: Record<string, string>
  /** The body bytes as text, exactly as received. */
  rawBody: string
  /** The body bytes exactly as received (uploads are not text). */
  rawBytes: Uint8Array
  /** A `multipart/form-data` body, read: its text fields and files. */
  form: MockForm | undefined
  /** The parsed JSON body; undefined when there is none or it is not JSON. */
  json: any
  /** OpenAPI operation the request matched (`createChatCompletion` ...). */
  operationId: string | undefined
  /** Spec violations found in the body (empty = valid). */
  specErrors: string[]
  /** How the answer went: still being written, written to the end, or cut off by the client. */
  outcome: 'pending' | 'finished' | 'aborted'
}

export interface NextResponse {
  status: number
  /** String bodies are sent as-is; anything else as JSON. */
  body?: unknown
  /** SSE events written one per write instead of `body` (content-type defaults to text/event-stream). */
  events?: string[]
  /** Pause between two events (ms), to keep a stream open while a test acts. */
  eventDelayMs?: number
  headers?: Record<string, string>
}

export interface MockOpenAI {
  /** `http://127.0.0.1:<port>` (the API root is `${url}/v1`). */
  url: string
  requests: RecordedRequest[]
  /** Answers the next request with this response instead of a recording (queued, one per call). */
  setNext(response: NextResponse): void
  /** Clears recorded requests and queued responses. */
  reset(): void
  close(): Promise<void>
}

/** Models that make the mock fail the way the API does. */
export const ERROR_MODELS = {
  notFound: 'gpt-model-not-found',
  rateLimited: 'rate-limited',
  unsupportedParameter: 'unsupported-parameter',
  serverError: 'server-error',
  /** Responses API: a stream that starts, then fails with an `error` event and `response.failed`. */
  streamFails: 'stream-fails',
} as const

/** `retry-after` sent with the `rate-limited` model's 429 (synthesized; the recording has no headers). */
export const RATE_LIMIT_RETRY_AFTER = '7'

interface Reply {
  status: number
  headers: Record<string, string>
  /** A whole body (text or bytes), or SSE events written one per write. */
  body: string | string[] | Uint8Array
  eventDelayMs?: number
}

const JSON_TYPE = { 'content-type': 'application/json' }
const SSE_TYPE = { 'content-type': 'text/event-stream; charset=utf-8' }

const openAIError = (message: string, type: string, code: string | null = null, param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } }, null, 2)

const replayHeaders = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !TRANSFER_HEADERS.has(name)))

/** A recorded response: status, headers and body as recorded; SSE bodies split per event. */
function replay(name: string, index: number): Reply {
  const { response } = cassette(`openai/${name}.cassette.yaml`)[index]!
  const headers = replayHeaders(response.headers)
  const isStream = (headers['content-type'] ?? '').startsWith('text/event-stream')
  return { status: response.status, headers, body: isStream ? splitSseEvents(response.body) : response.body }
}

const isUsageOnly = (event: string) => event.includes('"choices":[]') && event.includes('"usage":{')

function wantsUsage(body: any): boolean {
  return body?.stream_options?.include_usage === true
}

/** Drops the usage-only event when the caller did not ask for it (synthesized: the recordings all asked). */
function honourUsage(reply: Reply, body: any): Reply {
  if (!Array.isArray(reply.body) || wantsUsage(body)) return reply
  return { ...reply, body: reply.body.filter((event) => !isUsageOnly(event)) }
}

// ---- Chat Completions ----------------------------------------------------------------

function chatReply(body: any): Reply {
  const stream = body?.stream === true
  const n = typeof body?.n === 'number' && body.n > 1 ? body.n : 1
  const tools = Array.isArray(body?.tools) ? body.tools.length : 0
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : []
  const afterToolResult = messages.at(-1)?.role === 'tool'
  if (!stream) {
    if (tools > 0 && !afterToolResult) return replay('chat-tool-call', 0)
    if (n > 1) return { status: 200, headers: JSON_TYPE, body: JSON.stringify(multiplyChoices(JSON.parse(fixtureText('openai/chat-text.json')), n)) }
    return { status: 200, headers: JSON_TYPE, body: fixtureText('openai/chat-text.json') }
  }
  if (tools > 0 && afterToolResult) return honourUsage(replay('chat-stream-tool-call', 1), body)
  if (tools > 1) return honourUsage(replay('chat-stream-parallel-tool-calls', 1), body)
  if (tools === 1) return honourUsage(replay('chat-stream-tool-call', 0), body)
  const lines = chunkLines('openai/chat-stream-text.chunks.txt')
  const events = frameDataEvents(n > 1 ? multiplyChunkChoices(lines, n) : lines)
  return honourUsage({ status: 200, headers: SSE_TYPE, body: events }, body)
}

/** Synthesized `n > 1` answer: the recorded choice at every index; completion tokens scaled by n. */
function multiplyChoices(completion: any, n: number): any {
  const choice = completion.choices[0]
  completion.choices = Array.from({ length: n }, (_, index) => ({ ...choice, index }))
  completion.usage.completion_tokens *= n
  completion.usage.total_tokens = completion.usage.prompt_tokens + completion.usage.completion_tokens
  return completion
}

/** Synthesized `n > 1` stream: every recorded chunk once per choice index, usage scaled by n. */
function multiplyChunkChoices(lines: readonly string[], n: number): string[] {
  const out: string[] = []
  for (const line of lines) {
    const chunk = JSON.parse(line)
    if (chunk.choices.length === 0) {
      if (chunk.usage) {
        chunk.usage.completion_tokens *= n
        chunk.usage.total_tokens = chunk.usage.prompt_tokens + chunk.usage.completion_tokens
      }
      out.push(JSON.stringify(chunk))
      continue
    }
    for (let index = 0; index < n; index++) out.push(JSON.stringify({ ...chunk, choices: chunk.choices.map((choice: any) => ({ ...choice, index })) }))
  }
  return out
}

// ---- Completions and Embeddings -------------------------------------------------------

function completionReply(body: any): Reply {
  if (body?.stream === true) {
    return honourUsage({ status: 200, headers: SSE_TYPE, body: frameDataEvents(chunkLines('openai/completion-stream-text.chunks.txt')) }, body)
  }
  return { status: 200, headers: JSON_TYPE, body: fixtureText('openai/completion-text.json') }
}

function embeddingsReply(body: any): Reply {
  const recorded = replay('embeddings', 0)
  const inputs = Array.isArray(body?.input) && typeof body.input[0] !== 'number' ? body.input.length : 1
  const base64 = body?.encoding_format === 'base64'
  if (inputs === 1 && !base64) return recorded
  // Synthesized: the recorded vector for each input, base64 float32 (little-endian) when asked.
  const parsed = JSON.parse(recorded.body as string)
  const vector: number[] = parsed.data[0].embedding
  const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector
  parsed.data = Array.from({ length: inputs }, (_, index) => ({ ...parsed.data[0], index, embedding }))
  return { ...recorded, body: JSON.stringify(parsed) }
}

// ---- Responses API ----------------------------------------------------------------------

/** The four recorded streams of one tool loop, split at each `response.created`. */
function responsesStreams(): string[][] {
  const streams: string[][] = []
  for (const line of chunkLines('openai/responses-stream-reasoning-encrypted.chunks.txt')) {
    if (line.startsWith('{"type":"response.created"')) streams.push([])
    streams.at(-1)!.push(line)
  }
  return streams
}

/** The complete response object a recorded stream ends with (its `response.completed` event). */
function completedResponse(lines: readonly string[]): any {
  return JSON.parse(lines.at(-1)!).response
}

function responsesReply(body: any): Reply {
  const tools = Array.isArray(body?.tools) && body.tools.length > 0
  const input: any[] = Array.isArray(body?.input) ? body.input : []
  const hasToolOutput = input.some((item) => item?.type === 'function_call_output')
  const streams = responsesStreams()
  if (body?.model === ERROR_MODELS.streamFails) {
    if (body?.stream === true) return { status: 200, headers: SSE_TYPE, body: frameTypedEvents(chunkLines('openai/responses-stream-error.chunks.txt')) }
    return { status: 429, headers: JSON_TYPE, body: fixtureText('openai/responses-error-insufficient-quota.json') }
  }
  if (body?.stream === true) {
    if (tools && !hasToolOutput) return replay('responses-stream-function-call', 0)
    return { status: 200, headers: SSE_TYPE, body: frameTypedEvents(streams[3]!) }
  }
  if (tools && !hasToolOutput) return { status: 200, headers: JSON_TYPE, body: JSON.stringify(completedResponse(streams[0]!)) }
  if (hasToolOutput) return { status: 200, headers: JSON_TYPE, body: JSON.stringify(completedResponse(streams[3]!)) }
  return { status: 200, headers: JSON_TYPE, body: fixtureText('openai/responses-reasoning-encrypted.json') }
}

/** Every response id the recordings contain, with the body a GET returns for it. */
function storedResponses(): Map<string, string> {
  const stored = new Map<string, string>()
  const plain = fixtureText('openai/responses-reasoning-encrypted.json')
  stored.set(JSON.parse(plain).id, plain)
  for (const lines of responsesStreams()) {
    const response = completedResponse(lines)
    stored.set(response.id, JSON.stringify(response))
  }
  const events = replay('responses-stream-function-call', 0).body as string[]
  const completed = JSON.parse(events.at(-1)!.split('\ndata: ')[1]!).response
  stored.set(completed.id, JSON.stringify(completed))
  return stored
}

/**
 * The `input_tokens` the mock's `/responses/input_tokens` answers for a body (synthesized: no
 * recording exists; a deterministic function of the counted members, so tests can predict it).
 */
export function mockInputTokenCount(body: any): number {
  return Math.ceil(JSON.stringify([body?.instructions ?? null, body?.input ?? null, body?.tools ?? null]).length / 4)
}

// ---- Errors and routing -------------------------------------------------------------------

function errorForModel(model: unknown): Reply | undefined {
  switch (model) {
    case ERROR_MODELS.notFound:
      return replay('chat-error-model-not-found', 0)
    case ERROR_MODELS.unsupportedParameter:
      return replay('chat-error-unsupported-parameter', 0)
    case ERROR_MODELS.rateLimited:
      return { status: 429, headers: { ...JSON_TYPE, 'retry-after': RATE_LIMIT_RETRY_AFTER }, body: fixtureText('openai/responses-error-insufficient-quota.json') }
    case ERROR_MODELS.serverError:
      return { status: 500, headers: JSON_TYPE, body: openAIError('The server had an error while processing your request. Sorry about that!', 'server_error') }
    default:
      return undefined
  }
}

/** Model ids the recordings were answered by (synthesized list in the API's shape). */
function modelList(): string {
  const ids = ['gpt-4.1-nano-2025-04-14', 'gpt-4o-mini-2024-07-18', 'gpt-4o-2024-08-06', 'gpt-5-2025-08-07', 'gpt-5-mini-2025-08-07', 'gpt-5-nano-2025-08-07', 'gpt-3.5-turbo-instruct', 'text-embedding-3-small']
  return JSON.stringify({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' })) })
}

function route(method: string, path: string, body: any, stored: Map<string, string>, form?: MockForm): Reply {
  const notFound = (message: string) => ({ status: 404, headers: JSON_TYPE, body: openAIError(message, 'invalid_request_error') })
  if (method === 'POST') {
    const error = errorForModel(body?.model ?? form?.fields.model)
    if (error && /^\/v1\/(chat\/completions|completions|embeddings|responses|images\/\w+|audio\/\w+|moderations)$/.test(path)) return error
    const media = path.startsWith('/v1/') ? mediaReply(path.slice(3), body, form) : undefined
    if (media) return media
    if (path === '/v1/chat/completions') return chatReply(body)
    if (path === '/v1/completions') return completionReply(body)
    if (path === '/v1/embeddings') return embeddingsReply(body)
    if (path === '/v1/responses') return responsesReply(body)
    if (path === '/v1/responses/input_tokens') return { status: 200, headers: JSON_TYPE, body: JSON.stringify({ object: 'response.input_tokens', input_tokens: mockInputTokenCount(body) }) }
  }
  if (method === 'GET' && path === '/v1/models') return { status: 200, headers: JSON_TYPE, body: modelList() }
  const responseId = /^\/v1\/responses\/([^/]+)$/.exec(path)?.[1]
  if (responseId && (method === 'GET' || method === 'DELETE')) {
    const id = decodeURIComponent(responseId)
    const found = stored.get(id)
    if (!found) return notFound(`Response with id '${id}' not found.`)
    if (method === 'GET') return { status: 200, headers: JSON_TYPE, body: found }
    stored.delete(id)
    return { status: 200, headers: JSON_TYPE, body: JSON.stringify({ id, object: 'response', deleted: true }) }
  }
  return notFound(`Invalid URL (${method} ${path})`)
}

// ---- Server -------------------------------------------------------------------------------

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('error', reject)
  })
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

const pause = (ms: number) => new Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)))

async function send(response: ServerResponse, reply: Reply): Promise<void> {
  response.writeHead(reply.status, reply.headers)
  if (typeof reply.body === 'string' || reply.body instanceof Uint8Array) {
    response.end(reply.body)
    return
  }
  response.flushHeaders()
  for (const event of reply.body) {
    if (response.destroyed) return
    response.write(event)
    // One event per write, each on its own turn so the transport sees separate chunks.
    await pause(reply.eventDelayMs ?? 0)
  }
  response.end()
}

/** Starts the mock on 127.0.0.1 with an ephemeral port. */
export async function startMockOpenAI(): Promise<MockOpenAI> {
  const requests: RecordedRequest[] = []
  const queued: NextResponse[] = []
  let stored = storedResponses()

  const server = createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://mock')
      const method = (request.method ?? 'GET').toUpperCase()
      const rawBytes = await readBody(request)
      const rawBody = rawBytes.toString('utf8')
      let json: unknown
      try {
        json = rawBody.length > 0 ? JSON.parse(rawBody) : undefined
      } catch {
        json = undefined
      }
      const headers = headersOf(request)
      const multipart = /^multipart\/form-data/i.test(headers['content-type'] ?? '')
      let form: MockForm | undefined
      let formError: string | undefined
      if (multipart) form = await readForm(new Uint8Array(rawBytes), headers['content-type']!).catch((error: Error) => ((formError = error.message), undefined))
      const checked = form
        ? formSpecErrors(method, url.pathname, form)
        : multipart ? { operationId: undefined, errors: [`the multipart body could not be read: ${formError}`] } : validateOpenAIRequest(method, url.pathname, json, headers['content-type'], rawBody.length > 0)
      const recorded: RecordedRequest = { method, path: url.pathname, query: url.search, headers, rawBody, rawBytes: new Uint8Array(rawBytes), form, json, operationId: checked.operationId, specErrors: checked.errors, outcome: 'pending' }
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
        const body = typeof next.body === 'string' ? next.body : next.body === undefined ? '' : JSON.stringify(next.body)
        await send(response, { status: next.status, headers: { ...JSON_TYPE, ...next.headers }, body })
        return
      }
      if (!/^Bearer \S+/.test(headers.authorization ?? '')) {
        const message = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        await send(response, { status: 401, headers: JSON_TYPE, body: openAIError(message, 'invalid_request_error') })
        return
      }
      if (multipart && !form) {
        await send(response, { status: 400, headers: JSON_TYPE, body: openAIError('Could not parse multipart form', 'invalid_request_error') })
        return
      }
      if (method === 'POST' && json === undefined && !form) {
        await send(response, { status: 400, headers: JSON_TYPE, body: openAIError('We could not parse the JSON body of your request.', 'invalid_request_error') })
        return
      }
      await send(response, route(method, url.pathname, json, stored, form))
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, JSON_TYPE)
      response.end(openAIError(`mock failure: ${(error as Error).message}`, 'server_error'))
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setNext(next) {
      queued.push(next)
    },
    reset() {
      requests.length = 0
      queued.length = 0
      stored = storedResponses()
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
