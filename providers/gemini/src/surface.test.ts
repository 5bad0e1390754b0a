import { describe, expect, it } from 'vitest'
import { createGateway, parseConfig, silentLogger } from '@switchyard/core'
import gemini from './index.js'

/** The /genai routes in process (the e2e files drive them with @google/genai on every runtime). */

function gatewayWith(client: Record<string, unknown> = {}) {
  const sent: Array<{ url: string; headers: Headers }> = []
  const gateway = createGateway({
    config: parseConfig({ providers: { gemini: { keys: [{ value: 'AIzaSyConfigured-0123456789', models: [], weight: 1 }] } }, client }),
    providers: [gemini],
    logger: silentLogger,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      sent.push({ url: String(input), headers: new Headers(init?.headers) })
      return Response.json({ candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP' }] })
    }) as typeof fetch,
  })
  return { gateway, sent }
}

const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] })

/** A request whose headers refuse changes, as `Deno.serve` hands them over. */
function immutableRequest(url: string): Request {
  const request = new Request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const headers = new Headers(request.headers)
  headers.set = () => {
    throw new TypeError('Headers are immutable')
  }
  Object.defineProperty(request, 'headers', { value: headers })
  return request
}

describe('/genai ?key=', () => {
  it('is the caller\'s key under allow_direct_keys, also when the runtime\'s request headers are immutable', async () => {
    const { gateway, sent } = gatewayWith({ allow_direct_keys: true })
    const url = 'http://gw/genai/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSyQuery-0123456789'
    expect((await gateway.fetch(new Request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }))).status).toBe(200)
    expect((await gateway.fetch(immutableRequest(url))).status).toBe(200)
    expect(sent.map((call) => [call.url, call.headers.get('x-goog-api-key')])).toEqual([
      ['https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent', 'AIzaSyQuery-0123456789'],
      ['https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent', 'AIzaSyQuery-0123456789'],
    ])
  })

  it('is ignored without allow_direct_keys', async () => {
    const { gateway, sent } = gatewayWith()
    await gateway.fetch(new Request('http://gw/genai/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSyQuery-0123456789', { method: 'POST', headers: { 'content-type': 'application/json' }, body }))
    expect(sent[0]!.headers.get('x-goog-api-key')).toBe('AIzaSyConfigured-0123456789')
  })
})

describe('/genai model paths', () => {
  it('the last colon separates the method, so a model name may hold colons', async () => {
    const { gateway, sent } = gatewayWith()
    const response = await gateway.fetch(new Request('http://gw/genai/v1/models/gemini/tuned-v1:0:generateContent', { method: 'POST', headers: { 'content-type': 'application/json' }, body }))
    expect(response.status).toBe(400)
    // `tuned-v1:0` is no Gemini model name: refused before a URL is built from it.
    expect((await response.json()).error.message).toMatch(/"tuned-v1:0" is not a Gemini model name/)
    expect(sent).toEqual([])
  })
})
