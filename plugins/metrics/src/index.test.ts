import { createGateway, parseConfig, silentLogger, type ConfigInput, type Gateway } from '@switchyard/core'
import mock from '@switchyard/provider-mock'
import openai from '@switchyard/provider-openai'
import { afterEach, describe, expect, it } from 'vitest'
import { parseSamples, samplesOf, valueOf, type Sample } from './exposition.test-support.js'
import createMetricsPlugin, { COST_STATE } from './index.js'

const gateways: Gateway[] = []
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close()
})

/** A gateway with the OpenAI surface, the in-process mock provider and the metrics plugin. */
async function start(options: unknown = {}, config: ConfigInput = {}) {
  const plugin = createMetricsPlugin(options)
  const gateway = createGateway({
    config: parseConfig({
      providers: { mock: { keys: [{ value: 'unused', models: ['echo'] }] } },
      ...config,
      plugins: [{ name: plugin.name, config: options }],
    }),
    providers: [openai, mock],
    plugins: [plugin],
    logger: silentLogger,
  })
  gateways.push(gateway)
  await gateway.ready
  return { gateway, plugin }
}

const chat = (gateway: Gateway, model: string, options: { stream?: boolean; headers?: Record<string, string>; text?: string } = {}) =>
  gateway.fetch(
    new Request('http://gateway.test/openai/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify({ model, stream: options.stream ?? false, messages: [{ role: 'user', content: options.text ?? 'count these words please' }] }),
    }),
  )

async function scrape(gateway: Gateway, headers: Record<string, string> = {}): Promise<{ response: Response; text: string; samples: Sample[] }> {
  const response = await gateway.fetch(new Request('http://gateway.test/metrics', { headers }))
  const text = await response.text()
  return { response, text, samples: response.status === 200 ? parseSamples(text) : [] }
}

/** onFinish runs from a timer after the last byte: wait until `count` requests are counted. */
async function counted(gateway: Gateway, count: number): Promise<Sample[]> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const { samples } = await scrape(gateway)
    const total = samplesOf(samples, 'switchyard_requests_total').reduce((sum, sample) => sum + sample.value, 0)
    if (total >= count || Date.now() > deadline) {
      expect(total).toBe(count)
      return samples
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('GET /metrics', () => {
  it('counts plain, streamed and failed requests with their latency, first token and tokens', async () => {
    const { gateway } = await start({ models: ['mock/error-500'] })
    const plain = await chat(gateway, 'mock/echo')
    expect(plain.status).toBe(200)
    const usage = ((await plain.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage
    const streamed = await chat(gateway, 'mock/echo', { stream: true })
    expect(streamed.status).toBe(200)
    await streamed.text()
    const failed = await chat(gateway, 'mock/error-500')
    expect(failed.status).toBe(500)
    await failed.text()

    const samples = await counted(gateway, 3)
    const echo = { surface: 'openai', provider: 'mock', model: 'echo' }
    expect(valueOf(samples, 'switchyard_requests_total', { ...echo, status_code: '200' })).toBe(2)
    expect(valueOf(samples, 'switchyard_requests_total', { surface: 'openai', provider: 'mock', model: 'error-500', status_code: '500' })).toBe(1)
    expect(valueOf(samples, 'switchyard_request_duration_seconds_count', echo)).toBe(2)
    expect(valueOf(samples, 'switchyard_request_duration_seconds_sum', echo)).toBeGreaterThan(0)
    expect(valueOf(samples, 'switchyard_request_duration_seconds_bucket', { ...echo, le: '+Inf' })).toBe(2)
    // Only the stream has a first token; the failed request has none.
    expect(valueOf(samples, 'switchyard_time_to_first_token_seconds_count', echo)).toBe(1)
    expect(samplesOf(samples, 'switchyard_time_to_first_token_seconds_count', { model: 'error-500' })).toEqual([])
    // The same prompt twice: twice its input tokens; the echo answers with the same output.
    expect(valueOf(samples, 'switchyard_tokens_total', { provider: 'mock', model: 'echo', type: 'input' })).toBe(2 * usage.prompt_tokens)
    expect(valueOf(samples, 'switchyard_tokens_total', { provider: 'mock', model: 'echo', type: 'output' })).toBe(2 * usage.completion_tokens)
    expect(samplesOf(samples, 'switchyard_tokens_total', { type: 'cached' })).toEqual([])
    expect(valueOf(samples, 'switchyard_errors_total', { surface: 'openai', provider: 'mock', type: 'none', code: 'upstream' })).toBe(1)
    // No retries or fallbacks happened: the counters exist without series.
    expect(samplesOf(samples, 'switchyard_retries_total')).toEqual([])
    expect(samplesOf(samples, 'switchyard_fallbacks_total')).toEqual([])
  })

  it('adds up the cost the governance plugin leaves in switchyard:cost, and counts unpriced requests apart', async () => {
    // Stands in for the governance plugin: a price for `echo`, none for `unknown`.
    const pricing = {
      name: 'pricing-probe',
      hooks: {
        afterUpstream(ctx: { model: string | undefined; state: Map<string, unknown> }) {
          ctx.state.set(COST_STATE, ctx.model === 'echo' ? { usd: 0.25, priced: true } : { usd: undefined, priced: false })
        },
      },
    }
    const plugin = createMetricsPlugin({ models: ['mock/unknown'] })
    const gateway = createGateway({
      config: parseConfig({ providers: { mock: { keys: [{ value: 'unused', models: ['echo'] }] } }, plugins: [{ name: plugin.name, config: { models: ['mock/unknown'] } }] }),
      providers: [openai, mock],
      plugins: [pricing, plugin],
      logger: silentLogger,
    })
    gateways.push(gateway)
    await gateway.ready
    for (const model of ['mock/echo', 'mock/echo', 'mock/unknown']) await (await chat(gateway, model)).text()
    const samples = await counted(gateway, 3)
    expect(valueOf(samples, 'switchyard_cost_usd_total', { provider: 'mock', model: 'echo' })).toBe(0.5)
    expect(valueOf(samples, 'switchyard_unpriced_requests_total', { provider: 'mock', model: 'unknown' })).toBe(1)
    expect(samplesOf(samples, 'switchyard_cost_usd_total', { model: 'unknown' })).toEqual([])
    expect(samplesOf(samples, 'switchyard_unpriced_requests_total', { model: 'echo' })).toEqual([])
  })

  it('speaks the Prometheus text format, with help and type lines for every metric', async () => {
    const { gateway } = await start()
    await (await chat(gateway, 'mock/echo')).text()
    await counted(gateway, 1)
    const { response, text } = await scrape(gateway)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    for (const [name, type] of [
      ['switchyard_requests_total', 'counter'],
      ['switchyard_request_duration_seconds', 'histogram'],
      ['switchyard_time_to_first_token_seconds', 'histogram'],
      ['switchyard_tokens_total', 'counter'],
      ['switchyard_errors_total', 'counter'],
      ['switchyard_retries_total', 'counter'],
      ['switchyard_fallbacks_total', 'counter'],
      ['switchyard_cost_usd_total', 'counter'],
      ['switchyard_unpriced_requests_total', 'counter'],
      ['switchyard_provider_in_flight', 'gauge'],
      ['switchyard_provider_queue_depth', 'gauge'],
      ['switchyard_provider_keys_cooling', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`)
      expect(text).toMatch(new RegExp(`# HELP ${name} \\S`))
    }
    // The per-provider gauges come from the router's stats(), read at scrape time.
    const samples = parseSamples(text)
    for (const name of ['switchyard_provider_in_flight', 'switchyard_provider_queue_depth', 'switchyard_provider_keys_cooling']) {
      expect(valueOf(samples, name, { provider: 'mock' }), name).toBe(0)
      expect(valueOf(samples, name, { provider: 'openai' }), name).toBe(0)
    }
    // Its own registry: none of prom-client's default process metrics.
    expect(text).not.toContain('process_cpu')
  })

  it('shows a stream in flight while it runs, and a queued caller behind it', async () => {
    // An upstream that holds every answer until the test releases it.
    const releases: Array<() => void> = []
    const upstream: typeof fetch = async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] }
          controller.enqueue(new TextEncoder().encode(`data: ${JSON.stringify(chunk)}\n\n`))
          releases.push(() => {
            controller.enqueue(new TextEncoder().encode('data: [DONE]\n\n'))
            controller.close()
          })
        },
      })
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
    }
    const plugin = createMetricsPlugin()
    const gateway = createGateway({
      config: parseConfig({
        providers: { openai: { keys: [{ value: 'sk-test', models: ['gpt-4o'] }], concurrency_and_buffer_size: { concurrency: 1, buffer_size: 4 } } },
        plugins: [{ name: plugin.name }],
      }),
      providers: [openai, mock],
      plugins: [plugin],
      fetch: upstream,
      logger: silentLogger,
    })
    gateways.push(gateway)
    await gateway.ready
    const first = await chat(gateway, 'openai/gpt-4o', { stream: true })
    const second = chat(gateway, 'openai/gpt-4o', { stream: true })
    await new Promise((resolve) => setTimeout(resolve, 20))
    const during = (await scrape(gateway)).samples
    expect(valueOf(during, 'switchyard_provider_in_flight', { provider: 'openai' })).toBe(1)
    expect(valueOf(during, 'switchyard_provider_queue_depth', { provider: 'openai' })).toBe(1)
    releases.shift()!()
    await first.text()
    while (releases.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    releases.shift()!()
    await (await second).text()
    const after = await counted(gateway, 2)
    expect(valueOf(after, 'switchyard_provider_in_flight', { provider: 'openai' })).toBe(0)
    expect(valueOf(after, 'switchyard_provider_queue_depth', { provider: 'openai' })).toBe(0)
    expect(valueOf(after, 'switchyard_time_to_first_token_seconds_count', { surface: 'openai', provider: 'openai', model: 'gpt-4o' })).toBe(2)
  })

  it('counts a key cooling down after a 429, and the rate-limit error', async () => {
    const upstream: typeof fetch = async () =>
      new Response(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }), { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '30' } })
    const plugin = createMetricsPlugin()
    const gateway = createGateway({
      config: parseConfig({ providers: { openai: { keys: [{ value: 'sk-a', models: ['gpt-4o'] }, { value: 'sk-b', models: ['gpt-4o'] }] } }, plugins: [{ name: plugin.name }] }),
      providers: [openai, mock],
      plugins: [plugin],
      fetch: upstream,
      logger: silentLogger,
    })
    gateways.push(gateway)
    await gateway.ready
    const limited = await chat(gateway, 'openai/gpt-4o')
    expect(limited.status).toBe(429)
    await limited.text()
    const samples = await counted(gateway, 1)
    expect(valueOf(samples, 'switchyard_provider_keys_cooling', { provider: 'openai' })).toBe(1)
    expect(valueOf(samples, 'switchyard_requests_total', { surface: 'openai', provider: 'openai', model: 'gpt-4o', status_code: '429' })).toBe(1)
    expect(samplesOf(samples, 'switchyard_errors_total', { provider: 'openai', code: 'rate_limit' })).toHaveLength(1)
  })

  it('counts retries', async () => {
    let calls = 0
    const completion = { id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }
    const upstream: typeof fetch = async () =>
      ++calls < 3 ? new Response('{"error":{"message":"boom"}}', { status: 500, headers: { 'content-type': 'application/json' } }) : Response.json(completion)
    const plugin = createMetricsPlugin()
    const gateway = createGateway({
      config: parseConfig({
        providers: { openai: { keys: [{ value: 'sk-a', models: ['gpt-4o'] }], network_config: { max_retries: 2, retry_backoff_initial_ms: 1, retry_backoff_max_ms: 2 } } },
        plugins: [{ name: plugin.name }],
      }),
      providers: [openai, mock],
      plugins: [plugin],
      fetch: upstream,
      logger: silentLogger,
    })
    gateways.push(gateway)
    await gateway.ready
    const answered = await chat(gateway, 'openai/gpt-4o')
    expect(answered.status).toBe(200)
    await answered.text()
    const samples = await counted(gateway, 1)
    expect(valueOf(samples, 'switchyard_retries_total', { provider: 'openai' })).toBe(2)
    expect(valueOf(samples, 'switchyard_tokens_total', { provider: 'openai', model: 'gpt-4o', type: 'input' })).toBe(3)
  })

  it('keeps the model label bounded: 1000 invented model names give one `other` series', async () => {
    const { gateway } = await start()
    const random = () => Math.random().toString(36).slice(2)
    for (let i = 0; i < 1000; i++) {
      const response = await chat(gateway, `mock/${random()}-${i}`, { text: 'x' })
      expect(response.status).toBe(200)
      await response.arrayBuffer()
    }
    // Unknown provider prefixes are refused before routing: provider and model are `none`.
    for (let i = 0; i < 20; i++) {
      const response = await chat(gateway, `${random()}/${random()}`)
      expect(response.status).toBe(400)
      await response.arrayBuffer()
    }
    const samples = await counted(gateway, 1020)
    const requests = samplesOf(samples, 'switchyard_requests_total')
    expect(requests.map((sample) => sample.labels)).toEqual(
      expect.arrayContaining([
        { surface: 'openai', provider: 'mock', model: 'other', status_code: '200' },
        { surface: 'openai', provider: 'none', model: 'none', status_code: '400' },
      ]),
    )
    expect(requests).toHaveLength(2)
    expect(valueOf(samples, 'switchyard_requests_total', { surface: 'openai', provider: 'mock', model: 'other', status_code: '200' })).toBe(1000)
    const models = new Set(samples.filter((sample) => sample.name.startsWith('switchyard_')).map((sample) => sample.labels.model).filter(Boolean))
    expect([...models].sort()).toEqual(['none', 'other'])
  })

  it('adds client.prometheus_labels from request headers, cut to 64 characters', async () => {
    const { gateway } = await start({}, { client: { prometheus_labels: ['X-Team', 'x-env'] } })
    await (await chat(gateway, 'mock/echo', { headers: { 'x-team': 'search', 'x-env': 'e'.repeat(100) } })).text()
    await (await chat(gateway, 'mock/echo', { headers: { 'x-team': 'search' } })).text()
    const samples = await counted(gateway, 2)
    const labels = { surface: 'openai', provider: 'mock', model: 'echo', status_code: '200', x_team: 'search' }
    expect(valueOf(samples, 'switchyard_requests_total', { ...labels, x_env: 'e'.repeat(64) })).toBe(1)
    expect(valueOf(samples, 'switchyard_requests_total', { ...labels, x_env: '' })).toBe(1)
    expect(samplesOf(samples, 'switchyard_tokens_total', { x_team: 'search', type: 'input' })).toHaveLength(2)
  })

  it('refuses a prometheus label that would clash with a metric label', async () => {
    const plugin = createMetricsPlugin()
    expect(() => createGateway({ config: parseConfig({ client: { prometheus_labels: ['provider'] } }), providers: [openai, mock], plugins: [plugin], logger: silentLogger })).toThrow(/"provider"/)
    expect(() => createGateway({ config: parseConfig({ client: { prometheus_labels: ['x-team', 'x_team'] } }), providers: [openai, mock], plugins: [createMetricsPlugin()], logger: silentLogger })).toThrow(/both become/)
  })

  it('asks for the bearer token when one is configured, and serves on a custom path', async () => {
    const { gateway } = await start({ token: 's3cret', path: '/internal/metrics' })
    expect((await scrape(gateway)).response.status).toBe(404)
    const scrapeAt = (headers: Record<string, string>) => gateway.fetch(new Request('http://gateway.test/internal/metrics', { headers }))
    const anonymous = await scrapeAt({})
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect((await scrapeAt({ authorization: 'Bearer wrong' })).status).toBe(401)
    expect((await scrapeAt({ authorization: 'Bearer s3cret-and-more' })).status).toBe(401)
    const allowed = await scrapeAt({ authorization: 'Bearer s3cret' })
    expect(allowed.status).toBe(200)
    expect(await allowed.text()).toContain('switchyard_requests_total')
  })

  it('reads the token from the environment with env.VAR', async () => {
    process.env.SWITCHYARD_METRICS_TEST_TOKEN = 'from-env'
    try {
      const { gateway } = await start({ token: 'env.SWITCHYARD_METRICS_TEST_TOKEN' })
      expect((await scrape(gateway, { authorization: 'Bearer from-env' })).response.status).toBe(200)
    } finally {
      delete process.env.SWITCHYARD_METRICS_TEST_TOKEN
    }
    expect(() => createMetricsPlugin({ token: 'env.SWITCHYARD_METRICS_TEST_TOKEN' })).toThrow(/SWITCHYARD_METRICS_TEST_TOKEN is not set/)
  })

  it('gives every gateway its own registry', async () => {
    const first = await start()
    const second = await start()
    await (await chat(first.gateway, 'mock/echo')).text()
    await (await chat(first.gateway, 'mock/echo')).text()
    await (await chat(second.gateway, 'mock/echo')).text()
    expect(valueOf(await counted(first.gateway, 2), 'switchyard_requests_total', { surface: 'openai', provider: 'mock', model: 'echo', status_code: '200' })).toBe(2)
    expect(valueOf(await counted(second.gateway, 1), 'switchyard_requests_total', { surface: 'openai', provider: 'mock', model: 'echo', status_code: '200' })).toBe(1)
    expect(first.plugin.registry()).not.toBe(second.plugin.registry())
  })
})
