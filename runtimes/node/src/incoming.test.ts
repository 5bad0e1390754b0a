import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { listenNode, type NodeServer } from './index.js'

/** Serves `handler` on a free port for one test. */
let server: NodeServer | undefined
async function serveWith(handler: (request: Request) => Response | Promise<Response>): Promise<string> {
  server = await listenNode(handler, { port: 0, host: '127.0.0.1' })
  return server.url
}
afterEach(async () => {
  await server?.stop()
  server = undefined
})

describe('request bodies on Node (withFastBodies)', () => {
  it('text(), json() and arrayBuffer() read the exact body', async () => {
    const body = '{"name":"wörld","n":[1,2,3]}'
    const seen: unknown[] = []
    const url = await serveWith(async (request) => {
      const kind = new URL(request.url).pathname
      if (kind === '/text') seen.push(await request.text())
      if (kind === '/json') seen.push(await request.json())
      if (kind === '/bytes') seen.push([...new Uint8Array(await request.arrayBuffer())])
      return new Response('ok')
    })
    for (const kind of ['text', 'json', 'bytes']) await (await fetch(`${url}/${kind}`, { method: 'POST', body })).text()
    expect(seen).toEqual([body, JSON.parse(body), [...new TextEncoder().encode(body)]])
  })

  it('reads a chunked body of many writes whole', async () => {
    let seen = ''
    const url = await serveWith(async (request) => {
      seen = await request.text()
      return new Response('ok')
    })
    const parts = Array.from({ length: 50 }, (_, i) => `part-${i};`)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
        controller.close()
      },
    })
    await (await fetch(url, { method: 'POST', body: stream, duplex: 'half' } as RequestInit)).text()
    expect(seen).toBe(parts.join(''))
  })

  it('a body is read once: a second read fails like a consumed fetch body', async () => {
    let second: unknown
    let used: boolean | undefined
    const url = await serveWith(async (request) => {
      await request.text()
      used = request.bodyUsed
      second = await request.text().catch((error: unknown) => error)
      return new Response('ok')
    })
    await (await fetch(url, { method: 'POST', body: 'once' })).text()
    expect(used).toBe(true)
    expect(second).toBeInstanceOf(TypeError)
  })

  it('the body stream and formData() still work (through the full Request)', async () => {
    const seen: unknown[] = []
    const url = await serveWith(async (request) => {
      if (new URL(request.url).pathname === '/stream') {
        let text = ''
        const reader = request.body!.getReader()
        for (let next = await reader.read(); !next.done; next = await reader.read()) text += new TextDecoder().decode(next.value)
        seen.push(text, await request.text().catch((error: unknown) => (error as Error).name))
      } else {
        const form = await request.formData()
        seen.push(form.get('field'), await (form.get('file') as File).text())
      }
      return new Response('ok')
    })
    await (await fetch(`${url}/stream`, { method: 'POST', body: 'streamed body' })).text()
    const form = new FormData()
    form.set('field', 'value')
    form.set('file', new Blob(['file content'], { type: 'text/plain' }), 'a.txt')
    await (await fetch(`${url}/form`, { method: 'POST', body: form })).text()
    expect(seen).toEqual(['streamed body', 'TypeError', 'value', 'file content'])
  })

  it('the signal aborts when the client goes away before the answer, and not after a complete one', async () => {
    const signals: AbortSignal[] = []
    let entered!: () => void
    const inHandler = new Promise<void>((done) => (entered = done))
    const url = new URL(
      await serveWith(async (request) => {
        signals.push(request.signal)
        await request.text()
        if (new URL(request.url).pathname === '/slow') {
          entered()
          await new Promise((done) => request.signal.addEventListener('abort', done, { once: true }))
        }
        return new Response('ok')
      }),
    )
    await (await fetch(`${url}fast`, { method: 'POST', body: 'x' })).text()
    const client = httpRequest({ host: url.hostname, port: url.port, path: '/slow', method: 'POST', headers: { 'content-length': '1' } })
    client.on('error', () => {})
    client.end('x')
    await inHandler
    client.destroy()
    await new Promise<void>((done) => (signals[1]!.aborted ? done() : signals[1]!.addEventListener('abort', () => done(), { once: true })))
    expect(signals[0]!.aborted).toBe(false)
    expect(signals[1]!.aborted).toBe(true)
    expect(String(signals[1]!.reason)).toContain('prematurely closed')
  })

  it('leaves requests without a body as they were', async () => {
    let method = ''
    let aborted: boolean | undefined
    const url = await serveWith((request) => {
      method = request.method
      aborted = request.signal.aborted
      return new Response('ok')
    })
    expect(await (await fetch(url)).text()).toBe('ok')
    expect(method).toBe('GET')
    expect(aborted).toBe(false)
  })
})
