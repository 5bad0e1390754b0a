import type { HookContext } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import { activationOf, splitModel, TEAM_STATE, VIRTUAL_KEY_STATE } from './activation.js'

const ctx = (fields: Record<string, unknown> = {}) =>
  ({ requestedModel: 'anthropic/claude-sonnet-4', surface: 'anthropic', headers: new Headers({ 'X-Tier': 'Gold', accept: 'a' }), state: new Map(), ...fields }) as unknown as HookContext

describe('activationOf', () => {
  it('has the model as written, its prefix, lower-case headers and the surface', () => {
    const activation = activationOf(ctx())
    expect(activation).toMatchObject({ model: 'anthropic/claude-sonnet-4', provider: 'anthropic', surface: 'anthropic', virtual_key: '', team: '' })
    expect(activation.headers).toEqual({ 'x-tier': 'Gold', accept: 'a' })
    expect(activationOf(ctx({ requestedModel: 'gpt-4o' })).provider).toBe('')
  })

  it('builds headers once, and only when read', () => {
    let reads = 0
    const headers = new Headers({ a: '1' })
    const counting = new Proxy(headers, {
      get(target, property) {
        if (property === Symbol.iterator) reads++
        const value = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const activation = activationOf(ctx({ headers: counting }))
    expect(reads).toBe(0)
    expect(activation.headers).toBe(activation.headers)
    expect(reads).toBe(1)
  })

  it('reads the virtual key and team an authenticating plugin left in ctx.state', () => {
    const state = new Map<string, unknown>([
      [VIRTUAL_KEY_STATE, 'vk-123'],
      [TEAM_STATE, { id: 'search', name: 'Search' }],
    ])
    expect(activationOf(ctx({ state }))).toMatchObject({ virtual_key: 'vk-123', team: 'search' })
  })

  it('metadata is the body metadata object when the context carries the body, else {}', () => {
    expect(activationOf(ctx()).metadata).toEqual({})
    expect(activationOf(ctx({ body: { metadata: { customer: 'acme' } } })).metadata).toEqual({ customer: 'acme' })
    expect(activationOf(ctx({ body: { metadata: ['not', 'an', 'object'] } })).metadata).toEqual({})
  })

  it('body is the context body itself (never a copy), {} without one; stream and operation as the context says', () => {
    const body = { model: 'gpt-4o', metadata: { tier: 'gold' } }
    const activation = activationOf(ctx({ body, stream: true, operation: 'responses' }))
    expect(activation.body).toBe(body)
    expect(activation.metadata).toBe(body.metadata)
    expect(activation).toMatchObject({ stream: true, operation: 'responses' })
    expect(activationOf(ctx()).body).toEqual({})
  })
})

describe('splitModel', () => {
  it('splits at the first slash, as the router does', () => {
    expect(splitModel('openai/gpt-4o')).toEqual({ provider: 'openai', name: 'gpt-4o' })
    expect(splitModel('together/meta-llama/Llama-3')).toEqual({ provider: 'together', name: 'meta-llama/Llama-3' })
    expect(splitModel('gpt-4o')).toEqual({ provider: '', name: 'gpt-4o' })
  })
})
