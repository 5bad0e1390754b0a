import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * Cheaper requests for `@hono/node-server`. Its lightweight request object turns into a full
 * WHATWG `Request` (a `Headers` copy, the body wrapped in two web streams, an AbortController)
 * the moment the body or the signal is touched — and the gateway touches both on every call.
 * This wrapper gives the request object, for requests that carry a body:
 *
 * - `text()`, `json()`, `arrayBuffer()`, `bytes()`: read straight from the `IncomingMessage`
 *   (one Buffer, no web stream);
 * - `signal`: its own AbortController, aborted when the client goes away before the answer
 *   finished (or the request errored) — as `@hono/node-server` does for its own;
 * - everything else (`body`, `formData()`, `blob()`, `clone()` ...) as before, from the full
 *   Request, built on first use. A body is read one way only: a second read fails as a
 *   consumed fetch body does.
 *
 * It needs `@hono/node-server`'s `env.incoming`/`env.outgoing` (the second handler argument);
 * without them the request passes through untouched.
 */
export function withFastBodies<T>(handler: (request: Request) => T): (request: Request, env: unknown) => T {
  return (request, env) => {
    const { incoming, outgoing } = (env ?? {}) as { incoming?: IncomingMessage; outgoing?: ServerResponse }
    if (incoming && outgoing && incoming.method !== 'GET' && incoming.method !== 'HEAD') {
      const fast = request as FastRequest
      fast[INCOMING] = incoming
      fast[OUTGOING] = outgoing
      Object.setPrototypeOf(fast, prototypeFor(Object.getPrototypeOf(request) as object))
    }
    return handler(request)
  }
}

const INCOMING = Symbol('incoming')
const OUTGOING = Symbol('outgoing')
const STATE = Symbol('body state')
const CONTROLLER = Symbol('abort controller')

interface FastRequest extends Request {
  [INCOMING]: IncomingMessage
  [OUTGOING]: ServerResponse
  /** `read`: the fast path took the body; `stream`: the full Request's body did. */
  [STATE]?: 'read' | 'stream'
  [CONTROLLER]?: AbortController
}

const utf8 = new TextDecoder()

function readIncoming(request: FastRequest): Promise<Buffer> {
  if (request[STATE]) return Promise.reject(new TypeError('Body is unusable: Body has already been read'))
  request[STATE] = 'read'
  const incoming = request[INCOMING]
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      length += chunk.length
    }
    const onEnd = () => {
      done()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length))
    }
    const onError = (error: Error) => {
      done()
      reject(error)
    }
    const onClose = () => {
      // Closed before the body ended: the client went away mid-upload.
      if (!incoming.complete) onError(new Error('the client closed the connection before the request body ended'))
    }
    const done = () => {
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
      incoming.off('close', onClose)
    }
    if (incoming.readableEnded) return resolve(Buffer.alloc(0))
    incoming.on('data', onData)
    incoming.on('end', onEnd)
    incoming.on('error', onError)
    incoming.on('close', onClose)
  })
}

/** An ArrayBuffer holding exactly `bytes` (a Buffer may be a slice of a shared pool). */
function exactBuffer(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy.buffer
}

const prototypes = new WeakMap<object, object>()

/** The fast prototype over `base` (the adapter's request prototype), made once per base. */
function prototypeFor(base: object): object {
  let made = prototypes.get(base)
  if (made) return made
  const lookup = (name: string) => {
    for (let at: object | null = base; at; at = Object.getPrototypeOf(at) as object | null) {
      const found = Object.getOwnPropertyDescriptor(at, name)
      if (found) return found
    }
    return undefined
  }
  const baseBody = lookup('body')?.get
  const baseBodyUsed = lookup('bodyUsed')?.get
  /** A method of the full Request, for reads the fast path does not serve. */
  const delegate = (name: string) => {
    const method = lookup(name)?.value as ((this: Request) => Promise<unknown>) | undefined
    return function (this: FastRequest) {
      if (this[STATE] === 'read') return Promise.reject(new TypeError('Body is unusable: Body has already been read'))
      this[STATE] = 'stream'
      return method!.call(this)
    }
  }
  /** A fast read, unless the full Request's body stream was handed out already. */
  const fast = <R>(name: string, convert: (bytes: Buffer) => R) => {
    const slow = delegate(name)
    return function (this: FastRequest): Promise<unknown> {
      if (this[STATE] === 'stream') return slow.call(this)
      return readIncoming(this).then(convert)
    }
  }
  made = Object.create(base, {
    text: { value: fast('text', (bytes) => utf8.decode(bytes)), writable: true, configurable: true },
    json: { value: fast('json', (bytes) => JSON.parse(utf8.decode(bytes)) as unknown), writable: true, configurable: true },
    arrayBuffer: { value: fast('arrayBuffer', exactBuffer), writable: true, configurable: true },
    bytes: { value: fast('bytes', (bytes) => new Uint8Array(exactBuffer(bytes))), writable: true, configurable: true },
    blob: { value: delegate('blob'), writable: true, configurable: true },
    formData: { value: delegate('formData'), writable: true, configurable: true },
    body: {
      configurable: true,
      get(this: FastRequest) {
        if (this[STATE] === 'read') return null
        this[STATE] = 'stream'
        return baseBody?.call(this) ?? null
      },
    },
    bodyUsed: {
      configurable: true,
      get(this: FastRequest) {
        if (this[STATE] === 'read') return true
        return this[STATE] === 'stream' && baseBodyUsed ? (baseBodyUsed.call(this) as boolean) : false
      },
    },
    signal: {
      configurable: true,
      get(this: FastRequest) {
        let controller = this[CONTROLLER]
        if (!controller) {
          controller = this[CONTROLLER] = new AbortController()
          const incoming = this[INCOMING]
          const outgoing = this[OUTGOING]
          const abort = () => {
            if (incoming.errored) controller!.abort(incoming.errored.toString())
            else if (!outgoing.writableFinished) controller!.abort('Client connection prematurely closed.')
          }
          if (outgoing.closed) abort()
          else outgoing.once('close', abort)
        }
        return controller.signal
      },
    },
  })
  prototypes.set(base, made!)
  return made!
}
