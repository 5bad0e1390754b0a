import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { fault, INPUT_TOKENS } from './support/fault-upstream.js'
import { anthropicProvider, hello, openaiProvider, rejection, sleep, useRouting } from './support/routing.js'

/**
 * Client disconnects: when the caller goes away before the headers or in the middle of a stream,
 * the upstream request is aborted at once (its socket closes), and what was consumed is still
 * accounted (seen here through the metrics plugin).
 */

const r = useRouting(['far'])

/** How soon after the client's abort the upstream must see its request aborted (ms). */
const AT_ONCE_MS = 300

/** Reads chat chunks until `count` carried content, then aborts the stream. */
async function readThenAbort(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk> & { controller: AbortController }, count: number): Promise<void> {
  let seen = 0
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) seen++
      if (seen >= count) {
        stream.controller.abort()
        return
      }
    }
  } catch {
    // The abort ends the iteration with an error.
  }
  throw new Error(`the stream ended after ${seen} content chunks, before ${count}`)
}

/** Wall time in this process (ms), to measure how soon the upstream socket closed after the abort. */
const now = () => performance.now()

describe('mid-stream', () => {
  it('OpenAI SDK, same dialect: aborting after 2 chunks aborts the upstream at once and closes its socket', async () => {
    r.up.far.script({}, fault.ok({ chunks: 100, chunkDelayMs: 50 }))
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.far) } })
    const stream = await gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true })
    await readThenAbort(stream, 2)
    const abortedAt = now()
    expect(await r.up.far.waitForNoOpenSockets(1_000)).toBe(0)
    const closedWithin = now() - abortedAt
    expect(closedWithin).toBeLessThan(AT_ONCE_MS)
    expect(r.up.far.requests).toHaveLength(1)
    expect(r.up.far.requests[0]).toMatchObject({ aborted: true, finished: false, socketClosed: true })
  })

  it('OpenAI SDK -> Anthropic upstream (translated stream): the upstream is aborted at once too', async () => {
    r.up.far.script({}, fault.ok({ chunks: 100, chunkDelayMs: 50 }))
    const gateway = await r.launch({ providers: { anthropic: anthropicProvider(r.up.far.url) } })
    const stream = await gateway.openai.chat.completions.create({ model: 'anthropic/claude-sonnet-4-5', messages: hello, max_tokens: 100, stream: true })
    await readThenAbort(stream, 2)
    const abortedAt = now()
    expect(await r.up.far.waitForNoOpenSockets(1_000)).toBe(0)
    expect(now() - abortedAt).toBeLessThan(AT_ONCE_MS)
    expect(r.up.far.requests[0]).toMatchObject({ dialect: 'anthropic', aborted: true })
  })

  it('Anthropic SDK, same dialect: stream.abort() aborts the upstream at once', async () => {
    r.up.far.script({}, fault.ok({ chunks: 100, chunkDelayMs: 50 }))
    const gateway = await r.launch({ providers: { anthropic: anthropicProvider(r.up.far.url) } })
    const stream = gateway.anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hello!' }] })
    let deltas = 0
    await new Promise<void>((resolve) => {
      stream.on('text', () => {
        if (++deltas === 2) resolve()
      })
    })
    stream.abort()
    await stream.done().catch(() => undefined)
    const abortedAt = now()
    expect(await r.up.far.waitForNoOpenSockets(1_000)).toBe(0)
    expect(now() - abortedAt).toBeLessThan(AT_ONCE_MS)
    expect(r.up.far.requests[0]!.aborted).toBe(true)
  })

  it('what was consumed is accounted: the aborted stream shows in the metrics with its input tokens', async () => {
    r.up.far.script({}, fault.ok({ chunks: 100, chunkDelayMs: 50 }))
    const gateway = await r.launch({ providers: { anthropic: anthropicProvider(r.up.far.url, { keys: ['sk-ant-metrics'] }) }, plugins: [{ name: '@switchyard/plugin-metrics' }] })
    const stream = gateway.anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hello!' }] })
    let deltas = 0
    await new Promise<void>((resolve) => {
      stream.on('text', () => {
        if (++deltas === 2) resolve()
      })
    })
    stream.abort()
    await stream.done().catch(() => undefined)
    expect(await r.up.far.waitForNoOpenSockets(1_000)).toBe(0)
    // onFinish runs after the last byte; give it a moment.
    let text = ''
    for (let i = 0; i < 20; i++) {
      text = await (await gateway.get('/metrics')).text()
      if (/switchyard_tokens_total\{[^}]*type="input"[^}]*\}/.test(text)) break
      await sleep(50)
    }
    const input = /switchyard_tokens_total\{([^}]*type="input"[^}]*)\} (\d+)/.exec(text)
    expect(input?.[1]).toContain('provider="anthropic"')
    expect(Number(input?.[2])).toBe(INPUT_TOKENS)
    expect(text).toMatch(/switchyard_requests_total\{[^}]*provider="anthropic"[^}]*\} 1/)
  })
})

describe('before the headers', () => {
  it('a caller that aborts while the upstream has not answered: the upstream request is aborted at once', async () => {
    r.up.far.script({}, fault.hangBeforeHeaders())
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.far, { network: { default_request_timeout_in_seconds: 30 } }) } })
    const controller = new AbortController()
    const call = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { signal: controller.signal })
    await r.up.far.waitForRequests(1)
    await sleep(50)
    controller.abort()
    const abortedAt = now()
    expect(await rejection(call)).toBeInstanceOf(OpenAI.APIUserAbortError)
    expect(await r.up.far.waitForNoOpenSockets(1_000)).toBe(0)
    expect(now() - abortedAt).toBeLessThan(AT_ONCE_MS)
    expect(r.up.far.requests[0]).toMatchObject({ aborted: true, socketClosed: true })
  })

  it('a caller that aborts a streaming request before the first byte: same', async () => {
    r.up.far.script({}, fault.hangBeforeHeaders())
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.far) } })
    const controller = new AbortController()
    const call = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true }, { signal: controller.signal })
    await r.up.far.waitForRequests(1)
    controller.abort()
    await rejection(call)
    expect(await r.up.far.waitForNoOpenSockets(1_000)).toBe(0)
    expect(r.up.far.requests[0]!.aborted).toBe(true)
  })

  it('a disconnect is not retried and does not fall back', async () => {
    r.up.far.script({}, fault.hangBeforeHeaders())
    const gateway = await r.launch({ providers: { openai: openaiProvider(r.up.far, { network: { max_retries: 3, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 5 }, extra: { fallbacks: ['openai/gpt-4o-mini'] } }) } })
    const controller = new AbortController()
    const call = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }, { signal: controller.signal })
    await r.up.far.waitForRequests(1)
    controller.abort()
    await rejection(call)
    await sleep(200)
    expect(r.up.far.requests).toHaveLength(1)
  })
})
