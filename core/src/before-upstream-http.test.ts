import { describe, expect, it } from 'vitest'
import { parseConfig } from './config.js'
import { createGateway } from './gateway.js'
import { silentLogger } from './log.js'
import { definePlugin, type FinishSummary, type UpstreamOutcome } from './plugin.js'
import { contractProvider } from './testing/contract-provider.js'

/** `beforeUpstream` returning `{ http }`: a ready Response goes to the caller as is. */

const chat = (body: unknown, headers: Record<string, string> = {}) =>
  new Request('http://gateway.test/contract/chat', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe('beforeUpstream { http }', () => {
  const finished: FinishSummary[] = []
  const outcomes: UpstreamOutcome[] = []
  const laterCalls: string[] = []
  const answering = definePlugin({
    name: 'answering',
    hooks: {
      beforeUpstream(ctx) {
        const mode = ctx.headers.get('x-answer')
        if (mode === 'mutable') return { http: new Response('{"accepted":true}', { status: 202, headers: { 'content-type': 'application/json', 'x-own': 'yes' } }) }
        if (mode === 'own-id') return { http: new Response('kept', { status: 200, headers: { 'x-request-id': 'mine' } }) }
        // A Response whose headers are immutable (as one from fetch): the gateway copies it to add the request id.
        if (mode === 'immutable') return { http: Response.redirect('http://elsewhere.test/', 303) }
        return undefined
      },
      afterUpstream(_ctx, outcome) {
        outcomes.push(outcome)
      },
      onFinish(_ctx, summary) {
        finished.push(summary)
      },
    },
  })
  const later = definePlugin({
    name: 'later',
    hooks: {
      beforeUpstream(ctx) {
        laterCalls.push(ctx.id)
      },
    },
  })
  const gateway = createGateway({ config: parseConfig({}), providers: [contractProvider], plugins: [answering, later], logger: silentLogger })
  const settled = async () => {
    await new Promise((resolve) => setTimeout(resolve, 0))
    await gateway.close()
  }

  it('sends status, headers and body unchanged, adds x-request-id, skips later plugins and afterUpstream, and reports the status to onFinish', async () => {
    const plain = await gateway.fetch(chat({ model: 'contract/echo', input: 'hi' }, { 'x-answer': 'mutable' }))
    expect(plain.status).toBe(202)
    expect(await plain.text()).toBe('{"accepted":true}')
    expect(plain.headers.get('x-own')).toBe('yes')
    expect(plain.headers.get('x-request-id')).toMatch(/^req_/)

    // Streaming callers get the plugin's answer as is too (no replay as a stream).
    const streamed = await gateway.fetch(chat({ model: 'contract/echo', input: 'hi', stream: true }, { 'x-answer': 'own-id' }))
    expect(streamed.status).toBe(200)
    expect(streamed.headers.get('x-request-id')).toBe('mine')
    expect(await streamed.text()).toBe('kept')

    const redirect = await gateway.fetch(chat({ model: 'contract/echo', input: 'hi' }, { 'x-answer': 'immutable' }))
    expect(redirect.status).toBe(303)
    expect(redirect.headers.get('location')).toBe('http://elsewhere.test/')
    expect(redirect.headers.get('x-request-id')).toMatch(/^req_/)

    await settled()
    expect(laterCalls).toEqual([])
    expect(outcomes).toEqual([])
    expect(finished.map((summary) => [summary.status, summary.usage, summary.attempts])).toEqual([
      [202, undefined, 0],
      [200, undefined, 0],
      [303, undefined, 0],
    ])
  })
})
