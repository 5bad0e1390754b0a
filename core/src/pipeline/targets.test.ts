import { describe, expect, it } from 'vitest'
import { GatewayError } from '../errors.js'
import { silentLogger } from '../log.js'
import { defineProvider } from '../provider.js'
import { markTargetFault, registerProvider, resolveModel, type RegisteredProvider } from '../router.js'
import { canFallBack, fallbackChain, MAX_REQUEST_FALLBACKS, parseFallbacksField, pickRouteTarget } from './targets.js'

const provider = (id: string, fallbacks?: string[]) => registerProvider(id, defineProvider({ id, spec: 1, requiresKey: false }), { keys: [], fallbacks })
const providers = new Map<string, RegisteredProvider>([
  ['openai', provider('openai', ['anthropic/claude-haiku', 'mock/echo'])],
  ['anthropic', provider('anthropic', ['mock/never-chained'])],
  ['mock', provider('mock')],
])
const names = (chain: ReturnType<typeof fallbackChain>) => chain?.map((route) => `${route.provider.id}/${route.model}`)

describe('parseFallbacksField', () => {
  it('takes an array of provider/model strings; null is none', () => {
    expect(parseFallbacksField(['anthropic/claude', 'openai/gpt-4o'])).toEqual(['anthropic/claude', 'openai/gpt-4o'])
    expect(parseFallbacksField(null)).toEqual([])
  })

  it('refuses anything else with a 400 naming the field', () => {
    for (const bad of ['openai/gpt-4o', [42], ['bare-model'], ['openai/'], {}, Array.from({ length: MAX_REQUEST_FALLBACKS + 1 }, () => 'a/b')]) {
      try {
        parseFallbacksField(bad)
        expect.unreachable(JSON.stringify(bad))
      } catch (error) {
        expect(error).toMatchObject({ status: 400, param: expect.stringMatching(/^fallbacks/) })
      }
    }
  })
})

describe('pickRouteTarget', () => {
  it('picks by weight (default 1)', () => {
    const route = { targets: [{ provider: 'openai', model: 'a', weight: 3 }, { provider: 'mock', model: 'b' }] }
    expect(pickRouteTarget(route, providers, () => 0.74).provider.id).toBe('openai')
    expect(pickRouteTarget(route, providers, () => 0.76).provider.id).toBe('mock')
    let seed = 7
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646
    let openai = 0
    for (let i = 0; i < 4000; i++) if (pickRouteTarget(route, providers, random).provider.id === 'openai') openai++
    expect(openai / 4000).toBeGreaterThan(0.71)
    expect(openai / 4000).toBeLessThan(0.79)
  })

  it('a weight of 0 is never picked while another target can be', () => {
    const route = { targets: [{ provider: 'openai', model: 'a', weight: 0 }, { provider: 'mock', model: 'b', weight: 1 }] }
    for (let i = 0; i < 50; i++) expect(pickRouteTarget(route, providers).model).toBe('b')
  })

  it('an unknown provider or an empty list is a 500 (a gateway configuration error)', () => {
    expect(() => pickRouteTarget({ targets: [{ provider: 'nope', model: 'x' }] }, providers)).toThrow(expect.objectContaining({ status: 500 }))
    expect(() => pickRouteTarget({ targets: [] }, providers)).toThrow(expect.objectContaining({ status: 500 }))
  })
})

describe('fallbackChain', () => {
  const base = { providers, defaultProvider: 'openai', log: silentLogger }
  const route = (name: string) => resolveModel(name, providers, 'openai')

  it('is undefined when there is nothing after the primary', () => {
    expect(fallbackChain({ ...base, primary: route('mock/x'), requested: undefined, override: undefined })).toBeUndefined()
    expect(fallbackChain({ ...base, primary: route('mock/x'), requested: [route('mock/x')], override: undefined })).toBeUndefined()
  })

  it('orders request fallbacks, then the override, then the primary provider config; each target once, never the primary', () => {
    const chain = fallbackChain({
      ...base,
      primary: route('openai/gpt-4o'),
      requested: [route('mock/echo'), route('anthropic/claude-sonnet')],
      override: ['mock/rule', 'openai/gpt-4o'],
    })
    expect(names(chain)).toEqual(['mock/echo', 'anthropic/claude-sonnet', 'mock/rule', 'anthropic/claude-haiku'])
  })

  it("a fallback provider's own config list is not chained", () => {
    const chain = fallbackChain({ ...base, primary: route('anthropic/c'), requested: [route('openai/gpt-4o')], override: undefined })
    expect(names(chain)).toEqual(['openai/gpt-4o', 'mock/never-chained'])
  })

  it('an override or config entry naming an unknown provider is skipped', () => {
    expect(names(fallbackChain({ ...base, primary: route('mock/x'), requested: undefined, override: ['nope/x', 'openai/y'] }))).toEqual(['openai/y'])
  })
})

describe('canFallBack', () => {
  const error = (status: number) => new GatewayError({ status, code: 'x', message: 'x' })

  it('falls back on upstream failures, not on caller errors or a caller who left', () => {
    expect([401, 403, 404, 408, 409, 429, 500, 502, 503, 504, 529].every((status) => canFallBack(error(status)))).toBe(true)
    expect([400, 413, 422, 499].some((status) => canFallBack(error(status)))).toBe(false)
  })

  it('a 400 that says the target cannot serve (no keys, unsupported operation) falls back', () => {
    expect(canFallBack(markTargetFault(error(400)))).toBe(true)
  })
})
