import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The HTTP plumbing of the mock upstreams: read a request, answer with a whole body or with SSE
 * events written one per write, listen on an ephemeral local port, close. (mock-openai and
 * mock-anthropic still carry their own copies of these.)
 */

/** An answer: a whole body, or SSE events written one per write. */
export interface MockReply {
  status: number
  headers: Record<string, string>
  body: string | string[]
  /** Pause between two events (ms). */
  eventDelayMs?: number
}

/** A scripted answer a test queues instead of the replayed one (`setNext`). */
export interface NextMockResponse {
  status: number
  /** String bodies are sent as-is; anything else as JSON. */
  body?: unknown
  /** SSE events written one per write instead of `body` (content-type defaults to text/event-stream). */
  events?: string[]
  /** Pause between two events (ms). */
  eventDelayMs?: number
  headers?: Record<string, string>
}

/** A running mock upstream. */
export interface MockUpstream<Recorded> {
  /** `http://127.0.0.1:<port>`. */
  url: string
  /** Every request received, in order. */
  requests: Recorded[]
  /** Answers the next request with this response instead of a recording (queued, one per call). */
  setNext(response: NextMockResponse): void
  /** Clears recorded requests and queued responses. */
  reset(): void
  close(): Promise<void>
}

/** The request body as UTF-8 text, exactly as received. */
export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}

/** Lower-case header names, values as received (repeated headers joined with ', '). */
export function headersOf(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

const pause = (ms: number) => new Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)))

/** Writes `reply`; events go one per write, each on its own turn so the transport sees separate chunks. */
export async function sendReply(response: ServerResponse, reply: MockReply): Promise<void> {
  response.writeHead(reply.status, reply.headers)
  if (typeof reply.body === 'string') {
    response.end(reply.body)
    return
  }
  response.flushHeaders()
  for (const event of reply.body) {
    if (response.destroyed) return
    response.write(event)
    await pause(reply.eventDelayMs ?? 0)
  }
  response.end()
}

/** Listens on 127.0.0.1 with an ephemeral port; resolves `http://127.0.0.1:<port>`. */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Closes `server`, cutting the connections still open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.closeAllConnections()
    server.close((error) => (error ? reject(error) : resolve()))
  })
}

/** Hop-by-hop and framing headers never relayed. */
const NOT_RELAYED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'content-encoding', 'keep-alive'])

/**
 * Relays `request` (its body already read: `body`) to the same path and query at `target`, and
 * writes the answer back, framing headers left out; `rewrite` may change an answer header's value.
 * For mocks that put one API in front of another mock (a batch API before its files API).
 */
export async function relayRequest(target: string, request: IncomingMessage, response: ServerResponse, body: Uint8Array | undefined, rewrite: (name: string, value: string) => string = (_, value) => value): Promise<void> {
  const headers = new Headers()
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined && !NOT_RELAYED.has(name)) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
  const answer = await fetch(`${target}${request.url ?? '/'}`, { method: request.method, headers, body: body && body.length > 0 ? new Uint8Array(body) : undefined })
  const relayed: Record<string, string> = {}
  answer.headers.forEach((value, name) => {
    if (!NOT_RELAYED.has(name)) relayed[name] = rewrite(name, value)
  })
  response.writeHead(answer.status, relayed)
  response.end(Buffer.from(await answer.arrayBuffer()))
}
