import { describe, expect, it } from 'vitest'
import { GatewayError } from '../errors.js'
import type { StreamEvent } from '../ir/stream-event.js'
import { codecOf, type Operation, type OperationTypes, type ProviderDefinition, type UpstreamContext } from '../provider.js'

export { runPluginContract, contractDialect } from './plugin-contract.js'
export type { PluginContractOptions, ContractDialect, ContractGatewayInput, ContractCheck } from './plugin-contract.js'
export { contractProvider, CONTRACT_PROVIDER_ID } from './contract-provider.js'
export { runAtomicStoreContract } from './atomic-contract.js'
export type { AtomicStoreContractOptions } from './atomic-contract.js'

/** A recorded upstream answer, decoded by the provider under test. */
export interface ResponseFixture {
  name: string
  operation: Operation
  /** Response body as the upstream sent it (parsed JSON). */
  body: unknown
}

/** A recorded upstream stream (raw bytes as sent). */
export interface StreamFixture {
  name: string
  operation: Operation
  bytes: Uint8Array
  /** The stream ends in an error event instead of a finish. */
  expectError?: boolean
}

/** A recorded upstream error and what it must map to. */
export interface ErrorFixture {
  name: string
  status: number
  body: string
  headers?: Record<string, string>
  expect: { status: number; retryable: boolean }
}

/**
 * One call of an in-process provider's `invoke` (providers without HTTP upstreams), and what
 * it must give: an answer (a stream when `request.stream`), or the error in `expectError`.
 */
export interface InvokeFixture<Op extends Operation = Operation> {
  name: string
  operation: Op
  /** The IR request, as a surface would build it (`model` without the provider prefix). */
  request: OperationTypes[Op]['request']
  /** `providers.<id>.options` for this call (default none). */
  options?: Record<string, unknown>
  /** The call must fail with a GatewayError of this status (and retryability, when given). */
  expectError?: { status: number; retryable?: boolean }
}

export interface ProviderContractOptions {
  provider: ProviderDefinition
  fixtures: {
    responses?: ResponseFixture[]
    streams?: StreamFixture[]
    errors?: ErrorFixture[]
    /** A response body whose finish reason is set to a value the provider cannot know. */
    unknownFinishReason?: ResponseFixture
    /** Calls of `invoke` (in-process providers): answers are well-formed, streams end in one finish. */
    invocations?: InvokeFixture[]
  }
  /** Checks to leave out, each with the reason. */
  skip?: Array<{ reason: string; tests: Array<'decode' | 'rechunk' | 'finish' | 'unknown-finish' | 'errors' | 'invoke'> }>
  /** Seeds for random re-chunking (default 8). */
  seeds?: number
}

/** Context for pure codec calls in tests. */
export function testUpstreamContext(providerId: string): UpstreamContext {
  return {
    providerId,
    key: { value: 'sk-contract-test-key-0000', models: [], weight: 1 },
    baseURL: 'https://upstream.invalid/v1',
    config: { keys: [] },
    signal: new AbortController().signal,
  }
}

/** Deterministic PRNG (mulberry32) so a failing chunking can be reproduced from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Splits bytes at random points (1..64 bytes a piece), as a network would. */
export function rechunk(bytes: Uint8Array, random: () => number): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = []
  for (let i = 0; i < bytes.length; ) {
    const size = 1 + Math.floor(random() * 64)
    pieces.push(bytes.slice(i, i + size))
    i += size
  }
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece)
      controller.close()
    },
  })
}

/** Collects a stream of IR events, normalizing errors to plain objects for comparison. */
export async function collectEvents(stream: ReadableStream<StreamEvent>): Promise<unknown[]> {
  const events: unknown[] = []
  for await (const event of stream) {
    events.push(event.type === 'error' ? { type: 'error', status: event.error.status, message: event.error.message } : event)
  }
  return events
}

const whole = (bytes: Uint8Array) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes)
      controller.close()
    },
  })

/**
 * The provider contract (STYLE.md): every fixture decodes; random re-chunking gives
 * identical events; one `finish`, last; an unknown finish reason maps to `other` with the
 * raw value kept; errors map to the right status and retryability.
 */
export function runProviderContract(options: ProviderContractOptions): void {
  const { provider, fixtures } = options
  const skipped = new Set(options.skip?.flatMap((entry) => entry.tests) ?? [])
  const context = testUpstreamContext(provider.id)
  const codec = (operation: Operation) => {
    const found = codecOf(provider, operation)
    if (!found) throw new Error(`provider ${provider.id} has no ${operation} codec`)
    return found as { response(json: unknown, context: UpstreamContext): unknown; stream?(body: ReadableStream<Uint8Array>, context: UpstreamContext): ReadableStream<StreamEvent> }
  }
  const seeds = options.seeds ?? 8

  describe(`provider contract: ${provider.id}`, () => {
    it('has an id, spec 1 and an error mapper', () => {
      expect(provider.id).toMatch(/^[a-z0-9][a-z0-9_-]*$/)
      expect(provider.spec).toBe(1)
      if (provider.upstream) expect(typeof provider.upstream.error).toBe('function')
      expect(provider.upstream ?? provider.invoke, 'a provider has upstream codecs or invoke').toBeTruthy()
    })

    describe.skipIf(skipped.has('invoke') || !fixtures.invocations?.length)('invoke', () => {
      for (const fixture of fixtures.invocations ?? []) {
        it(fixture.expectError ? `${fixture.name} -> ${fixture.expectError.status}` : fixture.name, async () => {
          await checkInvocation(provider, fixture)
        })
      }
    })

    describe.skipIf(skipped.has('decode') || !fixtures.responses?.length)('every fixture decodes', () => {
      for (const fixture of fixtures.responses ?? []) {
        it(fixture.name, () => {
          const decoded = codec(fixture.operation).response(fixture.body, context) as { choices?: unknown[]; data?: unknown[] }
          expect(decoded).toBeTypeOf('object')
          expect(decoded.choices ?? decoded.data).toBeDefined()
        })
      }
    })

    for (const fixture of fixtures.streams ?? []) {
      describe(`stream ${fixture.name}`, () => {
        it.skipIf(skipped.has('finish'))(fixture.expectError ? 'ends with one error and no finish' : 'has exactly one finish, last', async () => {
          const events = (await collectEvents(codec(fixture.operation).stream!(whole(fixture.bytes), context))) as StreamEvent[]
          const finishes = events.filter((event) => event.type === 'finish').length
          if (fixture.expectError) {
            expect(events.at(-1)?.type).toBe('error')
            expect(finishes).toBe(0)
          } else {
            expect(finishes).toBe(1)
            expect(events.at(-1)?.type).toBe('finish')
            expect(events.some((event) => event.type === 'error')).toBe(false)
          }
        })

        it.skipIf(skipped.has('rechunk'))('gives identical events however the bytes are chunked', async () => {
          const reference = await collectEvents(codec(fixture.operation).stream!(whole(fixture.bytes), context))
          for (let seed = 1; seed <= seeds; seed++) {
            const events = await collectEvents(codec(fixture.operation).stream!(rechunk(fixture.bytes, seededRandom(seed)), context))
            expect(events, `seed ${seed}`).toEqual(reference)
          }
        })
      })
    }

    const unknown = fixtures.unknownFinishReason
    it.skipIf(skipped.has('unknown-finish') || !unknown)('maps an unknown finish reason to "other" and keeps the raw value', () => {
      const decoded = codec(unknown!.operation).response(unknown!.body, context) as { choices: Array<{ finishReason: { unified: string; raw?: string } }> }
      expect(decoded.choices[0]!.finishReason.unified).toBe('other')
      expect(decoded.choices[0]!.finishReason.raw).toBeTruthy()
    })

    describe.skipIf(skipped.has('errors') || !fixtures.errors?.length)('errors', () => {
      for (const fixture of fixtures.errors ?? []) {
        it(`${fixture.name} -> ${fixture.expect.status}, retryable ${fixture.expect.retryable}`, () => {
          const error = provider.upstream!.error(fixture.status, fixture.body, new Headers(fixture.headers), context)
          expect(GatewayError.is(error)).toBe(true)
          expect(error.status).toBe(fixture.expect.status)
          expect(error.retryable).toBe(fixture.expect.retryable)
          expect(error.message).not.toContain(context.key!.value)
          expect(error.upstream?.body ?? '').not.toContain(context.key!.value)
        })
      }
    })
  })
}

const UNIFIED = ['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other']

/** A count is a non-negative number or unknown (`undefined`), never null or NaN. */
function expectUsage(usage: unknown): void {
  if (usage === undefined) return
  expect(usage).toBeTypeOf('object')
  for (const field of ['inputTokens', 'outputTokens', 'totalTokens', 'cachedInputTokens', 'reasoningTokens'] as const) {
    const count = (usage as Record<string, unknown>)[field]
    if (count !== undefined) expect(Number.isFinite(count) && (count as number) >= 0, `usage.${field} = ${String(count)}`).toBe(true)
  }
}

/** Every block is opened before its deltas and closed once; one `finish`, last; no `error`. */
function expectWellFormed(events: StreamEvent[]): void {
  const open = new Set<string>()
  const closed = new Set<string>()
  for (const event of events) {
    const kind = event.type.replace(/-(start|delta|end|signature)$/, '')
    if (!['text', 'reasoning', 'tool-call'].includes(kind) || !('id' in event)) continue
    const key = `${kind}:${event.id}`
    if (event.type.endsWith('-start')) {
      expect(open.has(key) || closed.has(key), `${key} started twice`).toBe(false)
      open.add(key)
    } else {
      expect(open.has(key), `${event.type} for ${key} outside its block`).toBe(true)
      if (event.type.endsWith('-end')) {
        open.delete(key)
        closed.add(key)
      }
    }
  }
  expect([...open], 'blocks never ended').toEqual([])
  expect(events.filter((event) => event.type === 'error'), 'error events').toEqual([])
  expect(events.filter((event) => event.type === 'finish')).toHaveLength(1)
  expect(events.at(-1)?.type).toBe('finish')
  const finish = events.at(-1) as Extract<StreamEvent, { type: 'finish' }>
  expect(UNIFIED).toContain(finish.finishReason.unified)
  expectUsage(finish.usage)
}

async function checkInvocation(provider: ProviderDefinition, fixture: InvokeFixture): Promise<void> {
  const invoke = provider.invoke?.[fixture.operation] as ((request: unknown, context: UpstreamContext) => Promise<unknown>) | undefined
  if (!invoke) throw new Error(`provider ${provider.id} has no invoke for ${fixture.operation}`)
  const context: UpstreamContext = { ...testUpstreamContext(provider.id), key: undefined, config: { keys: [], options: fixture.options } }
  if (fixture.expectError) {
    const error = await invoke(fixture.request, context).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(GatewayError.is(error), `invoke must reject with a GatewayError, got ${String(error)}`).toBe(true)
    expect((error as GatewayError).status).toBe(fixture.expectError.status)
    if (fixture.expectError.retryable !== undefined) expect((error as GatewayError).retryable).toBe(fixture.expectError.retryable)
    return
  }
  const result = await invoke(fixture.request, context)
  const streamed = (fixture.request as { stream?: boolean }).stream === true
  expect(result instanceof ReadableStream, streamed ? 'a streamed request answers with a ReadableStream' : 'a plain request answers with an object').toBe(streamed)
  if (result instanceof ReadableStream) {
    const events: StreamEvent[] = []
    for await (const event of result as ReadableStream<StreamEvent>) events.push(event)
    expectWellFormed(events)
    return
  }
  const response = result as { choices?: Array<Record<string, unknown>>; data?: unknown[]; usage?: unknown }
  expectUsage(response.usage)
  if (fixture.operation === 'embeddings') {
    expect(Array.isArray(response.data)).toBe(true)
    return
  }
  expect(Array.isArray(response.choices) && response.choices.length > 0, 'choices').toBe(true)
  for (const choice of response.choices!) {
    expect(UNIFIED).toContain((choice.finishReason as { unified: string }).unified)
    if (fixture.operation === 'completions') expect(choice.text).toBeTypeOf('string')
    else expect(Array.isArray((choice.message as { content?: unknown }).content), 'message.content is an array of parts').toBe(true)
  }
}
