import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { anthropicAnswer, DEFAULT_CHUNKS, errorBody, JSON_TYPE, openAIAnswer, pieces, SSE_TYPE, type Dialect } from './fault-wire.js'

/**
 * A controllable upstream for fault-injection tests. It speaks just enough of two dialects:
 * OpenAI (`POST /v1/chat/completions`) and Anthropic (`POST /v1/messages`), and every other path
 * answers 404 in the dialect of its prefix. Unlike the fixture-replaying mocks, every answer here is
 * synthesized, because the point is the failure, not the payload.
 *
 * What each request gets is scripted: `script(match, ...faults)` queues faults for requests that
 * match (by path, model and/or key); `always(match, fault)` sets a standing answer. A request takes
 * the first queued fault whose match fits, else the first standing rule that fits, else `ok`.
 *
 * Every request is recorded (time, key, path, model, what the client did, whether its socket
 * closed), and `openSockets()` counts the TCP connections still open, so a test can prove that the
 * gateway closed its upstream socket after an abort or a timeout.
 *
 * Keep-alive: the server advertises `Keep-Alive: timeout=1`, which Node's fetch (undici, 2 s safety
 * threshold) takes as "do not reuse", so a connection closes as soon as its answer is complete. An
 * open socket after a test is then a request still in flight, not a pooled connection. (Bun's
 * fetch ignores the hint; its idle connections are closed by the server after about 2 s.)
 */

export type { Dialect } from './fault-wire.js'

export type Fault =
  /** A valid answer: chat.completion / message, or a stream of `chunks` text deltas with usage. */
  | { kind: 'ok'; chunks?: number; text?: string; delayMs?: number; chunkDelayMs?: number; gate?: Promise<unknown>; headers?: Record<string, string> }
  /** Reads the request, then destroys the socket without answering. */
  | { kind: 'refuse' }
  /** An error status with a body in the dialect's error shape (or `body`), and `retry-after` if given. */
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown; headers?: Record<string, string> }
  /** Reads the request and never answers; the client's abort is recorded. */
  | { kind: 'hang-before-headers' }
  /** Sends the headers and the first `after` stream events (or part of a JSON body), then stalls. */
  | { kind: 'hang-mid-stream'; after: number }
  /** Sends the headers and the first `after` stream events (or part of a JSON body), then destroys the socket. */
  | { kind: 'reset-mid-stream'; after: number }
  /** 200 with a JSON content type and a truncated JSON body. */
  | { kind: 'malformed-json' }
  /** A stream whose event number `after` (0-based) is a `data:` line that is not JSON; the rest is valid. */
  | { kind: 'malformed-sse'; after: number }

export type FaultKind = Fault['kind']

/** Shorthands for faults. */
export const fault = {
  ok: (options: Omit<Extract<Fault, { kind: 'ok' }>, 'kind'> = {}): Fault => ({ kind: 'ok', ...options }),
  refuse: (): Fault => ({ kind: 'refuse' }),
  status: (status: number, options: Omit<Extract<Fault, { kind: 'status' }>, 'kind' | 'status'> = {}): Fault => ({ kind: 'status', status, ...options }),
  hangBeforeHeaders: (): Fault => ({ kind: 'hang-before-headers' }),
  hangMidStream: (after = 2): Fault => ({ kind: 'hang-mid-stream', after }),
  resetMidStream: (after = 2): Fault => ({ kind: 'reset-mid-stream', after }),
  malformedJson: (): Fault => ({ kind: 'malformed-json' }),
  malformedSse: (after = 1): Fault => ({ kind: 'malformed-sse', after }),
} as const

/** Which requests a script applies to; every field given must match (an empty match takes all). */
export interface FaultMatch {
  /** Exact path, e.g. `/v1/chat/completions`. */
  path?: string
  /** The body's `model`. */
  model?: string
  /** The key the request carried (`Authorization: Bearer <key>` or `x-api-key`). */
  key?: string
}

export interface FaultRequest {
  /** 1-based order of arrival. */
  seq: number
  /** Arrival, in ms since the upstream started (`performance.now()` clock). */
  at: number
  method: string
  path: string
  dialect: Dialect
  /** Lower-case header names. */
  headers: Record<string, string>
  rawBody: string
  json: any
  model: string | undefined
  stream: boolean
  /** The key from `Authorization: Bearer` or `x-api-key`. */
  key: string | undefined
  /** The fault that answered. */
  fault: FaultKind
  /** The client went away before the answer was complete (not counting resets the fault itself made). */
  aborted: boolean
  /** When the client went away (ms, same clock as `at`). */
  abortedAt: number | undefined
  /** The answer was written to the end. */
  finished: boolean
  /** The TCP connection that carried this request has closed. */
  socketClosed: boolean
  socketClosedAt: number | undefined
}

export interface FaultUpstream {
  /** Name given at start; it appears in every `ok` answer's text. */
  readonly name: string
  /** `http://127.0.0.1:<port>` (the API root is `${url}/v1`). */
  readonly url: string
  readonly requests: readonly FaultRequest[]
  /** Queues faults for the matching requests, one per request, in order. */
  script(match: FaultMatch, ...faults: Fault[]): void
  /** Answers every matching request with `fault` (after any queued script). */
  always(match: FaultMatch, fault: Fault): void
  /** Requests that carried `key`. */
  requestsWithKey(key: string): FaultRequest[]
  /**
   * TCP connections still open that carried at least one request. (Node's fetch may open a spare
   * connection right after an abort and never use it; that one is not counted.)
   */
  openSockets(): number
  /** Requests whose answer is neither complete nor abandoned. */
  inFlight(): number
  /** The highest `inFlight()` seen since the last reset. */
  maxInFlight(): number
  /**
   * Polls until no socket is open (default 3.5 s: a client that keeps connections alive despite
   * the hint, as Bun's fetch does, sees them closed by the server after about 2 s idle); returns
   * the count left.
   */
  waitForNoOpenSockets(timeoutMs?: number): Promise<number>
  /** Polls until `count` requests have arrived (default 2 s); throws when they do not. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>
  /** The text an `ok` answer of this upstream carries for `chunks` deltas. */
  textOf(chunks?: number): string
  /** Clears recordings, scripts and standing rules. */
  reset(): void
  close(): Promise<void>
}

export { DEFAULT_CHUNKS, errorBody, INPUT_TOKENS } from './fault-wire.js'

/** A promise the test resolves, to hold `ok` answers (`fault.ok({ gate: gate.promise })`). */
export function createGate(): { promise: Promise<void>; open(): void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

// ---- Server ----------------------------------------------------------------------------------

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
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  return out
}

function keyOf(headers: Record<string, string>): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1]
  return bearer ?? headers['x-api-key']
}

const matches = (match: FaultMatch, request: FaultRequest) =>
  (match.path === undefined || match.path === request.path) && (match.model === undefined || match.model === request.model) && (match.key === undefined || match.key === request.key)

/** Starts a fault upstream on 127.0.0.1 with an ephemeral port. */
export async function startFaultUpstream(name = 'upstream'): Promise<FaultUpstream> {
  const started = performance.now()
  const now = () => performance.now() - started
  const requests: FaultRequest[] = []
  let scripts: Array<{ match: FaultMatch; queue: Fault[] }> = []
  let rules: Array<{ match: FaultMatch; fault: Fault }> = []
  const sockets = new Set<Socket>()
  /** Sockets that carried a request. */
  const used = new WeakSet<Socket>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let inFlight = 0
  let maxInFlight = 0
  let closed = false

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })

  const pick = (request: FaultRequest): Fault => {
    for (const script of scripts) if (script.queue.length > 0 && matches(script.match, request)) return script.queue.shift()!
    for (const rule of rules) if (matches(rule.match, request)) return rule.fault
    return { kind: 'ok' }
  }

  async function answer(request: FaultRequest, chosen: Fault, response: ServerResponse, socket: Socket): Promise<void> {
    const { dialect } = request
    const id = `${dialect === 'anthropic' ? 'msg' : 'chatcmpl'}_${name}_${request.seq}`
    const model = request.model ?? 'unknown-model'
    const known = dialect === 'anthropic' ? request.path === '/v1/messages' : request.path === '/v1/chat/completions'
    if (chosen.kind !== 'refuse' && chosen.kind !== 'hang-before-headers' && chosen.kind !== 'status' && !known) {
      response.writeHead(404, JSON_TYPE).end(errorBody(dialect, 404, `fault upstream has no route ${request.method} ${request.path}`))
      return
    }
    const build = (chunks: number, text?: string) => {
      const texts = text !== undefined ? [text] : pieces(name, chunks)
      return dialect === 'anthropic' ? anthropicAnswer(id, model, texts) : openAIAnswer(id, model, texts, request.json?.stream_options?.include_usage === true)
    }
    const writeEvents = async (events: string[], delayMs: number) => {
      for (const event of events) {
        if (response.destroyed) return
        response.write(event)
        // One event per write, each on its own turn, so the client sees separate chunks.
        await (delayMs > 0 ? sleep(delayMs) : new Promise((resolve) => setImmediate(resolve)))
      }
    }
    switch (chosen.kind) {
      case 'ok': {
        if (chosen.gate) await chosen.gate
        if (chosen.delayMs) await sleep(chosen.delayMs)
        if (response.destroyed) return
        const built = build(chosen.chunks ?? DEFAULT_CHUNKS, chosen.text)
        if (!request.stream) {
          response.writeHead(200, { ...JSON_TYPE, ...chosen.headers }).end(built.json)
          return
        }
        response.writeHead(200, { ...SSE_TYPE, ...chosen.headers })
        response.flushHeaders()
        await writeEvents(built.events, chosen.chunkDelayMs ?? 0)
        response.end()
        return
      }
      case 'refuse':
        socket.destroy()
        return
      case 'status': {
        const body = chosen.body === undefined ? errorBody(dialect, chosen.status) : typeof chosen.body === 'string' ? chosen.body : JSON.stringify(chosen.body)
        response.writeHead(chosen.status, { ...JSON_TYPE, ...(chosen.retryAfter !== undefined ? { 'retry-after': chosen.retryAfter } : {}), ...chosen.headers }).end(body)
        return
      }
      case 'hang-before-headers':
        // Nothing is written: the request stays open until the client (or close()) ends it.
        return
      case 'hang-mid-stream':
      case 'reset-mid-stream': {
        const built = build(DEFAULT_CHUNKS + chosen.after)
        if (request.stream) {
          response.writeHead(200, SSE_TYPE)
          response.flushHeaders()
          await writeEvents(built.events.slice(0, chosen.after), 0)
        } else {
          response.writeHead(200, JSON_TYPE)
          response.write(built.json.slice(0, Math.floor(built.json.length / 2)))
        }
        if (chosen.kind === 'reset-mid-stream') {
          // Let the bytes leave before the reset, so the client sees them and then the cut.
          await sleep(20)
          socket.destroy()
        }
        return
      }
      case 'malformed-json':
        response.writeHead(200, JSON_TYPE).end(build(DEFAULT_CHUNKS).json.slice(0, 40))
        return
      case 'malformed-sse': {
        const events = [...build(DEFAULT_CHUNKS).events]
        const broken = dialect === 'anthropic' ? 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n' : 'data: {"id":"broken","choices":[{"delta":{"content":"x"\n\n'
        events.splice(Math.min(chosen.after, events.length), 0, broken)
        response.writeHead(200, SSE_TYPE)
        response.flushHeaders()
        await writeEvents(events, 0)
        response.end()
        return
      }
    }
  }

  const server = createServer(async (incoming, response) => {
    const socket = incoming.socket
    used.add(socket)
    const method = (incoming.method ?? 'GET').toUpperCase()
    const path = new URL(incoming.url ?? '/', 'http://fault').pathname
    const headers = headersOf(incoming)
    const at = now()
    let rawBody = ''
    try {
      rawBody = await readBody(incoming)
    } catch {
      return
    }
    let json: any
    try {
      json = rawBody.length > 0 ? JSON.parse(rawBody) : undefined
    } catch {
      json = undefined
    }
    const record: FaultRequest = {
      seq: requests.length + 1,
      at,
      method,
      path,
      dialect: path.startsWith('/v1/messages') || headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai',
      headers,
      rawBody,
      json,
      model: typeof json?.model === 'string' ? json.model : undefined,
      stream: json?.stream === true,
      key: keyOf(headers),
      fault: 'ok',
      aborted: false,
      abortedAt: undefined,
      finished: false,
      socketClosed: socket.destroyed,
      socketClosedAt: undefined,
    }
    requests.push(record)
    const chosen = pick(record)
    record.fault = chosen.kind
    const selfReset = chosen.kind === 'refuse' || chosen.kind === 'reset-mid-stream'
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    let settled = false
    const settle = () => {
      if (settled) return
      settled = true
      inFlight--
    }
    socket.once('close', () => {
      record.socketClosed = true
      record.socketClosedAt = now()
    })
    response.once('finish', () => {
      record.finished = true
      settle()
    })
    response.once('close', () => {
      if (!response.writableFinished && !selfReset && !closed) {
        record.aborted = true
        record.abortedAt = now()
      }
      settle()
    })
    try {
      await answer(record, chosen, response, socket)
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, JSON_TYPE)
      response.end(errorBody(record.dialect, 500, `fault upstream failure: ${(error as Error).message}`))
    }
  })
  // Advertised as `Keep-Alive: timeout=1`: Node's fetch then closes each connection after its answer.
  server.keepAliveTimeout = 1_000
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  const openSockets = () => {
    let count = 0
    for (const socket of sockets) if (used.has(socket)) count++
    return count
  }
  const poll = async (done: () => boolean, timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs
    while (!done() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    return done()
  }

  return {
    name,
    url: `http://127.0.0.1:${port}`,
    requests,
    script(match, ...faults) {
      const existing = scripts.find((script) => JSON.stringify(script.match) === JSON.stringify(match))
      if (existing) existing.queue.push(...faults)
      else scripts.push({ match, queue: [...faults] })
    },
    always(match, chosen) {
      rules.push({ match, fault: chosen })
    },
    requestsWithKey: (key) => requests.filter((request) => request.key === key),
    openSockets,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    async waitForNoOpenSockets(timeoutMs = 3_500) {
      await poll(() => openSockets() === 0, timeoutMs)
      return openSockets()
    },
    async waitForRequests(count, timeoutMs = 2_000) {
      if (!(await poll(() => requests.length >= count, timeoutMs))) throw new Error(`[${name}] expected ${count} requests within ${timeoutMs} ms, got ${requests.length}`)
    },
    textOf: (chunks = DEFAULT_CHUNKS) => pieces(name, chunks).join(''),
    reset() {
      requests.length = 0
      scripts = []
      rules = []
      maxInFlight = inFlight
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        closed = true
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        for (const socket of sockets) socket.destroy()
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
