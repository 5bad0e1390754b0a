import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { cassette, fixtureText } from './fixtures.js'
import { closeServer, listenLocal, readBody, relayRequest } from './mock-http.js'
import { startMockOpenAIFiles, type MockOpenAIFiles } from './mock-files-openai.js'
import { validateOpenAIRequest } from './openapi.js'

/**
 * A stand-in for OpenAI's Batch API (https://platform.openai.com/docs/api-reference/batch) in front
 * of the Files API mock (`mock-files-openai.ts`, whose files it reads and writes): `POST /v1/batches`,
 * `GET /v1/batches` (`limit`, `after`), `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`; any
 * other path goes on to the files mock. Request bodies are validated against the OpenAPI spec.
 *
 * No recording of batch traffic exists in /work/shared/fixtures, so the objects follow the spec
 * (`Batch`, `BatchRequestCounts`) and the output format of the API reference. A batch moves one
 * step per `GET` (`validating` -> `in_progress` -> `finalizing` -> `completed`), so a poll loop sees
 * each status. Each request line is answered with recorded wire data: the recorded chat completion
 * (`openai/chat-text.json`), or for a line whose model is `does-not-exist` the recorded 404
 * (`openai/chat-error-model-not-found.cassette.yaml`), which goes to the error file. A cancel moves
 * an open batch to `cancelling`, and the next `GET` to `cancelled` with no request run.
 */
export interface MockBatch {
  id: string
  object: 'batch'
  endpoint: string
  errors: null
  input_file_id: string
  completion_window: string
  status: string
  output_file_id: string | null
  error_file_id: string | null
  created_at: number
  in_progress_at: number | null
  expires_at: number
  finalizing_at: number | null
  completed_at: number | null
  failed_at: null
  expired_at: null
  cancelling_at: number | null
  cancelled_at: number | null
  request_counts: { total: number; completed: number; failed: number }
  metadata: Record<string, string> | null
}

export interface BatchRequestRecord {
  method: string
  path: string
  body: any
  specErrors: string[]
  headers: Record<string, string>
}

export interface MockOpenAIBatches {
  /** `http://127.0.0.1:<port>`; the API root is `${url}/v1`. */
  url: string
  readonly key: string
  files: MockOpenAIFiles
  batches: Map<string, MockBatch>
  /** Batch API requests received (file requests are in `files.requests`). */
  requests: BatchRequestRecord[]
  close(): Promise<void>
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'
const newId = (prefix: string) => `${prefix}${Array.from(crypto.getRandomValues(new Uint8Array(24)), (byte) => ALNUM[byte % ALNUM.length]).join('')}`

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}
const fail = (response: ServerResponse, status: number, message: string, param: string | null = null) => send(response, status, { error: { message, type: 'invalid_request_error', param, code: null } })

export async function startMockOpenAIBatches(key = 'sk-test-upstream-key-123456'): Promise<MockOpenAIBatches> {
  const files = await startMockOpenAIFiles(key)
  const batches = new Map<string, MockBatch>()
  const requests: BatchRequestRecord[] = []
  const recordedChat = JSON.parse(fixtureText('openai/chat-text.json'))
  const notFound = cassette('openai/chat-error-model-not-found.cassette.yaml')[0]!.response
  let clock = 1_770_000_000

  /** Runs every request of the input file and writes the output and error files, as OpenAI does when a batch completes. */
  function complete(batch: MockBatch): void {
    const input = files.files.get(batch.input_file_id)!
    const output: string[] = []
    const errors: string[] = []
    for (const line of Buffer.from(input.content).toString('utf8').split('\n')) {
      if (!line.trim()) continue
      const request = JSON.parse(line)
      const requestId = newId('req_')
      if (request.body?.model === 'does-not-exist') errors.push(JSON.stringify({ id: newId('batch_req_'), custom_id: request.custom_id, response: { status_code: notFound.status, request_id: requestId, body: JSON.parse(notFound.body) }, error: null }))
      else output.push(JSON.stringify({ id: newId('batch_req_'), custom_id: request.custom_id, response: { status_code: 200, request_id: requestId, body: { ...recordedChat, model: request.body?.model ?? recordedChat.model } }, error: null }))
    }
    const store = (lines: string[], name: string) => {
      if (lines.length === 0) return null
      const content = new TextEncoder().encode(`${lines.join('\n')}\n`)
      const id = newId('file-')
      files.files.set(id, { id, object: 'file', bytes: content.length, created_at: ++clock, expires_at: null, filename: name, purpose: 'batch_output', status: 'processed', content, contentType: 'application/octet-stream' })
      return id
    }
    batch.output_file_id = store(output, `${batch.id}_output.jsonl`)
    batch.error_file_id = store(errors, `${batch.id}_error.jsonl`)
    batch.request_counts = { total: output.length + errors.length, completed: output.length, failed: errors.length }
  }

  /** One step of a batch's life, per `GET`. */
  function advance(batch: MockBatch): void {
    const now = ++clock
    if (batch.status === 'validating') {
      const input = files.files.get(batch.input_file_id)
      batch.request_counts.total = input ? Buffer.from(input.content).toString('utf8').split('\n').filter((line) => line.trim()).length : 0
      Object.assign(batch, { status: 'in_progress', in_progress_at: now })
    } else if (batch.status === 'in_progress') Object.assign(batch, { status: 'finalizing', finalizing_at: now })
    else if (batch.status === 'finalizing') {
      complete(batch)
      Object.assign(batch, { status: 'completed', completed_at: now })
    } else if (batch.status === 'cancelling') Object.assign(batch, { status: 'cancelled', cancelled_at: now })
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://mock')
    // The Files API: relayed to the files mock as received.
    if (!url.pathname.startsWith('/v1/batches')) return relayRequest(files.url, request, response, request.method === 'GET' || request.method === 'DELETE' ? undefined : new Uint8Array(Buffer.concat(await chunksOf(request))))
    const method = request.method ?? 'GET'
    const raw = await readBody(request)
    const body = raw ? JSON.parse(raw) : undefined
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]))
    const checked = validateOpenAIRequest(method, url.pathname, body, request.headers['content-type'], raw.length > 0)
    requests.push({ method, path: url.pathname, body, specErrors: checked.errors, headers })
    if (request.headers.authorization !== `Bearer ${key}`) return fail(response, 401, 'Incorrect API key provided.')
    if (checked.errors.length > 0) return fail(response, 400, `Invalid request: ${checked.errors.join('; ')}`)
    const match = /^\/v1\/batches(?:\/([^/]+)(\/cancel)?)?$/.exec(url.pathname)
    if (!match) return fail(response, 404, `Invalid URL (${method} ${url.pathname})`)
    const [, id, cancel] = match
    if (method === 'POST' && !id) {
      const input = files.files.get(body.input_file_id)
      if (!input) return fail(response, 400, `Invalid 'input_file_id': '${body.input_file_id}'. File not found.`, 'input_file_id')
      if (input.purpose !== 'batch') return fail(response, 400, `File ${body.input_file_id} does not have purpose 'batch'.`, 'input_file_id')
      const created = ++clock
      const batch: MockBatch = {
        id: newId('batch_'), object: 'batch', endpoint: body.endpoint, errors: null, input_file_id: body.input_file_id, completion_window: body.completion_window, status: 'validating',
        output_file_id: null, error_file_id: null, created_at: created, in_progress_at: null, expires_at: created + 86_400, finalizing_at: null, completed_at: null, failed_at: null, expired_at: null,
        cancelling_at: null, cancelled_at: null, request_counts: { total: 0, completed: 0, failed: 0 }, metadata: body.metadata ?? null,
      }
      batches.set(batch.id, batch)
      return send(response, 200, batch)
    }
    if (method === 'GET' && !id) {
      const limit = Number(url.searchParams.get('limit') ?? 20)
      const sorted = [...batches.values()].sort((a, b) => b.created_at - a.created_at)
      const after = url.searchParams.get('after')
      const start = after ? sorted.findIndex((batch) => batch.id === after) + 1 : 0
      const data = sorted.slice(start, start + limit)
      return send(response, 200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + data.length < sorted.length })
    }
    const batch = id ? batches.get(decodeURIComponent(id)) : undefined
    if (!batch) return fail(response, 404, `No batch found with id '${decodeURIComponent(id ?? '')}'.`)
    if (method === 'GET' && !cancel) {
      advance(batch)
      return send(response, 200, batch)
    }
    if (method === 'POST' && cancel) {
      if (!['validating', 'in_progress', 'finalizing'].includes(batch.status)) return fail(response, 409, `Cannot cancel a batch with status '${batch.status}'.`)
      Object.assign(batch, { status: 'cancelling', cancelling_at: ++clock })
      return send(response, 200, batch)
    }
    return fail(response, 405, `Method ${method} is not allowed here`)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((caught: unknown) => {
      if (!response.headersSent) fail(response, 500, `mock failure: ${(caught as Error).message}`)
      else response.destroy()
    })
  })
  const url = await listenLocal(server)
  return {
    url,
    key,
    files,
    batches,
    requests,
    async close() {
      await closeServer(server)
      await files.close()
    },
  }
}

async function chunksOf(request: IncomingMessage): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return chunks
}
