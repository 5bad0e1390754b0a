import type { Readable } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib'
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici'

/**
 * The gateway's upstream transport on Node: a `fetch` built on an undici connection pool
 * (`Dispatcher.dispatch`) instead of Node's global `fetch`. Same interface as far as the
 * gateway uses it, a fraction of the CPU per request (no WHATWG Request object, no fetch
 * controller, no request-body stream; a response body read whole never becomes a web stream).
 *
 * What it does, and how it differs from the global `fetch`:
 * - `string` / `URL` / `Request` input; `method`, `headers` (record, `Headers`, pairs), `body`
 *   (string, bytes, `ArrayBuffer`, `Blob`, `URLSearchParams`, a `ReadableStream` sent chunked),
 *   `signal`. A `FormData` body, a non-http(s) URL or `redirect: 'follow'` goes through undici's
 *   own `fetch` on the same pool (same semantics as the global fetch for those rare calls).
 * - **Redirects are not followed** (unless `redirect: 'follow'` is asked for): the 3xx is the
 *   answer. The gateway calls configured upstreams only, never where a redirect points.
 * - Aborting `signal` (or cancelling the response body) destroys the upstream socket at once;
 *   the promise or the body then fails with the signal's reason, as with fetch.
 * - A connection failure rejects with `TypeError('fetch failed', { cause })`; a body that breaks
 *   off fails with `TypeError('terminated', { cause })`, as with fetch.
 * - No `accept-encoding` is added (upstreams answer uncompressed); a body that arrives
 *   compressed anyway (`gzip`, `deflate`, `br`) is decoded, as fetch does.
 * - No headers/body timeouts of its own: the gateway's request and stream-idle timeouts apply.
 * - 1xx informational answers are skipped; 204/205/304 and HEAD answers have a null body.
 */
export interface NodeTransport {
  fetch: typeof fetch
  /** Closes the pooled connections (on shutdown). */
  close(): Promise<void>
}

export interface NodeTransportOptions {
  /** The undici dispatcher to send through (a `ProxyAgent` for `proxy_config`); default: a new pooled `Agent`. */
  dispatcher?: Dispatcher
}

/** Builds the pooled undici transport; `close()` closes the dispatcher it made or was given. */
export function createNodeTransport(options: NodeTransportOptions = {}): NodeTransport {
  // The gateway times requests itself (request timeout, stream idle timeout): no second, hidden limit.
  const dispatcher = options.dispatcher ?? new Agent({ headersTimeout: 0, bodyTimeout: 0 })
  return {
    fetch: ((input: string | URL | Request, init?: RequestInit) => send(dispatcher, input, init ?? {})) as typeof fetch,
    close: () => dispatcher.close(),
  }
}

/** Methods fetch normalises to upper case (others are sent as written). */
const NORMALISED_METHODS: Record<string, string> = { delete: 'DELETE', get: 'GET', head: 'HEAD', options: 'OPTIONS', post: 'POST', put: 'PUT', patch: 'PATCH' }
const NULL_BODY_STATUS = new Set([101, 204, 205, 304])
/** Bytes of response body held for a reader that has not asked yet before the socket is paused. */
const HIGH_WATER_BYTES = 64 * 1024
const utf8 = new TextDecoder()

type Init = RequestInit & { dispatcher?: Dispatcher }

function send(dispatcher: Dispatcher, input: string | URL | Request, init: Init): Promise<Response> {
  let url: string
  if (typeof input === 'string') url = input
  else if (input instanceof URL) url = input.href
  else return fromRequest(dispatcher, input, init)

  const signal = init.signal ?? undefined
  if (signal?.aborted) return Promise.reject(signal.reason)
  if (init.redirect === 'follow' || (init.body != null && typeof init.body === 'object' && init.body instanceof FormData)) {
    return undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>
  }
  let origin: string
  let path: string
  const scheme = url.startsWith('https://') ? 8 : url.startsWith('http://') ? 7 : 0
  if (scheme === 0) {
    try {
      new URL(url)
    } catch (error) {
      return Promise.reject(new TypeError(`Failed to parse URL from ${url}`, { cause: error }))
    }
    // data:, blob: ... are not the gateway's business, but fetch can serve them.
    return undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>
  }
  const slash = url.indexOf('/', scheme)
  const end = slash === -1 ? url.length : slash
  // A fragment is never sent; anything unusual in the authority goes through URL parsing.
  if (url.includes('#') || url.includes('@', scheme) && url.indexOf('@', scheme) < end) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch (error) {
      return Promise.reject(new TypeError(`Failed to parse URL from ${url}`, { cause: error }))
    }
    origin = parsed.origin
    path = `${parsed.pathname}${parsed.search}`
  } else {
    origin = url.slice(0, end)
    path = slash === -1 ? '/' : url.slice(slash)
  }

  const rawMethod = init.method ?? 'GET'
  const method = NORMALISED_METHODS[rawMethod.toLowerCase()] ?? rawMethod
  const headers = headerList(init.headers)
  let body: string | Uint8Array | Blob | AsyncIterable<Uint8Array> | null = null
  const given = init.body
  if (given != null) {
    if (method === 'GET' || method === 'HEAD') return Promise.reject(new TypeError('Request with GET/HEAD method cannot have body.'))
    if (typeof given === 'string') {
      body = given
      defaultContentType(headers, 'text/plain;charset=UTF-8')
    } else if (given instanceof Uint8Array) body = given
    else if (given instanceof ArrayBuffer) body = new Uint8Array(given)
    else if (ArrayBuffer.isView(given)) body = new Uint8Array(given.buffer, given.byteOffset, given.byteLength)
    else if (given instanceof URLSearchParams) {
      body = given.toString()
      defaultContentType(headers, 'application/x-www-form-urlencoded;charset=UTF-8')
    } else if (given instanceof Blob) {
      body = given
      if (given.type) defaultContentType(headers, given.type)
    } else if (given instanceof ReadableStream) {
      if (given.locked) return Promise.reject(new TypeError('Response body object should not be disturbed or locked'))
      body = given as AsyncIterable<Uint8Array>
    } else return Promise.reject(new TypeError('unsupported request body type'))
  }
  return new Promise<Response>((resolve, reject) => {
    const call = new UpstreamCall(url, method, signal, resolve, reject)
    dispatcher.dispatch({ origin, path, method: method as Dispatcher.HttpMethod, headers, body: body as Dispatcher.DispatchOptions['body'] }, call)
  })
}

/** A `Request` object as input: its parts, with `init` on top. */
async function fromRequest(dispatcher: Dispatcher, request: Request, init: Init): Promise<Response> {
  const headers = new Headers(request.headers)
  if (init.headers) for (const [name, value] of new Headers(init.headers)) headers.set(name, value)
  const body = init.body !== undefined ? init.body : request.body
  return send(dispatcher, request.url, { ...init, method: init.method ?? request.method, headers, body, signal: init.signal ?? request.signal, redirect: init.redirect ?? request.redirect })
}

/** Request headers as undici's flat `[name, value, ...]` list (a fresh array: never the caller's object). */
function headerList(headers: HeadersInit | undefined): string[] {
  const out: string[] = []
  if (!headers) return out
  if (Array.isArray(headers)) {
    for (const pair of headers) out.push(String(pair[0]), String(pair[1]))
  } else if (headers instanceof Headers) {
    for (const [name, value] of headers) out.push(name, value)
  } else {
    const record = headers as Record<string, string>
    for (const name in record) {
      const value = record[name]
      if (value !== undefined) out.push(name, String(value))
    }
  }
  return out
}

function defaultContentType(headers: string[], type: string): void {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.length === 12 && headers[i]!.toLowerCase() === 'content-type') return
  headers.push('content-type', type)
}

/**
 * One request in flight: undici's dispatch handler. Resolves the fetch promise once the final
 * status and headers arrived; feeds the body to a {@link BodyChannel} after that.
 */
class UpstreamCall implements Dispatcher.DispatchHandlers {
  private abortRequest: ((error?: Error) => void) | undefined
  private channel: BodyChannel | undefined
  private decoder: Gunzip | undefined
  private settled = false
  /** undici is done with the request (completed or failed): its abort must not be called any more. */
  private completed = false
  private readonly onAbort: (() => void) | undefined

  constructor(
    private readonly url: string,
    private readonly method: string,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (response: Response) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    if (signal) {
      this.onAbort = () => this.abort(signal.reason)
      signal.addEventListener('abort', this.onAbort, { once: true })
    }
  }

  /** Stops the request now: the socket is destroyed, the promise or the body fails with `reason`. */
  abort(reason: unknown): void {
    if (this.completed) return
    this.fail(reason, true)
    // undici reports the abort through onError, which finds the call failed already.
    this.abortRequest?.(reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError'))
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortRequest = abort
    if (this.settled && !this.channel) abort(new DOMException('This operation was aborted', 'AbortError'))
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true // 1xx informational: the final answer follows
    const headers = new Headers()
    let encoding: string | undefined
    if (rawHeaders) {
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!.toString()
        const value = rawHeaders[i + 1]!.toString('latin1')
        headers.append(name, value)
        if (name.length === 16 && name.toLowerCase() === 'content-encoding') encoding = value
      }
    }
    const bodyless = NULL_BODY_STATUS.has(statusCode) || this.method === 'HEAD' || this.method === 'CONNECT'
    const channel = bodyless ? undefined : new BodyChannel(resume, (reason) => this.abort(reason))
    let response: Response
    try {
      response = new UpstreamResponse(channel ?? null, statusCode, statusText, headers, this.url)
    } catch {
      try {
        // A reason phrase the Response constructor refuses is dropped (fetch does not check it).
        response = new UpstreamResponse(channel ?? null, statusCode, '', headers, this.url)
      } catch (error) {
        // A status fetch cannot represent (above 599): a network error, as fetch reports it.
        this.abort(new TypeError('fetch failed', { cause: error }))
        return false
      }
    }
    this.channel = channel
    if (channel && encoding) this.decoder = decoderFor(encoding, channel, resume)
    this.settled = true
    this.resolve(response)
    return true
  }

  onData(chunk: Buffer): boolean {
    if (this.decoder) return this.decoder.write(chunk)
    return this.channel ? this.channel.push(chunk) : true
  }

  onComplete(): void {
    this.completed = true
    this.cleanup()
    if (this.decoder) this.decoder.end()
    else this.channel?.end()
  }

  onError(error: Error): void {
    this.completed = true
    this.fail(error, false)
  }

  private fail(reason: unknown, aborted: boolean): void {
    this.cleanup()
    if (!this.settled) {
      this.settled = true
      this.reject(aborted ? reason : new TypeError('fetch failed', { cause: reason }))
      return
    }
    if (!this.channel || this.channel.finished) return
    this.decoder?.destroy()
    this.channel.fail(aborted ? reason : new TypeError('terminated', { cause: reason }))
  }

  private cleanup(): void {
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort)
  }
}

/** `content-encoding` decoders, outermost coding last in the header and undone first. */
function decoderFor(encoding: string, channel: BodyChannel, resume: () => void): Gunzip | undefined {
  const codings = encoding.toLowerCase().split(',').map((coding) => coding.trim()).filter((coding) => coding !== '' && coding !== 'identity')
  if (codings.length === 0) return undefined
  const stages: Gunzip[] = []
  for (const coding of codings.reverse()) {
    if (coding === 'gzip' || coding === 'x-gzip') stages.push(createGunzip())
    else if (coding === 'deflate') stages.push(createInflate())
    else if (coding === 'br') stages.push(createBrotliDecompress() as unknown as Gunzip)
    else return undefined // an unknown coding: the bytes go through as they came, as fetch does
  }
  for (let i = 0; i < stages.length - 1; i++) stages[i]!.pipe(stages[i + 1]!)
  const first = stages[0]!
  const last = stages[stages.length - 1]! as Readable
  first.on('drain', resume)
  last.on('data', (chunk: Buffer) => {
    if (!channel.push(chunk)) last.pause()
  })
  channel.onDemand = () => last.resume()
  last.on('end', () => channel.end())
  for (const stage of stages) stage.on('error', (error) => channel.fail(new TypeError('terminated', { cause: error })))
  return first
}

/** Cancels the upstream read of a response that was dropped unread while its socket was paused. */
const unread = new FinalizationRegistry<BodyChannel>((channel) => channel.cancel(new DOMException('the response was dropped unread', 'AbortError')))

/**
 * A response body between undici and its reader. Chunks are queued until read (the socket
 * pauses once {@link HIGH_WATER_BYTES} wait unread); `collect()` gathers them for
 * `arrayBuffer()`/`text()`/`json()` without any web stream, `stream()` hands them to a
 * `ReadableStream` as it reads, one read at a time.
 */
class BodyChannel {
  private chunks: Uint8Array[] = []
  private bytes = 0
  private done = false
  private failure: { reason: unknown } | undefined
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined
  /** The stream's reader waits for a chunk: the next one goes straight to it. */
  private waiting = false
  private collecting: { resolve: (bytes: Uint8Array) => void; reject: (reason: unknown) => void } | undefined
  private paused = false
  /** A reader has read (or is reading) the body. */
  disturbed = false
  /** Set by a decoder: demand resumes it rather than the socket. */
  onDemand: (() => void) | undefined
  /** The response, weakly: registered for cleanup only once its socket waits for a reader. */
  owner: WeakRef<object> | undefined

  constructor(
    private readonly resume: () => void,
    readonly cancel: (reason: unknown) => void,
  ) {}

  /** The body ended or failed. */
  get finished(): boolean {
    return this.done || this.failure !== undefined
  }

  /** One chunk from upstream; false asks the producer to pause. */
  push(chunk: Uint8Array): boolean {
    if (this.waiting) {
      this.waiting = false
      this.controller!.enqueue(chunk)
      return true
    }
    this.chunks.push(chunk)
    this.bytes += chunk.byteLength
    if (this.collecting || this.bytes < HIGH_WATER_BYTES) return true
    if (!this.controller) {
      const owner = this.owner?.deref()
      if (owner) {
        unread.register(owner, this, this)
        this.owner = undefined
      }
    }
    this.paused = true
    return false
  }

  end(): void {
    if (this.finished) return
    this.done = true
    unread.unregister(this)
    if (this.waiting) {
      this.waiting = false
      this.controller!.close()
    } else if (this.collecting) this.collecting.resolve(this.take())
  }

  fail(reason: unknown): void {
    if (this.finished) return
    this.failure = { reason }
    unread.unregister(this)
    this.chunks = []
    this.bytes = 0
    if (this.controller) this.controller.error(reason)
    else if (this.collecting) this.collecting.reject(reason)
  }

  private demand(): void {
    if (!this.paused) return
    this.paused = false
    if (this.onDemand) this.onDemand()
    else this.resume()
  }

  private take(): Uint8Array {
    const { chunks } = this
    this.chunks = []
    if (chunks.length === 1) return chunks[0]!
    const out = new Uint8Array(this.bytes)
    let at = 0
    for (const chunk of chunks) {
      out.set(chunk, at)
      at += chunk.byteLength
    }
    this.bytes = 0
    return out
  }

  /** The whole body as bytes. */
  collect(): Promise<Uint8Array> {
    if (this.disturbed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'))
    this.disturbed = true
    if (this.failure) return Promise.reject(this.failure.reason)
    if (this.done) return Promise.resolve(this.take())
    return new Promise((resolve, reject) => {
      this.collecting = { resolve, reject }
      this.demand()
    })
  }

  /** The body as a web stream (made once, on first use); chunks keep their boundaries. */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
          if (this.failure) controller.error(this.failure.reason)
        },
        // highWaterMark 0: called once per read, never ahead of one.
        pull: (controller) => {
          this.disturbed = true
          if (this.chunks.length > 0) {
            for (const chunk of this.chunks) controller.enqueue(chunk)
            this.chunks = []
            this.bytes = 0
            if (this.done) controller.close()
            else this.demand()
            return
          }
          if (this.done) return controller.close()
          this.waiting = true
          this.demand()
        },
        cancel: (reason) => {
          this.disturbed = true
          this.waiting = false
          if (!this.finished) this.cancel(reason ?? new DOMException('This operation was aborted', 'AbortError'))
        },
      },
      { highWaterMark: 0 },
    )
  }
}

/**
 * A fetch `Response` whose body stays with undici until read: `arrayBuffer()`, `text()`,
 * `json()` and `bytes()` take the bytes straight from the socket; `body` makes the web stream on
 * first access. Everything else (status, headers, `ok` ...) is the platform's own `Response`.
 */
class UpstreamResponse extends Response {
  readonly #channel: BodyChannel | null
  readonly #url: string
  #stream: ReadableStream<Uint8Array> | undefined

  constructor(channel: BodyChannel | null, status: number, statusText: string, headers: Headers, url: string) {
    super(null, { status, statusText, headers })
    this.#channel = channel
    this.#url = url
    if (channel) channel.owner = new WeakRef(this)
  }

  #bytes(): Promise<Uint8Array> {
    if (!this.#channel) return Promise.resolve(new Uint8Array(0))
    if (this.#stream) return new Response(this.#stream).arrayBuffer().then((buffer) => new Uint8Array(buffer))
    return this.#channel.collect()
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.#bytes()
    if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer
    // A view into a socket read (a Buffer, whose slice() is no copy): copy out exactly its bytes.
    const copy = new Uint8Array(bytes.byteLength)
    copy.set(bytes)
    return copy.buffer
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await this.arrayBuffer())
  }

  override async text(): Promise<string> {
    return utf8.decode(await this.#bytes())
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }

  override async blob(): Promise<Blob> {
    return new Blob([await this.arrayBuffer()], { type: this.headers.get('content-type') ?? '' })
  }

  override formData(): Promise<FormData> {
    return new Response(this.body, { headers: this.headers }).formData()
  }

  override clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.')
    const body = this.body
    if (!body) return new UpstreamResponse(null, this.status, this.statusText, this.headers, this.#url)
    const [mine, theirs] = body.tee()
    this.#stream = mine
    const copy = new Response(theirs, { status: this.status, statusText: this.statusText, headers: this.headers })
    Object.defineProperty(copy, 'url', { value: this.#url })
    return copy
  }

  static {
    // Accessors over the platform's (declared as plain properties in the DOM typings).
    Object.defineProperties(UpstreamResponse.prototype, {
      body: {
        get(this: UpstreamResponse) {
          if (!this.#channel) return null
          return (this.#stream ??= this.#channel.stream())
        },
      },
      bodyUsed: {
        get(this: UpstreamResponse) {
          if (!this.#channel) return false
          return this.#channel.disturbed
        },
      },
      url: {
        get(this: UpstreamResponse) {
          return this.#url
        },
      },
    })
  }
}

/**
 * The transport the Node runtime hands the core: the pooled undici transport, or `undefined`
 * (the global `fetch`) when `SWITCHYARD_UPSTREAM_TRANSPORT=fetch` asks for it — a way back
 * should a deployment meet a difference between the two, and the bench's "before" row.
 */
export function transportFromEnv(env: Readonly<Record<string, string | undefined>>): NodeTransport | undefined {
  const choice = env.SWITCHYARD_UPSTREAM_TRANSPORT
  if (choice === 'fetch') return undefined
  if (choice !== undefined && choice !== '' && choice !== 'undici') throw new Error(`SWITCHYARD_UPSTREAM_TRANSPORT must be "undici" (the default) or "fetch", got "${choice}"`)
  return createNodeTransport()
}
