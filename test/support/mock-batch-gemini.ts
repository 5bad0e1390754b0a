import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { fixtureText } from './fixtures.js'
import { closeServer, headersOf, listenLocal, relayRequest } from './mock-http.js'
import { startMockGeminiFiles, type MockGeminiFiles } from './mock-gemini-files.js'
import { validateGeminiRequest } from './mock-gemini-spec.js'

/**
 * A stand-in for the Gemini API's batch mode (https://ai.google.dev/api/batch-mode) in front of
 * the file API mock (`mock-gemini-files.ts`, whose files it reads and to which it adds the results
 * file): `POST /v1beta/models/{model}:batchGenerateContent` (`{ batch: { displayName, inputConfig:
 * { requests: { requests: [{ request, metadata }] } } | { fileName } } }`), `GET /v1beta/batches/{id}`,
 * `GET /v1beta/batches` (`pageSize`, `pageToken`), `POST /v1beta/batches/{id}:cancel`,
 * `DELETE /v1beta/batches/{id}`; everything else goes on to the files mock.
 *
 * Answers are long-running `Operation`s whose `metadata` is the `GenerateContentBatch` (`state`
 * `BATCH_STATE_*`, `batchStats` counts as int64 strings, and `output` once done), as
 * `@google/genai` reads them. No recording of batch traffic exists in /work/shared/fixtures, so
 * the shapes follow the API reference; each request is checked with the `generateContent` rules of
 * `mock-gemini-spec.ts`, and each response is the recorded `google/generate-content-text.json`. A
 * batch moves one step per `GET` (`PENDING` -> `RUNNING` -> `SUCCEEDED`); inline requests are
 * answered inline (`inlinedResponses`), a file of `{ key, request }` lines with a generated results
 * file of `{ key, response }` lines (`responsesFile`). A cancel makes the next `GET` `CANCELLED`.
 */
export interface MockGeminiBatch {
  name: string
  model: string
  displayName: string
  state: string
  createTime: string
  updateTime: string
  endTime?: string
  /** The requests with their keys, inline or read from the input file. */
  requests: Array<{ key: string | undefined; request: Record<string, unknown> }>
  source: 'inline' | 'file'
  cancelRequested: boolean
  output?: Record<string, unknown>
}

export interface GeminiBatchRequest {
  method: string
  path: string
  headers: Record<string, string>
  json: any
  specErrors: string[]
}

export interface MockGeminiBatches {
  url: string
  /** The API root (`${url}/v1beta`): `providers.gemini.network_config.base_url`. */
  baseURL: string
  readonly key: string
  files: MockGeminiFiles
  batches: Map<string, MockGeminiBatch>
  requests: GeminiBatchRequest[]
  close(): Promise<void>
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789'
const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => LOWER[byte % LOWER.length]).join('')
const TYPE = 'type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch'
const OUTPUT_TYPE = 'type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput'
const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND' }

function send(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' })
  response.end(JSON.stringify(body, null, 2))
}
function fail(response: ServerResponse, code: number, message: string): void {
  response.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' })
  response.end(JSON.stringify({ error: { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN' } }, null, 2))
}

async function bytesOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export async function startMockGeminiBatches(key = 'gemini-test-key-000000'): Promise<MockGeminiBatches> {
  const files = await startMockGeminiFiles(key)
  const batches = new Map<string, MockGeminiBatch>()
  const requests: GeminiBatchRequest[] = []
  const recordedResponse = JSON.parse(fixtureText('google/generate-content-text.json'))
  let clock = Date.parse('2026-01-01T00:00:00Z')
  const now = () => new Date((clock += 1000)).toISOString()

  function operationOf(batch: MockGeminiBatch): Record<string, unknown> {
    const total = batch.requests.length
    const done = batch.state === 'BATCH_STATE_SUCCEEDED' || batch.state === 'BATCH_STATE_CANCELLED'
    const succeeded = batch.state === 'BATCH_STATE_SUCCEEDED' ? total : 0
    const metadata = {
      '@type': TYPE,
      model: batch.model,
      displayName: batch.displayName,
      createTime: batch.createTime,
      updateTime: batch.updateTime,
      ...(batch.endTime ? { endTime: batch.endTime } : {}),
      batchStats: { requestCount: String(total), ...(succeeded ? { successfulRequestCount: String(succeeded) } : {}), ...(done ? {} : { pendingRequestCount: String(total) }) },
      state: batch.state,
      name: batch.name,
      ...(batch.output ? { output: batch.output } : {}),
    }
    return { name: batch.name, metadata, ...(done ? { done: true } : {}), ...(batch.output ? { response: { '@type': OUTPUT_TYPE, ...batch.output } } : {}) }
  }

  function complete(batch: MockGeminiBatch): void {
    const responses = batch.requests.map(({ key: requestKey }) => ({ response: recordedResponse, ...(requestKey !== undefined ? { metadata: { key: requestKey } } : {}) }))
    if (batch.source === 'inline') batch.output = { inlinedResponses: { inlinedResponses: responses } }
    else {
      const lines = batch.requests.map(({ key: requestKey }) => JSON.stringify({ key: requestKey, response: recordedResponse })).join('\n')
      batch.output = { responsesFile: files.addGeneratedFile(`${lines}\n`).name }
    }
    Object.assign(batch, { state: 'BATCH_STATE_SUCCEEDED', updateTime: now(), endTime: now() })
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://mock')
    const method = request.method ?? 'GET'
    const isBatchCall = /:batchGenerateContent$/.test(url.pathname) || url.pathname.startsWith('/v1beta/batches')
    const body = method === 'GET' || method === 'DELETE' ? Buffer.alloc(0) : await bytesOf(request)
    // The file API: relayed to the files mock as received, its upload URLs pointed back here.
    if (!isBatchCall) return relayRequest(files.url, request, response, body, (name, value) => (name === 'x-goog-upload-url' ? value.replace(files.url, origin) : value))
    const headers = headersOf(request)
    const json = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined
    const recorded: GeminiBatchRequest = { method, path: url.pathname, headers, json, specErrors: [] }
    requests.push(recorded)
    if ((headers['x-goog-api-key'] ?? url.searchParams.get('key')) !== key) return fail(response, 400, 'API key not valid. Please pass a valid API key.')

    const create = /^\/v1beta\/models\/([^/:]+):batchGenerateContent$/.exec(url.pathname)
    if (create && method === 'POST') {
      const model = `models/${create[1]}`
      const batch = json?.batch
      if (typeof batch?.displayName !== 'string' || batch.displayName === '') return fail(response, 400, 'batch.display_name is required.')
      const input = batch.inputConfig ?? {}
      let entries: MockGeminiBatch['requests']
      let source: MockGeminiBatch['source']
      if (Array.isArray(input.requests?.requests)) {
        entries = input.requests.requests.map((item: any) => ({ key: item.metadata?.key, request: item.request }))
        source = 'inline'
      } else if (typeof input.fileName === 'string') {
        const stored = files.files.get(input.fileName.replace(/^files\//, ''))
        if (!stored) return fail(response, 404, `File ${input.fileName} not found.`)
        entries = Buffer.from(stored.content).toString('utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line)).map((item: any) => ({ key: item.key, request: item.request }))
        source = 'file'
      } else return fail(response, 400, 'batch.input_config must hold requests or a file_name.')
      for (const [index, entry] of entries.entries()) {
        const { model: _model, ...rest } = entry.request ?? {}
        for (const problem of validateGeminiRequest('generateContent', rest, create[1]!)) recorded.specErrors.push(`requests[${index}]: ${problem}`)
      }
      const created = now()
      const record: MockGeminiBatch = { name: `batches/${newId()}`, model, displayName: batch.displayName, state: 'BATCH_STATE_PENDING', createTime: created, updateTime: created, requests: entries, source, cancelRequested: false }
      batches.set(record.name, record)
      return send(response, operationOf(record))
    }
    if (url.pathname === '/v1beta/batches' && method === 'GET') {
      const pageSize = Number(url.searchParams.get('pageSize') ?? 50)
      const all = [...batches.values()].reverse()
      const start = Number(url.searchParams.get('pageToken') ?? 0)
      const page = all.slice(start, start + pageSize)
      return send(response, { operations: page.map(operationOf), ...(start + pageSize < all.length ? { nextPageToken: String(start + pageSize) } : {}) })
    }
    const match = /^\/v1beta\/(batches\/[^/:]+)(:cancel)?$/.exec(url.pathname)
    const batch = match ? batches.get(match[1]!) : undefined
    if (!match) return fail(response, 404, `No route for ${method} ${url.pathname}.`)
    if (!batch) return fail(response, 404, `Batch ${match[1]} not found.`)
    if (method === 'GET' && !match[2]) {
      if (batch.state === 'BATCH_STATE_PENDING') Object.assign(batch, { state: batch.cancelRequested ? 'BATCH_STATE_CANCELLED' : 'BATCH_STATE_RUNNING', updateTime: now() })
      else if (batch.state === 'BATCH_STATE_RUNNING') {
        if (batch.cancelRequested) Object.assign(batch, { state: 'BATCH_STATE_CANCELLED', updateTime: now(), endTime: now() })
        else complete(batch)
      }
      return send(response, operationOf(batch))
    }
    if (method === 'POST' && match[2]) {
      batch.cancelRequested = true
      return send(response, {})
    }
    if (method === 'DELETE' && !match[2]) {
      batches.delete(batch.name)
      return send(response, {})
    }
    return fail(response, 400, `Method ${method} is not allowed here.`)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((caught: unknown) => {
      if (!response.headersSent) fail(response, 500, `mock failure: ${(caught as Error).message}`)
      else response.destroy()
    })
  })
  const origin = await listenLocal(server)
  return {
    url: origin,
    baseURL: `${origin}/v1beta`,
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
