import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A gate in front of a mock upstream (the fixture-replaying `mock-openai` / `mock-anthropic`), for
 * tests that need upstream calls to stay in flight while they act: killing the gateway with jobs
 * running, cancelling a running job, counting how often each job reached the upstream.
 *
 * Every request is recorded with its body; while the gate is closed, requests wait (headers not
 * sent) until `open()`. An open gate forwards each request as received to the target and relays
 * its answer, so the caller still gets recorded wire data. Requests whose client went away while
 * held are recorded as `abandoned` and never forwarded.
 */
export interface HeldRequest {
  method: string
  path: string
  /** The body as received. */
  rawBody: string
  json: any
  /** `held` while waiting at the closed gate, `forwarded` once sent on, `abandoned` when the client left first. */
  outcome: 'held' | 'forwarded' | 'abandoned'
}

export interface HeldUpstream {
  /** `http://127.0.0.1:<port>`: use `${url}/v1` as a provider's base URL. */
  url: string
  requests: HeldRequest[]
  /** Holds every request from now on until `open()`. */
  close(): void
  /** Lets held and future requests through. */
  open(): void
  /** Resolves once at least `count` requests have arrived (fails after `timeoutMs`, a hang guard). */
  arrived(count: number, timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('error', reject)
  })
}

export async function startHeldUpstream(targetUrl: string, options: { closed?: boolean } = {}): Promise<HeldUpstream> {
  const requests: HeldRequest[] = []
  let gate: { promise: Promise<void>; release: () => void } | undefined
  const closeGate = () => {
    if (gate) return
    let release!: () => void
    const promise = new Promise<void>((resolve) => (release = resolve))
    gate = { promise, release }
  }
  if (options.closed) closeGate()
  const arrivals = new Set<() => void>()

  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request)
      const rawBody = body.toString('utf8')
      let json: unknown
      try {
        json = rawBody ? JSON.parse(rawBody) : undefined
      } catch {
        json = undefined
      }
      const recorded: HeldRequest = { method: request.method ?? 'GET', path: (request.url ?? '/').split('?')[0]!, rawBody, json, outcome: 'held' }
      requests.push(recorded)
      for (const notify of arrivals) notify()
      response.once('close', () => {
        if (recorded.outcome === 'held') recorded.outcome = 'abandoned'
      })
      if (gate) await gate.promise
      if (recorded.outcome === 'abandoned' || response.destroyed) {
        recorded.outcome = 'abandoned'
        return
      }
      recorded.outcome = 'forwarded'
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(request.headers)) if (value !== undefined && name !== 'host' && name !== 'content-length') headers[name] = Array.isArray(value) ? value.join(', ') : value
      const answer = await fetch(`${targetUrl}${request.url}`, { method: request.method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined })
      const relayed: Record<string, string> = {}
      answer.headers.forEach((value, name) => {
        if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'content-encoding' && name !== 'connection') relayed[name] = value
      })
      response.writeHead(answer.status, relayed)
      response.end(Buffer.from(await answer.arrayBuffer()))
    })().catch((error: unknown) => response.destroy(error as Error))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: closeGate,
    open() {
      gate?.release()
      gate = undefined
    },
    arrived(count, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        if (requests.length >= count) return resolve()
        const timer = setTimeout(() => {
          arrivals.delete(check)
          reject(new Error(`only ${requests.length} of ${count} upstream requests arrived`))
        }, timeoutMs)
        const check = () => {
          if (requests.length < count) return
          clearTimeout(timer)
          arrivals.delete(check)
          resolve()
        }
        arrivals.add(check)
      })
    },
    stop: () =>
      new Promise<void>((resolve) => {
        gate?.release()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
