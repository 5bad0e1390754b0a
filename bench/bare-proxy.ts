/**
 * The floor for this runtime: the least a Node proxy can do per request. node:http in,
 * undici out (`request()` on a keep-alive pool), the upstream's answer written back chunk by
 * chunk as it arrives (streams included). Only the content type and the authorization travel.
 *
 * `--client fetch` uses Node's global `fetch` instead: the floor of a proxy built on fetch
 * (the previous reference, kept to show what the fetch API itself costs).
 *
 * Usage: bare-proxy.ts --port N --upstream http://127.0.0.1:M [--client undici|fetch]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, upstream: { type: 'string' }, client: { type: 'string', default: 'undici' } } })
const upstream = values.upstream ?? 'http://127.0.0.1:8081'
if (values.client !== 'undici' && values.client !== 'fetch') throw new Error(`--client must be undici or fetch, got ${values.client}`)
const agent = new Agent({ keepAliveTimeout: 60_000 })

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': req.headers['content-type'] ?? 'application/json' }
  if (req.headers.authorization) headers.authorization = req.headers.authorization
  return headers
}

async function viaUndici(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const answer = await request(upstream + req.url, { method: req.method as 'POST', headers: headersOf(req), body: await readBody(req), dispatcher: agent })
  res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') })
  for await (const chunk of answer.body) {
    if (res.destroyed) {
      answer.body.destroy() // the client went away: stop reading the upstream
      return
    }
    res.write(chunk)
  }
  res.end()
}

async function viaFetch(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const answer = await fetch(upstream + req.url, { method: req.method, headers: headersOf(req), body: (await readBody(req)) as unknown as BodyInit })
  res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
  if (answer.body) {
    for await (const chunk of answer.body) {
      if (res.destroyed) break // the client went away: stop reading the upstream
      res.write(chunk)
    }
  }
  res.end()
}

const forward = values.client === 'fetch' ? viaFetch : viaUndici
const server = createServer((req, res) => {
  forward(req, res).catch((error: unknown) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { message: String(error) } }))
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(values.port), values.host, () => {
  const address = server.address()
  process.stdout.write(`ready ${typeof address === 'object' && address ? address.port : values.port}\n`)
})

process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
