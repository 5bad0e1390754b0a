import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A minimal upstream for provider e2e tests: every request is recorded (method, path, headers,
 * raw body, JSON), and answered by the test's `route` function: a JSON body, a raw text body, or
 * SSE events written one per write. Several providers can share one server under path prefixes
 * (`/mistral/v1/...`, `/cohere/v2/...`). Unrouted requests get a 404.
 */

export interface ScriptedRequest {
  method: string
  /** Path without the query. */
  path: string
  /** Lower-case header names. */
  headers: Record<string, string>
  rawBody: string
  json: any
}

export interface ScriptedReply {
  status?: number
  headers?: Record<string, string>
  /** A string is sent as is; anything else as JSON. */
  body?: unknown
  /** SSE frames, one per write (content type text/event-stream unless `headers` says otherwise). */
  events?: readonly string[]
}

export interface ScriptedUpstream {
  /** `http://127.0.0.1:<port>`. */
  url: string
  requests: ScriptedRequest[]
  /** The only request received (throws when there was not exactly one). */
  only(): ScriptedRequest
  reset(): void
  close(): Promise<void>
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}

async function answer(response: ServerResponse, reply: ScriptedReply): Promise<void> {
  if (reply.events) {
    response.writeHead(reply.status ?? 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...reply.headers })
    for (const event of reply.events) {
      response.write(event)
      await new Promise((resolve) => setImmediate(resolve))
    }
    response.end()
    return
  }
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {})
  response.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers })
  response.end(text)
}

export async function startScriptedUpstream(route: (request: ScriptedRequest) => ScriptedReply | undefined): Promise<ScriptedUpstream> {
  const requests: ScriptedRequest[] = []
  const server = createServer((request, response) => {
    void (async () => {
      const rawBody = await readBody(request)
      let json: unknown
      try {
        json = rawBody ? JSON.parse(rawBody) : undefined
      } catch {
        json = undefined
      }
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
      const recorded: ScriptedRequest = { method: request.method ?? 'GET', path: (request.url ?? '/').split('?')[0]!, headers, rawBody, json }
      requests.push(recorded)
      const reply = route(recorded) ?? { status: 404, body: { error: { message: `no scripted answer for ${recorded.method} ${recorded.path}` } } }
      await answer(response, reply)
    })().catch((error: unknown) => {
      response.destroy(error as Error)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    only() {
      if (requests.length !== 1) throw new Error(`expected exactly one upstream request, got ${requests.length}: ${requests.map((request) => request.path).join(', ')}`)
      return requests[0]!
    },
    reset() {
      requests.length = 0
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
