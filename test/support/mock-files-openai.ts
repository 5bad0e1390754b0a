import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { validateOpenAIForm, validateOpenAIRequest } from './openapi.js'

/**
 * A stand-in for OpenAI's Files API (https://platform.openai.com/docs/api-reference/files) at
 * `http://127.0.0.1:<port>/v1`, keeping files in memory: `POST /files` (multipart: `file`,
 * `purpose`, `expires_after[anchor]`/`[seconds]`), `GET /files` (`purpose`, `limit`, `order`,
 * `after`), `GET /files/{id}`, `DELETE /files/{id}`, `GET /files/{id}/content`. No recording of
 * file traffic exists in /work/shared/fixtures, so the answers follow the OpenAPI spec
 * (/work/shared/specs/openai-openapi.yaml) and every request is validated against it: a form
 * field the spec does not define (`additionalProperties: false`) is refused with a 400, as OpenAI
 * refuses it. Error messages are written here in OpenAI's shape; ids are `file-` and 24 letters
 * and digits, as OpenAI's are.
 */
export interface StoredOpenAIFile {
  id: string
  object: 'file'
  bytes: number
  created_at: number
  expires_at: number | null
  filename: string
  purpose: string
  status: 'processed'
  /** The bytes as received (not part of the API object). */
  content: Uint8Array
  contentType: string
}

export interface FilesRequest {
  method: string
  path: string
  query: string
  headers: Record<string, string>
  /** Form field names in the order received (uploads). */
  fieldNames: string[]
  specErrors: string[]
}

export interface MockOpenAIFiles {
  /** `http://127.0.0.1:<port>`; the API root is `${url}/v1`. */
  url: string
  /** The key it accepts (`Authorization: Bearer <key>`). */
  readonly key: string
  files: Map<string, StoredOpenAIFile>
  requests: FilesRequest[]
  close(): Promise<void>
}

const PUBLIC = ['id', 'object', 'bytes', 'created_at', 'expires_at', 'filename', 'purpose', 'status'] as const
const publicView = (file: StoredOpenAIFile) => Object.fromEntries(PUBLIC.map((name) => [name, file[name]]))
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const newId = () => `file-${Array.from(crypto.getRandomValues(new Uint8Array(24)), (byte) => ALNUM[byte % ALNUM.length]).join('')}`
/** Batch files expire after 30 days unless the upload says otherwise (the spec's FileExpirationAfter). */
const BATCH_EXPIRY = 30 * 24 * 3600

function error(response: ServerResponse, status: number, message: string, param: string | null = null, code: string | null = null): void {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } }))
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export async function startMockOpenAIFiles(key = 'sk-test-upstream-key-123456'): Promise<MockOpenAIFiles> {
  const files = new Map<string, StoredOpenAIFile>()
  const requests: FilesRequest[] = []
  let clock = 1_760_000_000

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://mock')
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]))
    const method = request.method ?? 'GET'
    const record: FilesRequest = { method, path: url.pathname, query: url.search, headers, fieldNames: [], specErrors: [] }
    requests.push(record)
    if (headers.authorization !== `Bearer ${key}`) return error(response, 401, 'Incorrect API key provided.', null, 'invalid_api_key')
    const match = /^\/v1\/files(?:\/([^/]+)(\/content)?)?$/.exec(url.pathname)
    if (!match) return error(response, 404, `Invalid URL (${method} ${url.pathname})`)
    const [, id, content] = match

    if (method === 'POST' && !id) {
      const raw = await bodyOf(request)
      let form: FormData
      try {
        form = await new Response(new Uint8Array(raw), { headers: { 'content-type': headers['content-type'] ?? '' } }).formData()
      } catch {
        return error(response, 400, 'The request body is not valid multipart/form-data.')
      }
      const fields: Record<string, unknown> = {}
      for (const [name, value] of form) {
        record.fieldNames.push(name)
        const bracket = /^(\w+)\[(\w+)\]$/.exec(name)
        if (bracket) fields[bracket[1]!] = { ...(fields[bracket[1]!] as object), [bracket[2]!]: value }
        else fields[name] = typeof value === 'string' ? value : 'binary'
      }
      record.specErrors = validateOpenAIForm('POST', '/v1/files', fields).errors
      if (record.specErrors.length > 0) return error(response, 400, `Invalid request: ${record.specErrors.join('; ')}`)
      const file = form.get('file') as File
      const purpose = String(form.get('purpose'))
      const seconds = form.get('expires_after[seconds]')
      const created = ++clock
      const stored: StoredOpenAIFile = {
        id: newId(),
        object: 'file',
        bytes: file.size,
        created_at: created,
        expires_at: seconds !== null ? created + Number(seconds) : purpose === 'batch' ? created + BATCH_EXPIRY : null,
        filename: file.name,
        purpose,
        status: 'processed',
        content: new Uint8Array(await file.arrayBuffer()),
        contentType: file.type,
      }
      files.set(stored.id, stored)
      response.writeHead(200, { 'content-type': 'application/json' })
      return void response.end(JSON.stringify(publicView(stored)))
    }

    record.specErrors = validateOpenAIRequest(method, url.pathname, undefined, undefined, false).errors
    if (method === 'GET' && !id) {
      const limit = Number(url.searchParams.get('limit') ?? 10_000)
      const order = url.searchParams.get('order') ?? 'desc'
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return error(response, 400, 'Invalid limit', 'limit')
      if (order !== 'asc' && order !== 'desc') return error(response, 400, 'Invalid order', 'order')
      const purpose = url.searchParams.get('purpose')
      const sorted = [...files.values()].filter((file) => !purpose || file.purpose === purpose).sort((a, b) => (order === 'asc' ? 1 : -1) * (a.created_at - b.created_at))
      const after = url.searchParams.get('after')
      const start = after ? sorted.findIndex((file) => file.id === after) + 1 : 0
      const data = sorted.slice(start, start + limit).map(publicView)
      response.writeHead(200, { 'content-type': 'application/json' })
      return void response.end(JSON.stringify({ object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + data.length < sorted.length }))
    }
    const file = id ? files.get(decodeURIComponent(id)) : undefined
    if (!file) return error(response, 404, `No such File object: ${decodeURIComponent(id ?? '')}`, 'id')
    if (method === 'GET' && content) {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.content.length) })
      return void response.end(file.content)
    }
    if (method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json' })
      return void response.end(JSON.stringify(publicView(file)))
    }
    if (method === 'DELETE' && !content) {
      files.delete(file.id)
      response.writeHead(200, { 'content-type': 'application/json' })
      return void response.end(JSON.stringify({ id: file.id, object: 'file', deleted: true }))
    }
    return error(response, 405, `Method ${method} is not allowed here`)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((caught: unknown) => {
      if (!response.headersSent) error(response, 500, `mock failure: ${(caught as Error).message}`)
      else response.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    key,
    files,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
