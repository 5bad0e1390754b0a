import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { validateCountTokensRequest, validateMessagesRequest } from './anthropic-spec.js'
import { cassette, fixtureText, splitSseEvents, TRANSFER_HEADERS } from './fixtures.js'

/**
 * A stand-in for api.anthropic.com/v1 that replays recorded wire data from
 * /work/shared/fixtures/anthropic. Which recording answers is chosen from the request the way
 * the real API would differ: `stream`, `tools` (and whether the last turn returns tool
 * results), `thinking`, `cache_control`.
 *
 * Streams are the raw `.sse` / cassette bodies, written one event per write, byte for byte.
 * Synthesized (no recording exists), each marked below: the 401 for a missing key, the 400 for a
 * missing `anthropic-version`, 404/429/500/529 errors (Anthropic's error shape, messages written
 * here), `count_tokens` answers and the model list.
 *
 * Every request is recorded and its body checked against the Messages API rules
 * (`anthropic-spec.ts`).
 */

export interface RecordedAnthropicRequest {
  method: string
  /** Path without query, e.g. `/v1/messages`. */
  path: string
  /** Query string including `?`, or ''. */
  query: string
  /** Lower-case header names, values as received (repeated headers joined with ', '). */
  headers: Record<string, string>
  /** The body bytes as text, exactly as received. */
  rawBody: string
  /** The parsed JSON body; undefined when there is none or it is not JSON. */
  json: any
  /** Which API the request called. */
  endpoint: 'messages' | 'count_tokens' | 'models' | undefined
  /** Rule violations found in the body (empty = valid). */
  specErrors: string[]
  /** How the answer went: still being written, written to the end, or cut off by the client. */
  outcome: 'pending' | 'finished' | 'aborted'
}

export interface NextAnthropicResponse {
  status: number
  /** String bodies are sent as-is; anything else as JSON. */
  body?: unknown
  /** SSE events written one per write instead of `body` (content-type defaults to text/event-stream). */
  events?: string[]
  /** Pause between two events (ms). */
  eventDelayMs?: number
  headers?: Record<string, string>
}

export interface MockAnthropic {
  /** `http://127.0.0.1:<port>` (the API root is `${url}/v1`). */
  url: string
  requests: RecordedAnthropicRequest[]
  /** Answers the next request with this response instead of a recording (queued, one per call). */
  setNext(response: NextAnthropicResponse): void
  /** Clears recorded requests and queued responses. */
  reset(): void
  close(): Promise<void>
}

/** Models that make the mock fail the way the API does. */
export const ANTHROPIC_ERROR_MODELS = {
  /** 400 `invalid_request_error`, the recorded body. */
  invalidRequest: 'claude-invalid-request',
  /** 404 `not_found_error` (synthesized). */
  notFound: 'claude-not-found',
  /** 429 `rate_limit_error` with `retry-after` (synthesized). */
  rateLimited: 'claude-rate-limited',
  /** 500 `api_error` (synthesized). */
  serverError: 'claude-server-error',
  /** 529 `overloaded_error` (synthesized). */
  overloaded: 'claude-overloaded',
} as const

/** `retry-after` sent with the 429 (synthesized). */
export const ANTHROPIC_RETRY_AFTER = '11'

interface Reply {
  status: number
  headers: Record<string, string>
  /** A whole body, or SSE events written one per write. */
  body: string | string[]
  eventDelayMs?: number
}

const JSON_TYPE = { 'content-type': 'application/json' }
const SSE_TYPE = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }

/** Anthropic's error body (synthesized replies only). */
export const anthropicError = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message } })

const replayHeaders = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !TRANSFER_HEADERS.has(name)))

/** A recorded exchange's response: status, headers and body; SSE bodies split per event. */
function replay(name: string, index: number): Reply {
  const { response } = cassette(`anthropic/${name}.cassette.yaml`)[index]!
  const headers = replayHeaders(response.headers)
  const isStream = (headers['content-type'] ?? '').startsWith('text/event-stream')
  return { status: response.status, headers, body: isStream ? splitSseEvents(response.body) : response.body }
}

/** A raw `.sse` body split into its events. */
const sseFile = (name: string): Reply => ({ status: 200, headers: SSE_TYPE, body: splitSseEvents(fixtureText(`anthropic/${name}`)) })

const hasCacheControl = (value: unknown): boolean => {
  if (Array.isArray(value)) return value.some(hasCacheControl)
  if (typeof value !== 'object' || value === null) return false
  if ('cache_control' in value && (value as { cache_control: unknown }).cache_control != null) return true
  return Object.values(value).some(hasCacheControl)
}

/** The last message returns tool results (the second call of a tool loop). */
function afterToolResult(body: any): boolean {
  const last = Array.isArray(body?.messages) ? body.messages.at(-1) : undefined
  return last?.role === 'user' && Array.isArray(last.content) && last.content.some((block: any) => block?.type === 'tool_result')
}

function messagesReply(body: any): Reply {
  const tools = Array.isArray(body?.tools) && body.tools.length > 0
  const thinking = body?.thinking?.type === 'enabled'
  const toolTurn = tools && !afterToolResult(body)
  if (body?.stream === true) {
    if (thinking) return replay('messages-stream-thinking', 0)
    if (toolTurn) return sseFile('messages-stream-tool-use.sse')
    return sseFile('messages-stream-text.sse')
  }
  if (thinking) return { status: 200, headers: JSON_TYPE, body: fixtureText('anthropic/messages-thinking.json') }
  if (tools) return replay('messages-parallel-tool-use', toolTurn ? 0 : 1)
  if (hasCacheControl(body)) return replay('messages-prompt-cache', 1)
  return { status: 200, headers: JSON_TYPE, body: fixtureText('anthropic/messages-text.json') }
}

function errorForModel(model: unknown): Reply | undefined {
  switch (model) {
    case ANTHROPIC_ERROR_MODELS.invalidRequest:
      return replay('messages-error-invalid-request', 0)
    case ANTHROPIC_ERROR_MODELS.notFound:
      return { status: 404, headers: JSON_TYPE, body: anthropicError('not_found_error', `model: ${model}`) }
    case ANTHROPIC_ERROR_MODELS.rateLimited:
      return { status: 429, headers: { ...JSON_TYPE, 'retry-after': ANTHROPIC_RETRY_AFTER }, body: anthropicError('rate_limit_error', 'This request would exceed the rate limit for your organization. Please try again later.') }
    case ANTHROPIC_ERROR_MODELS.serverError:
      return { status: 500, headers: JSON_TYPE, body: anthropicError('api_error', 'Internal server error') }
    case ANTHROPIC_ERROR_MODELS.overloaded:
      return { status: 529, headers: JSON_TYPE, body: anthropicError('overloaded_error', 'Overloaded') }
    default:
      return undefined
  }
}

/**
 * The `input_tokens` the mock's count_tokens answers for a body (synthesized: a deterministic
 * function of the counted members, so tests can predict it).
 */
export function mockTokenCount(body: any): number {
  const counted = JSON.stringify([body?.system ?? null, body?.messages ?? null, body?.tools ?? null])
  return Math.ceil(counted.length / 4)
}

/** Model ids the recordings were answered by (synthesized list in the API's shape). */
function modelList(): string {
  const ids = ['claude-opus-5', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-20250514', 'claude-opus-4-20250514', 'claude-haiku-4-5-20251001']
  const data = ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' }))
  return JSON.stringify({ data, has_more: false, first_id: ids[0], last_id: ids.at(-1) })
}

function endpointOf(method: string, path: string): RecordedAnthropicRequest['endpoint'] {
  if (method === 'POST' && path === '/v1/messages') return 'messages'
  if (method === 'POST' && path === '/v1/messages/count_tokens') return 'count_tokens'
  if (method === 'GET' && path === '/v1/models') return 'models'
  return undefined
}

function route(endpoint: RecordedAnthropicRequest['endpoint'], method: string, path: string, body: any): Reply {
  switch (endpoint) {
    case 'messages':
      return errorForModel(body?.model) ?? messagesReply(body)
    case 'count_tokens':
      return errorForModel(body?.model) ?? { status: 200, headers: JSON_TYPE, body: JSON.stringify({ input_tokens: mockTokenCount(body) }) }
    case 'models':
      return { status: 200, headers: JSON_TYPE, body: modelList() }
    case undefined:
      return { status: 404, headers: JSON_TYPE, body: anthropicError('not_found_error', `Not Found (${method} ${path})`) }
  }
}

// ---- Server -------------------------------------------------------------------------------

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
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
  if (typeof reply.body === 'string') {
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
export async function startMockAnthropic(): Promise<MockAnthropic> {
  const requests: RecordedAnthropicRequest[] = []
  const queued: NextAnthropicResponse[] = []
  let sequence = 0

  const server = createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://mock')
      const method = (request.method ?? 'GET').toUpperCase()
      const rawBody = await readBody(request)
      let json: unknown
      try {
        json = rawBody.length > 0 ? JSON.parse(rawBody) : undefined
      } catch {
        json = undefined
      }
      const headers = headersOf(request)
      const endpoint = endpointOf(method, url.pathname)
      const specErrors = endpoint === 'messages' ? validateMessagesRequest(json) : endpoint === 'count_tokens' ? validateCountTokensRequest(json) : []
      const recorded: RecordedAnthropicRequest = { method, path: url.pathname, query: url.search, headers, rawBody, json, endpoint, specErrors, outcome: 'pending' }
      requests.push(recorded)
      response.once('close', () => {
        recorded.outcome = response.writableFinished ? 'finished' : 'aborted'
      })
      const requestId = { 'request-id': `req_mock_${++sequence}` }

      const next = queued.shift()
      if (next) {
        if (next.events) {
          await send(response, { status: next.status, headers: { ...SSE_TYPE, ...requestId, ...next.headers }, body: next.events, eventDelayMs: next.eventDelayMs })
          return
        }
        const body = typeof next.body === 'string' ? next.body : next.body === undefined ? '' : JSON.stringify(next.body)
        await send(response, { status: next.status, headers: { ...JSON_TYPE, ...requestId, ...next.headers }, body })
        return
      }
      if (!headers['x-api-key'] && !/^Bearer \S+/.test(headers.authorization ?? '')) {
        await send(response, { status: 401, headers: { ...JSON_TYPE, ...requestId }, body: anthropicError('authentication_error', 'x-api-key header is required') })
        return
      }
      if (!headers['anthropic-version']) {
        await send(response, { status: 400, headers: { ...JSON_TYPE, ...requestId }, body: anthropicError('invalid_request_error', 'anthropic-version: header is required') })
        return
      }
      if (method === 'POST' && json === undefined) {
        await send(response, { status: 400, headers: { ...JSON_TYPE, ...requestId }, body: anthropicError('invalid_request_error', 'There was an issue with your request body: it is not valid JSON') })
        return
      }
      const reply = route(endpoint, method, url.pathname, json)
      await send(response, { ...reply, headers: { ...requestId, ...reply.headers } })
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, JSON_TYPE)
      response.end(anthropicError('api_error', `mock failure: ${(error as Error).message}`))
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
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
