import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1, random port, temporary directory: what the
 * S3 client, the S3 blob store and the Bedrock files target are tested against. s3rver checks
 * that a SigV4 `Authorization` header is well formed and names a known access key (`S3RVER`),
 * but does not recompute the signature: the signing itself is checked against AWS's published
 * examples in plugins/s3-storage/src/client.test.ts.
 *
 * s3rver runs in a child process started with `--openssl-legacy-provider`: it encrypts
 * ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3 offers only from its legacy
 * provider (without it every truncated listing answers 500).
 */
export interface TestS3 {
  /** `http://127.0.0.1:<port>` (path-style addressing). */
  endpoint: string
  port: number
  /** Credentials s3rver accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string }
  /**
   * A fetch that sends `http://<bucket>.s3.localhost:<port>/...` (virtual-hosted addressing) to
   * 127.0.0.1 with the virtual host in `Host`, as DNS would on a machine that resolves
   * `*.localhost`: s3rver then finds the bucket in the host name.
   */
  virtualHostFetch: typeof fetch
  close(): Promise<void>
}

/** The child's program: start s3rver, print its port, stop on stdin end. */
const RUNNER = `
const S3rver = require(process.argv[1])
const options = JSON.parse(process.argv[2])
new S3rver(options).run().then((address) => {
  process.stdout.write(JSON.stringify({ port: address.port }) + '\\n')
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}, (error) => {
  process.stderr.write(String(error && error.stack || error) + '\\n')
  process.exit(1)
})
`

export async function startTestS3(buckets: string[]): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'switchyard-s3rver-'))
  const options = { address: '127.0.0.1', port: 0, directory, silent: true, serviceEndpoint: 'localhost', configureBuckets: buckets.map((name) => ({ name })) }
  const entry = createRequire(import.meta.url).resolve('s3rver')
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', RUNNER, entry, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let errors = ''
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString()
  })
  const lines = createInterface({ input: child.stdout })
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line as string),
    once(child, 'exit').then(([code]) => {
      throw new Error(`s3rver exited (${code}) before it listened: ${errors}`)
    }),
  ])
  const port = (JSON.parse(first) as { port: number }).port
  const virtualHostFetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : input)
    const headers: Record<string, string> = { host: url.host }
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value
    })
    const body = init.body
    const bytes = body === undefined || body === null ? undefined : typeof body === 'string' ? Buffer.from(body) : body instanceof Uint8Array ? Buffer.from(body) : undefined
    if (body !== undefined && body !== null && bytes === undefined) throw new Error('virtualHostFetch sends string and byte bodies only')
    if (bytes) headers['content-length'] = String(bytes.length)
    return await new Promise<Response>((resolve, reject) => {
      const sent = httpRequest({ host: '127.0.0.1', port, method: init.method ?? 'GET', path: `${url.pathname}${url.search}`, headers, signal: init.signal ?? undefined }, (answer) => {
        const responseHeaders = new Headers()
        for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value)
        const empty = init.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304
        if (empty) answer.resume()
        resolve(new Response(empty ? null : (Readable.toWeb(answer) as ReadableStream<Uint8Array>), { status: answer.statusCode ?? 500, headers: responseHeaders }))
      })
      sent.on('error', reject)
      sent.end(bytes)
    })
  }) as typeof fetch
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    virtualHostFetch,
    async close() {
      const exited = child.exitCode === null ? once(child, 'exit') : Promise.resolve()
      child.stdin.end()
      await exited
      await rm(directory, { recursive: true, force: true })
    },
  }
}
