/**
 * The floor for this runtime: the least a Node proxy can do per request. node:http in,
 * global fetch (undici) out, the upstream's response piped back (streams included).
 *
 * Usage: bare-proxy.ts --port N --upstream http://127.0.0.1:M
 */
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, upstream: { type: 'string' } } })
const upstream = values.upstream ?? 'http://127.0.0.1:8081'

const server = createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const headers: Record<string, string> = { 'content-type': req.headers['content-type'] ?? 'application/json' }
    if (req.headers.authorization) headers.authorization = req.headers.authorization
    const response = await fetch(upstream + req.url, { method: req.method, headers, body: Buffer.concat(chunks) })
    res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/json' })
    if (response.body) {
      for await (const chunk of response.body) {
        if (res.destroyed) break // the client went away: stop reading the upstream
        res.write(chunk)
      }
    }
    res.end()
  } catch (error) {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { message: String(error) } }))
  }
})
server.keepAliveTimeout = 60_000
server.listen(Number(values.port), values.host, () => {
  const address = server.address()
  process.stdout.write(`ready ${typeof address === 'object' && address ? address.port : values.port}\n`)
})

process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
