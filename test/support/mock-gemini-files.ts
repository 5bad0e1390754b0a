import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for the Gemini API's file service (https://ai.google.dev/api/files) at
 * `http://127.0.0.1:<port>`, API root `/v1beta`, files in memory:
 * - `media.upload` with the resumable protocol: `POST /upload/v1beta/files` with
 *   `X-Goog-Upload-Protocol: resumable`, `X-Goog-Upload-Command: start` and the
 *   `X-Goog-Upload-Header-Content-Length`/`-Content-Type` headers answers an upload URL in
 *   `X-Goog-Upload-URL`; `POST <upload URL>` with `X-Goog-Upload-Command: upload[, finalize]` and
 *   `X-Goog-Upload-Offset` takes the bytes (in one or several chunks) and, on `finalize`, answers
 *   `{ "file": File }` with `X-Goog-Upload-Status: final`;
 * - `files.get` (`GET /v1beta/files/{id}`), `files.list` (`pageSize` 1-100, default 10,
 *   `pageToken`; `{ files, nextPageToken }`, `{}` when empty), `files.delete` (`{}`);
 * - `files/{id}:download?alt=media` for generated files (what `@google/genai`'s `files.download`
 *   calls); an uploaded file cannot be downloaded from the Gemini API.
 * The key goes in `x-goog-api-key` (or `?key=`). No recording of file traffic exists in
 * /work/shared/fixtures: field names, formats (`sizeBytes` as a string, RFC 3339 times, base64
 * SHA-256, 48-hour expiry) and error bodies (`{ error: { code, message, status } }`) follow the
 * API reference; the messages are written here. The official `@google/genai` SDK is run against
 * this mock in test/files-gemini-mock.test.ts.
 */
export interface GeminiFileResource {
  name: string
  displayName?: string
  mimeType: string
  sizeBytes: string
  createTime: string
  updateTime: string
  expirationTime: string
  sha256Hash: string
  uri: string
  downloadUri?: string
  state: 'ACTIVE' | 'PROCESSING' | 'FAILED'
  source: 'UPLOADED' | 'GENERATED'
}

export interface GeminiFilesRequest {
  method: string
  path: string
  query: string
  headers: Record<string, string>
}

export interface MockGeminiFiles {
  url: string
  /** The API root (`${url}/v1beta`): what `providers.gemini.network_config.base_url` points at. */
  baseURL: string
  readonly key: string
  files: Map<string, { resource: GeminiFileResource; content: Uint8Array }>
  requests: GeminiFilesRequest[]
  /** Adds a generated file (as a batch job leaves its results), downloadable. */
  addGeneratedFile(content: string, mimeType?: string): GeminiFileResource
  close(): Promise<void>
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789'
const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (byte) => LOWER[byte % LOWER.length]).join('')
const EXPIRY_MS = 48 * 3600 * 1000

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED' }

function fail(response: ServerResponse, code: number, message: string): void {
  response.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' })
  response.end(JSON.stringify({ error: { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN' } }, null, 2))
}

function send(response: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', ...headers })
  response.end(JSON.stringify(body, null, 2))
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

interface UploadSession {
  displayName: string | undefined
  mimeType: string
  declared: number
  received: Buffer[]
  size: number
}

export async function startMockGeminiFiles(key = 'gemini-test-key-000000'): Promise<MockGeminiFiles> {
  const files = new Map<string, { resource: GeminiFileResource; content: Uint8Array }>()
  const sessions = new Map<string, UploadSession>()
  const requests: GeminiFilesRequest[] = []
  let origin = ''

  function store(content: Uint8Array, mimeType: string, displayName: string | undefined, source: 'UPLOADED' | 'GENERATED'): GeminiFileResource {
    const id = newId()
    const now = new Date()
    const resource: GeminiFileResource = {
      name: `files/${id}`,
      ...(displayName !== undefined ? { displayName } : {}),
      mimeType,
      sizeBytes: String(content.length),
      createTime: now.toISOString(),
      updateTime: now.toISOString(),
      expirationTime: new Date(now.getTime() + EXPIRY_MS).toISOString(),
      sha256Hash: createHash('sha256').update(content).digest('base64'),
      uri: `${origin}/v1beta/files/${id}`,
      ...(source === 'GENERATED' ? { downloadUri: `${origin}/v1beta/files/${id}:download?alt=media` } : {}),
      state: 'ACTIVE',
      source,
    }
    files.set(id, { resource, content })
    return resource
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://mock')
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]))
    const method = request.method ?? 'GET'
    requests.push({ method, path: url.pathname, query: url.search, headers })
    if ((headers['x-goog-api-key'] ?? url.searchParams.get('key')) !== key) return fail(response, 400, 'API key not valid. Please pass a valid API key.')

    if (url.pathname === '/upload/v1beta/files' && method === 'POST') {
      const body = await bodyOf(request)
      const uploadId = url.searchParams.get('upload_id')
      const command = (headers['x-goog-upload-command'] ?? '').split(',').map((part) => part.trim())
      if (!uploadId) {
        if (headers['x-goog-upload-protocol'] !== 'resumable' || !command.includes('start')) return fail(response, 400, 'Uploads need X-Goog-Upload-Protocol: resumable and X-Goog-Upload-Command: start.')
        const declared = Number(headers['x-goog-upload-header-content-length'])
        if (!Number.isInteger(declared) || declared < 0) return fail(response, 400, 'X-Goog-Upload-Header-Content-Length must be the size of the file in bytes.')
        let metadata: { file?: { displayName?: unknown; display_name?: unknown } } = {}
        if (body.length > 0) {
          try {
            metadata = JSON.parse(body.toString('utf8'))
          } catch {
            return fail(response, 400, 'Invalid JSON payload received.')
          }
        }
        const displayName = metadata.file?.displayName ?? metadata.file?.display_name
        if (displayName !== undefined && (typeof displayName !== 'string' || displayName.length > 512)) return fail(response, 400, 'displayName must be a string of at most 512 characters.')
        const session = newId()
        sessions.set(session, { displayName: displayName as string | undefined, mimeType: headers['x-goog-upload-header-content-type'] || 'application/octet-stream', declared, received: [], size: 0 })
        response.writeHead(200, { 'x-goog-upload-url': `${origin}/upload/v1beta/files?upload_id=${session}&upload_protocol=resumable`, 'x-goog-upload-status': 'active', 'x-goog-upload-chunk-granularity': '8388608', 'content-length': '0' })
        return void response.end()
      }
      const session = sessions.get(uploadId)
      if (!session) return fail(response, 404, 'Upload session not found.')
      if (!command.includes('upload') && !command.includes('finalize')) return fail(response, 400, 'X-Goog-Upload-Command must be upload, finalize or both.')
      if (command.includes('upload')) {
        if (Number(headers['x-goog-upload-offset']) !== session.size) return fail(response, 400, `X-Goog-Upload-Offset must be ${session.size}.`)
        session.received.push(body)
        session.size += body.length
      }
      if (!command.includes('finalize')) {
        response.writeHead(200, { 'x-goog-upload-status': 'active', 'content-length': '0' })
        return void response.end()
      }
      sessions.delete(uploadId)
      if (session.size !== session.declared) return fail(response, 400, `The upload has ${session.size} bytes; ${session.declared} were announced.`)
      return send(response, { file: store(new Uint8Array(Buffer.concat(session.received)), session.mimeType, session.displayName, 'UPLOADED') }, { 'x-goog-upload-status': 'final' })
    }

    if (url.pathname === '/v1beta/files' && method === 'GET') {
      const pageSize = Number(url.searchParams.get('pageSize') ?? 10)
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) return fail(response, 400, 'pageSize must be between 1 and 100.')
      const all = [...files.values()].map((file) => file.resource).sort((a, b) => (a.createTime < b.createTime ? 1 : a.createTime > b.createTime ? -1 : a.name < b.name ? -1 : 1))
      const token = url.searchParams.get('pageToken')
      const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0
      if (!Number.isInteger(start) || start < 0) return fail(response, 400, 'Invalid page token.')
      const page = all.slice(start, start + pageSize)
      const next = start + pageSize < all.length ? Buffer.from(String(start + pageSize)).toString('base64url') : undefined
      return send(response, { ...(page.length > 0 ? { files: page } : {}), ...(next ? { nextPageToken: next } : {}) })
    }

    const match = /^\/v1beta\/files\/([^/:]+)(:download)?$/.exec(url.pathname)
    if (match) {
      const stored = files.get(match[1]!)
      if (!stored) return fail(response, 403, `You do not have permission to access the File ${match[1]} or it may not exist.`)
      if (match[2]) {
        if (method !== 'GET' || url.searchParams.get('alt') !== 'media') return fail(response, 400, 'Downloads are GET with alt=media.')
        if (stored.resource.source !== 'GENERATED') return fail(response, 400, 'Only generated files can be downloaded.')
        response.writeHead(200, { 'content-type': stored.resource.mimeType, 'content-length': String(stored.content.length) })
        return void response.end(stored.content)
      }
      if (method === 'GET') return send(response, stored.resource)
      if (method === 'DELETE') {
        files.delete(match[1]!)
        return send(response, {})
      }
      return fail(response, 405, `Method ${method} is not allowed here.`)
    }
    return fail(response, 404, `No route for ${method} ${url.pathname}.`)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((caught: unknown) => {
      if (!response.headersSent) fail(response, 500, `mock failure: ${(caught as Error).message}`)
      else response.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: origin,
    baseURL: `${origin}/v1beta`,
    key,
    files,
    requests,
    addGeneratedFile: (content, mimeType = 'application/jsonl') => store(new TextEncoder().encode(content), mimeType, undefined, 'GENERATED'),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
