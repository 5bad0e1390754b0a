import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { createGate, fault } from './support/fault-upstream.js'
import { contentOf, drain, hello, openaiProvider, rejection, sleep, useRouting, type OpenAIError } from './support/routing.js'

/**
 * Concurrency and queue: `providers.<id>.concurrency_and_buffer_size` limits the upstream requests
 * in flight and how many callers may wait (FIFO); with `client.drop_excess_requests` a caller that
 * finds the queue full gets 429 at once, otherwise it waits (bounded by the request timeout).
 */

const r = useRouting(['busy'])

function limited(options: { drop?: boolean; concurrency?: number; buffer?: number; timeoutSeconds?: number } = {}) {
  return {
    providers: {
      openai: openaiProvider(r.up.busy, {
        network: { default_request_timeout_in_seconds: options.timeoutSeconds ?? 10 },
        extra: { concurrency_and_buffer_size: { concurrency: options.concurrency ?? 2, buffer_size: options.buffer ?? 2 } },
      }),
    },
    client: { drop_excess_requests: options.drop ?? false },
  }
}

/** Starts `count` chat calls ~20 ms apart (so they arrive in order), each with its own tag as the message. */
async function startCalls(openai: OpenAI, count: number, stream = false) {
  const calls: Array<Promise<{ status: number; error?: OpenAIError; elapsed: number; tag: string }>> = []
  for (let i = 0; i < count; i++) {
    const tag = `call-${i}`
    const started = performance.now()
    const call = stream
      ? openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: tag }], stream: true }).then(drain).then(({ error }) => {
          if (error) throw error
        })
      : openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: tag }] })
    calls.push(
      call.then(
        () => ({ status: 200, elapsed: performance.now() - started, tag }),
        (error: OpenAIError) => ({ status: error.status ?? 0, error, elapsed: performance.now() - started, tag }),
      ),
    )
    await sleep(20)
  }
  return calls
}

const tagOf = (json: any) => json?.messages?.[0]?.content

describe('concurrency 2 + buffer 2', () => {
  it('with drop_excess_requests: 2 in flight, 2 queued, the 5th gets 429 at once; the queue drains in order', async () => {
    const gate = createGate()
    r.up.busy.always({}, fault.ok({ gate: gate.promise }))
    const gateway = await r.launch(limited({ drop: true }))
    const calls = await startCalls(gateway.openai, 5)
    const fifth = await calls[4]!
    expect(fifth.status).toBe(429)
    expect(fifth.elapsed).toBeLessThan(500)
    expect(fifth.error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(fifth.error!.error).toMatchObject({ message: expect.any(String), type: expect.any(String) })
    expect(fifth.error!.headers?.get('retry-after')).toBe('1')
    // Only the two holding a slot reached the upstream.
    expect(r.up.busy.requests.map((request) => tagOf(request.json))).toEqual(['call-0', 'call-1'])
    expect(r.up.busy.inFlight()).toBe(2)

    gate.open()
    const results = await Promise.all(calls.slice(0, 4))
    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200])
    expect(r.up.busy.requests.map((request) => tagOf(request.json))).toEqual(['call-0', 'call-1', 'call-2', 'call-3'])
    expect(r.up.busy.maxInFlight()).toBe(2)
  })

  it('without drop_excess_requests: the 5th waits and succeeds; never more than 2 upstream at once', async () => {
    const gate = createGate()
    r.up.busy.always({}, fault.ok({ gate: gate.promise }))
    const gateway = await r.launch(limited({ drop: false }))
    const calls = await startCalls(gateway.openai, 5)
    await sleep(200)
    expect(r.up.busy.requests).toHaveLength(2)
    gate.open()
    const results = await Promise.all(calls)
    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200, 200])
    expect(r.up.busy.requests.map((request) => tagOf(request.json))).toEqual(['call-0', 'call-1', 'call-2', 'call-3', 'call-4'])
    expect(r.up.busy.maxInFlight()).toBe(2)
  })

  it('a stream holds its slot until its last byte', async () => {
    r.up.busy.always({}, fault.ok({ chunks: 5, chunkDelayMs: 60 }))
    const gateway = await r.launch(limited({ concurrency: 1, buffer: 4 }))
    const calls = await startCalls(gateway.openai, 3, true)
    const results = await Promise.all(calls)
    expect(results.map((result) => result.status)).toEqual([200, 200, 200])
    expect(r.up.busy.maxInFlight()).toBe(1)
    // Each stream started upstream only after the one before had ended.
    const [first, second] = r.up.busy.requests
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(5 * 60 - 30)
  })

  it('a waiting caller is bounded by the request timeout: 504 in OpenAI shape, and it never reaches the upstream', async () => {
    // The first call is a stream that holds the only slot for ~1 s (its request timeout ends at its headers).
    r.up.busy.script({}, fault.ok({ chunks: 8, chunkDelayMs: 120 }))
    const gateway = await r.launch(limited({ concurrency: 1, buffer: 1, timeoutSeconds: 0.4 }))
    const holder = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'holder' }], stream: true }).then(drain)
    await r.up.busy.waitForRequests(1)
    const started = performance.now()
    const waiting = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'waiter' }] }))) as OpenAIError
    expect(waiting.status).toBe(504)
    expect(waiting.error).toMatchObject({ message: expect.any(String), type: expect.any(String) })
    expect(performance.now() - started).toBeLessThan(900)
    expect((await holder).error).toBeUndefined()
    expect(r.up.busy.requests.map((request) => tagOf(request.json))).toEqual(['holder'])
  })

  it('a caller that gives up while queued leaves the queue: it never reaches the upstream, the next one does', async () => {
    const gate = createGate()
    r.up.busy.always({}, fault.ok({ gate: gate.promise }))
    const gateway = await r.launch(limited({ concurrency: 1, buffer: 2 }))
    const first = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'call-0' }] })
    await r.up.busy.waitForRequests(1)
    const controller = new AbortController()
    const quitter = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'quitter' }] }, { signal: controller.signal })
    await sleep(50)
    const patient = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'patient' }] })
    await sleep(50)
    controller.abort()
    await rejection(quitter)
    gate.open()
    await first
    const answer = await patient
    expect(contentOf([{ choices: [{ delta: { content: answer.choices[0]!.message.content } }] } as OpenAI.Chat.ChatCompletionChunk])).toBe(r.up.busy.textOf())
    expect(r.up.busy.requests.map((request) => tagOf(request.json))).toEqual(['call-0', 'patient'])
  })

  it('another provider is not held back by a busy one', async () => {
    const gate = createGate()
    r.up.busy.always({ model: 'gpt-4o' }, fault.ok({ gate: gate.promise }))
    const gateway = await r.launch({
      ...limited({ concurrency: 1, buffer: 0, drop: true }),
      providers: { ...limited({ concurrency: 1, buffer: 0 }).providers, other: openaiProvider(r.up.busy, { keys: ['sk-other'], extra: { package: '@switchyard/provider-openai' } }) },
    })
    const held = gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello })
    await r.up.busy.waitForRequests(1)
    const { response } = await gateway.openai.chat.completions.create({ model: 'other/gpt-4o-mini', messages: hello }).withResponse()
    expect(response.status).toBe(200)
    const refused = (await rejection(gateway.openai.chat.completions.create({ model: 'gpt-4o', messages: hello }))) as OpenAIError
    expect(refused.status).toBe(429)
    gate.open()
    await held
  })
})
