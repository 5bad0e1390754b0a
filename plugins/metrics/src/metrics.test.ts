import { GatewayError, parseConfig, silentLogger, type FinishSummary, type HookContext, type PluginSetupContext } from '@switchyard/core'
import { runPluginContract } from '@switchyard/core/testing'
import { describe, expect, it } from 'vitest'
import { parseSamples, samplesOf, valueOf } from './exposition.test-support.js'
import createMetricsPlugin from './index.js'
import { createCappedLabel, createModelLabel, headerLabelsOf, knownModelsOf, toLabelName } from './labels.js'
import { createMetrics } from './metrics.js'
import { resolveOptions } from './options.js'

// The suite every plugin runs: onFinish once, streams intact, errors in the dialect ...
runPluginContract({ plugin: createMetricsPlugin, options: { path: '/metrics' } })

const config = parseConfig({
  providers: { openai: { keys: [{ value: 'sk-test', models: ['gpt-4o', 'gpt-4o-mini'] }] }, anthropic: { keys: [{ value: 'sk-ant', models: [] }] } },
  plugins: [
    { name: '@switchyard/plugin-routing-rules', config: { rules: [{ name: 'r', targets: [{ provider: 'anthropic', model: 'claude-sonnet-4', weight: 1 }], fallbacks: ['openai/o3'] }] } },
  ],
})

const setupContext = (stats?: PluginSetupContext['stats']): PluginSetupContext =>
  ({ config, options: {}, storage: undefined as unknown as PluginSetupContext['storage'], log: silentLogger, ...(stats ? { stats } : {}) }) as PluginSetupContext

const ctx = (fields: Partial<HookContext>): HookContext =>
  ({ id: 'req_1', surface: 'openai', operation: 'chat', requestedModel: 'openai/gpt-4o', provider: 'openai', model: 'gpt-4o', stream: false, headers: new Headers(), ...fields }) as HookContext

const summary = (fields: Partial<FinishSummary> & Record<string, unknown> = {}): FinishSummary =>
  ({ status: 200, usage: undefined, error: undefined, durationMs: 1200, firstByteMs: undefined, attempts: 1, aborted: false, ...fields }) as FinishSummary

describe('labels', () => {
  it('turns header names into label names', () => {
    expect(toLabelName('X-Team-Id')).toBe('x_team_id')
    expect(toLabelName('9lives')).toBe('_9lives')
    expect(headerLabelsOf(['x-team', 'X-Team'])).toEqual([{ header: 'x-team', name: 'x_team' }])
    expect(() => headerLabelsOf(['Model'])).toThrow(/"model"/)
    expect(() => headerLabelsOf(['__x'])).toThrow(/reserved/)
  })

  it('knows the models virtual keys allow by name (not `*`)', () => {
    const withKeys = { ...config, governance: { virtual_keys: [{ provider_configs: [{ provider: 'anthropic', allowed_models: ['claude-haiku-4-5', '*'] }, { provider: 'bogus' }] }] } } as typeof config
    expect(knownModelsOf(withKeys, []).has('anthropic/claude-haiku-4-5')).toBe(true)
    expect(knownModelsOf(withKeys, []).has('anthropic/*')).toBe(false)
  })

  it('knows the models of key lists, routing rule targets and fallbacks, and the models option', () => {
    const known = knownModelsOf(config, ['mock/echo'])
    expect([...known].sort()).toEqual(['anthropic/claude-sonnet-4', 'mock/echo', 'openai/gpt-4o', 'openai/gpt-4o-mini', 'openai/o3'])
    const label = createModelLabel(known)
    expect(label('openai', 'gpt-4o')).toBe('gpt-4o')
    expect(label('anthropic', 'gpt-4o')).toBe('other')
    expect(label('openai', 'gpt-4o\n{evil="1"}')).toBe('other')
    expect(label(undefined, undefined)).toBe('none')
  })

  it('caps labels whose values come from upstreams', () => {
    const label = createCappedLabel(2)
    expect([label('a'), label('b'), label('c'), label('a'), label(undefined), label('x'.repeat(65))]).toEqual(['a', 'b', 'other', 'a', 'none', 'other'])
  })
})

describe('options', () => {
  it('checks each field at start', () => {
    expect(resolveOptions(undefined)).toMatchObject({ path: '/metrics', token: undefined, models: [] })
    expect(() => resolveOptions({ path: 'metrics' })).toThrow(/config\.path/)
    expect(() => resolveOptions({ path: '/health' })).toThrow(/config\.path/)
    expect(() => resolveOptions({ token: '' })).toThrow(/config\.token/)
    expect(() => resolveOptions({ models: ['echo'] })).toThrow(/config\.models/)
    expect(() => resolveOptions({ buckets: { duration: [1, -1] } })).toThrow(/config\.buckets\.duration/)
    expect(resolveOptions({ buckets: { ttft: [2, 1, 2] } }).ttftBuckets).toEqual([1, 2])
  })
})

describe('createMetrics', () => {
  it('reads in-flight, queue depth and cooling keys from the router on every scrape', async () => {
    let inFlight = 3
    const metrics = createMetrics(config, setupContext(() => ({ providers: { openai: { inFlight, queued: 2, cooling: 1 }, anthropic: { inFlight: 0, queued: 0, cooling: 0 } } })), resolveOptions({}))
    let samples = parseSamples(await metrics.registry.metrics())
    expect(valueOf(samples, 'switchyard_provider_in_flight', { provider: 'openai' })).toBe(3)
    expect(valueOf(samples, 'switchyard_provider_queue_depth', { provider: 'openai' })).toBe(2)
    expect(valueOf(samples, 'switchyard_provider_keys_cooling', { provider: 'openai' })).toBe(1)
    expect(valueOf(samples, 'switchyard_provider_in_flight', { provider: 'anthropic' })).toBe(0)
    inFlight = 0
    samples = parseSamples(await metrics.registry.metrics())
    expect(valueOf(samples, 'switchyard_provider_in_flight', { provider: 'openai' })).toBe(0)
  })

  it('has no gauge series while the router reports no stats', async () => {
    const metrics = createMetrics(config, setupContext(), resolveOptions({}))
    expect(samplesOf(parseSamples(await metrics.registry.metrics()), 'switchyard_provider_in_flight')).toEqual([])
  })

  it('counts retries, fallbacks, cached, cache-write and reasoning tokens', async () => {
    const metrics = createMetrics(config, setupContext(), resolveOptions({}))
    metrics.record(ctx({}), summary({ attempts: 3, usage: { inputTokens: 100, outputTokens: 40, cachedInputTokens: 60, cacheWriteInputTokens: 10, reasoningTokens: 25 } }))
    metrics.record(ctx({ requestedModel: 'openai/gpt-4o', provider: 'anthropic', model: 'claude-sonnet-4' }), summary({ retries: 1, attempts: 3, fallbackIndex: 1 }))
    const samples = parseSamples(await metrics.registry.metrics())
    expect(valueOf(samples, 'switchyard_retries_total', { provider: 'openai' })).toBe(2)
    expect(valueOf(samples, 'switchyard_retries_total', { provider: 'anthropic' })).toBe(1)
    expect(valueOf(samples, 'switchyard_fallbacks_total', { from_provider: 'openai', to_provider: 'anthropic' })).toBe(1)
    const tokens = (type: string) => valueOf(samples, 'switchyard_tokens_total', { provider: 'openai', model: 'gpt-4o', type })
    expect([tokens('input'), tokens('output'), tokens('cached'), tokens('cache_write'), tokens('reasoning')]).toEqual([100, 40, 60, 10, 25])
  })

  it('labels errors by code and type, keeping unknown codes out', async () => {
    const metrics = createMetrics(config, setupContext(), resolveOptions({}))
    metrics.record(ctx({}), summary({ status: 429, error: new GatewayError({ status: 429, code: 'rate_limit', type: 'rate_limit_error', message: 'slow down' }) }))
    metrics.record(ctx({}), summary({ status: 502, error: new GatewayError({ status: 502, code: 'made_up_by_an_upstream', message: 'x' }) }))
    const samples = parseSamples(await metrics.registry.metrics())
    expect(valueOf(samples, 'switchyard_errors_total', { surface: 'openai', provider: 'openai', type: 'rate_limit_error', code: 'rate_limit' })).toBe(1)
    expect(valueOf(samples, 'switchyard_errors_total', { surface: 'openai', provider: 'openai', type: 'none', code: 'other' })).toBe(1)
  })

  it('records a request in a few microseconds', () => {
    const metrics = createMetrics(parseConfig({ ...config, client: { prometheus_labels: ['x-team'] } }), setupContext(), resolveOptions({}))
    const context = ctx({ headers: new Headers({ 'x-team': 'search' }), stream: true })
    const finished = summary({ firstByteMs: 120, usage: { inputTokens: 10, outputTokens: 5 } })
    const runs = 50_000
    for (let i = 0; i < 5_000; i++) metrics.record(context, finished)
    const start = performance.now()
    for (let i = 0; i < runs; i++) metrics.record(context, finished)
    const microseconds = ((performance.now() - start) * 1000) / runs
    // Reported, not asserted: timing depends on the machine.
    console.info(`metrics: onFinish costs ${microseconds.toFixed(2)} µs per request`)
    expect(microseconds).toBeGreaterThan(0)
  })
})
