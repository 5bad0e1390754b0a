import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { validateMessagesRequest } from './anthropic-spec.js'
import { fixtureText } from './fixtures.js'
import { closeServer, headersOf, listenLocal, readBody } from './mock-http.js'

/**
 * A stand-in for Anthropic's Message Batches API (https://docs.anthropic.com/en/api/creating-message-batches)
 * at `http://127.0.0.1:<port>/v1`: `POST /v1/messages/batches` (`{ requests: [{ custom_id, params }] }`),
 * `GET /v1/messages/batches` (`limit`, `after_id`, `before_id`), `GET /v1/messages/batches/{id}`,
 * `POST /v1/messages/batches/{id}/cancel`, `GET /v1/messages/batches/{id}/results` (JSONL) and
 * `DELETE /v1/messages/batches/{id}`, with `x-api-key` and `anthropic-version` required.
 *
 * No recording of batch traffic exists in /work/shared/fixtures, so the objects (`message_batch`,
 * `request_counts`, the results lines) follow the API reference; every request's `params` is
 * checked with the Messages API rules of `anthropic-spec.ts` (violations are kept in
 * `specErrors`). A batch is `in_progress` at creation and at its first `GET`, and `ended` from the
 * second on, so a poll loop sees both. Each succeeded result is the recorded message
 * (`anthropic/messages-text.json`) with the request's model; a request whose model is
 * `claude-does-not-exist` errors with a `not_found_error` (message written here). A cancel moves the
 * batch to `canceling`; the next `GET` ends it with every request `canceled`.
 */
export interface MockMessageBatch {
  id: string
  type: 'message_batch'
  processing_status: 'in_progress' | 'canceling' | 'ended'
  request_counts: { processing: number; succeeded: number; errored: number; canceled: number; expired: number }
  ended_at: string | null
  created_at: string
  expires_at: string
  archived_at: string | null
  cancel_initiated_at: string | null
  results_url: string | null
}

export interface AnthropicBatchRequest {
  method: string
  path: string
  query: string
  headers: Record<string, string>
  json: any
  specErrors: string[]
}

export interface MockAnthropicBatches {
  /** `http://127.0.0.1:<port>`: use `${url}/v1` as the provider's base URL. */
  url: string
  readonly key: string
  batches: Map<string, { batch: MockMessageBatch; requests: Array<{ custom_id: string; params: any }>; polls: number }>
  requests: AnthropicBatchRequest[]
  close(): Promise<void>
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const newId = () => `msgbatch_01${Array.from(crypto.getRandomValues(new Uint8Array(22)), (byte) => ALNUM[byte % ALNUM.length]).join('')}`
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_mock_${Math.random().toString(36).slice(2)}` })
  response.end(JSON.stringify(body))
}
const fail = (response: ServerResponse, status: number, type: string, message: string) => send(response, status, { type: 'error', error: { type, message } })

export async function startMockAnthropicBatches(key = 'sk-ant-test-batch-key'): Promise<MockAnthropicBatches> {
  const batches: MockAnthropicBatches['batches'] = new Map()
  const requests: AnthropicBatchRequest[] = []
  const recordedMessage = JSON.parse(fixtureText('anthropic/messages-text.json'))
  let origin = ''
  let clock = Date.parse('2026-01-01T00:00:00Z')
  const now = () => new Date((clock += 1000)).toISOString()

  function end(entry: { batch: MockMessageBatch; requests: Array<{ custom_id: string; params: any }> }, canceled: boolean): void {
    const { batch } = entry
    const errored = canceled ? 0 : entry.requests.filter((request) => request.params.model === 'claude-does-not-exist').length
    batch.request_counts = { processing: 0, succeeded: canceled ? 0 : entry.requests.length - errored, errored, canceled: canceled ? entry.requests.length : 0, expired: 0 }
    batch.processing_status = 'ended'
    batch.ended_at = now()
    batch.results_url = `${origin}/v1/messages/batches/${batch.id}/results`
  }

  function resultOf(request: { custom_id: string; params: any }, canceled: boolean): unknown {
    if (canceled) return { custom_id: request.custom_id, result: { type: 'canceled' } }
    if (request.params.model === 'claude-does-not-exist') return { custom_id: request.custom_id, result: { type: 'errored', error: { type: 'error', error: { type: 'not_found_error', message: `model: ${request.params.model}` } } } }
    return { custom_id: request.custom_id, result: { type: 'succeeded', message: { ...recordedMessage, model: request.params.model } } }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://mock')
    const method = request.method ?? 'GET'
    const raw = await readBody(request)
    const json = raw ? JSON.parse(raw) : undefined
    const recorded: AnthropicBatchRequest = { method, path: url.pathname, query: url.search, headers: headersOf(request), json, specErrors: [] }
    requests.push(recorded)
    if (recorded.headers['x-api-key'] !== key) return fail(response, 401, 'authentication_error', 'invalid x-api-key')
    if (!recorded.headers['anthropic-version']) return fail(response, 400, 'invalid_request_error', 'anthropic-version: header is required')
    const match = /^\/v1\/messages\/batches(?:\/([^/]+)(\/cancel|\/results)?)?$/.exec(url.pathname)
    if (!match) return fail(response, 404, 'not_found_error', `no route for ${method} ${url.pathname}`)
    const [, id, action] = match

    if (method === 'POST' && !id) {
      if (!Array.isArray(json?.requests) || json.requests.length === 0) return fail(response, 400, 'invalid_request_error', 'requests: Field required')
      const seen = new Set<string>()
      for (const [index, entry] of json.requests.entries()) {
        if (typeof entry?.custom_id !== 'string' || !CUSTOM_ID.test(entry.custom_id)) return fail(response, 400, 'invalid_request_error', `requests.${index}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`)
        if (seen.has(entry.custom_id)) return fail(response, 400, 'invalid_request_error', `requests.${index}: custom_id must be unique within a batch`)
        seen.add(entry.custom_id)
        for (const problem of validateMessagesRequest(entry.params)) recorded.specErrors.push(`requests.${index}.params: ${problem}`)
      }
      const created = now()
      const batch: MockMessageBatch = {
        id: newId(), type: 'message_batch', processing_status: 'in_progress',
        request_counts: { processing: json.requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
        ended_at: null, created_at: created, expires_at: new Date(Date.parse(created) + 86_400_000).toISOString(), archived_at: null, cancel_initiated_at: null, results_url: null,
      }
      batches.set(batch.id, { batch, requests: json.requests, polls: 0 })
      return send(response, 200, batch)
    }
    if (method === 'GET' && !id) {
      const limit = Number(url.searchParams.get('limit') ?? 20)
      const all = [...batches.values()].map((entry) => entry.batch).reverse()
      const after = url.searchParams.get('after_id')
      const start = after ? all.findIndex((batch) => batch.id === after) + 1 : 0
      const data = all.slice(start, start + limit)
      return send(response, 200, { data, has_more: start + data.length < all.length, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null })
    }
    const entry = id ? batches.get(decodeURIComponent(id)) : undefined
    if (!entry) return fail(response, 404, 'not_found_error', `message_batch: ${id ?? ''} not found`)
    const { batch } = entry
    if (method === 'GET' && !action) {
      entry.polls++
      if (batch.processing_status === 'canceling') end(entry, true)
      else if (batch.processing_status === 'in_progress' && entry.polls >= 2) end(entry, false)
      return send(response, 200, batch)
    }
    if (method === 'POST' && action === '/cancel') {
      if (batch.processing_status === 'in_progress') Object.assign(batch, { processing_status: 'canceling', cancel_initiated_at: now() })
      return send(response, 200, batch)
    }
    if (method === 'GET' && action === '/results') {
      if (batch.processing_status !== 'ended') return fail(response, 400, 'invalid_request_error', `Message Batch ${batch.id} has not yet ended`)
      const canceled = batch.request_counts.canceled > 0
      response.writeHead(200, { 'content-type': 'application/binary' })
      return void response.end(entry.requests.map((item) => `${JSON.stringify(resultOf(item, canceled))}\n`).join(''))
    }
    if (method === 'DELETE' && !action) {
      if (batch.processing_status !== 'ended') return fail(response, 400, 'invalid_request_error', 'Cannot delete a batch that has not ended; cancel it first')
      batches.delete(batch.id)
      return send(response, 200, { id: batch.id, type: 'message_batch_deleted' })
    }
    return fail(response, 405, 'invalid_request_error', `Method ${method} is not allowed here`)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((caught: unknown) => {
      if (!response.headersSent) fail(response, 500, 'api_error', `mock failure: ${(caught as Error).message}`)
      else response.destroy()
    })
  })
  origin = await listenLocal(server)
  return { url: origin, key, batches, requests, close: () => closeServer(server) }
}
