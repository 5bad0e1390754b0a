import type { Context, Hono } from 'hono'
import { GatewayError, type Logger, type PluginSetupContext, type SendResult } from '@switchyard/core'
import { renderAnthropicError } from '@switchyard/provider-anthropic'
import { renderGeminiError } from '@switchyard/provider-gemini'
import { serveAdmitted } from '../routes.js'
import { relayBody } from '../target.js'
import { readJsonObject } from './body.js'
import { nowSeconds, upstreamKeyOf, type BatchStore } from './record.js'
import { jsonOfSent } from './target.js'

/** What the providers' own batch routes need once the plugin is set up. */
export interface NativeBatchRuntime {
  store: BatchStore
  maxBodyBytes: number
}

type Visible = (key: string) => boolean

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const NATIVE_ID = /^[A-Za-z0-9_-]{1,128}$/

/**
 * The batch APIs of the Anthropic and Gemini dialects, for their own SDKs (`client.messages.batches.*`,
 * `ai.batches.*`): forwarded to the dialect's provider (`anthropic`, `gemini`) with the gateway's key,
 * bodies unchanged. Each call runs the gateway's `onRequest` hooks first; the gateway records which
 * virtual key created which batch and shows a caller only its own (anyone else gets the dialect's 404).
 * Batches made through the OpenAI surface for these providers show up here for their owner too.
 */
export function registerNativeBatchRoutes(app: Hono, context: PluginSetupContext, runtime: () => NativeBatchRuntime | undefined, log: Logger): void {
  registerAnthropicBatches(app, context, runtime, log)
  registerGeminiBatches(app, context, runtime, log)
}

/** Who may see which of a provider's batches: with a virtual key its own, without one all but those a key owns. */
async function visibilityOf(store: BatchStore, owner: string, provider: string): Promise<Visible> {
  if (owner !== '') {
    const mine = new Set(await store.upstream.keysOf(owner, provider))
    return (key) => mine.has(key)
  }
  const hidden = await store.upstream.ownedByKeys(provider)
  return (key) => !hidden.has(key)
}

/** The batch's ownership, checked: another key's batch (or, for a caller with a key, one the gateway did not record) is `missing`. */
async function checkOwner(store: BatchStore, provider: string, id: string, owner: string, missing: () => GatewayError): Promise<string> {
  if (!NATIVE_ID.test(id)) throw new GatewayError({ status: 400, code: 'invalid_request', retryable: false, message: `invalid batch id ${JSON.stringify(id.slice(0, 80))}: batch ids are letters, digits, "_" and "-"` })
  const key = upstreamKeyOf(provider, id)
  const record = await store.upstream.get(key)
  if (record ? record.owner !== owner : owner !== '') throw missing()
  return key
}

/** A provider's answer as the caller's: status, content type and body (streamed) as they came. */
function relayed(sent: SendResult): Response {
  return new Response(relayBody(sent), { status: sent.response.status, headers: { 'content-type': sent.response.headers.get('content-type') ?? 'application/json' } })
}

const json = (value: unknown) => new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json' } })

function registerAnthropicBatches(app: Hono, context: PluginSetupContext, runtime: () => NativeBatchRuntime | undefined, log: Logger): void {
  const provider = 'anthropic'
  const serve = serveAdmitted({ context, runtime, log, surface: 'anthropic', operation: 'batches', starting: 'the Message Batches API is starting; retry shortly', render: renderAnthropicError })
  const missing = (id: string) => () => new GatewayError({ status: 404, code: 'not_found', type: 'not_found_error', retryable: false, message: `message_batch: ${id} not found` })
  const send = (c: Context, method: string, path: string, body?: string, accept?: string) =>
    context.send(provider, {
      signal: c.req.raw.signal,
      build(upstream, passthrough) {
        const target = passthrough(path)
        const headers: Record<string, string> = { ...target.headers }
        // The caller's API version, as on the surface's own passthrough calls.
        const version = c.req.header('anthropic-version')
        if (version) headers['anthropic-version'] = version
        if (accept) headers.accept = accept
        if (body === undefined) delete headers['content-type']
        return { url: target.url, method, headers, body }
      },
    })
  const query = (c: Context) => {
    const mark = c.req.url.indexOf('?')
    return mark === -1 ? '' : c.req.url.slice(mark)
  }
  /** `results_url` points at the gateway, so the SDK fetches the results through it (and never with the gateway's key elsewhere). */
  const withResultsUrl = (c: Context, batch: Record<string, unknown>) => {
    if (typeof batch.results_url === 'string' && typeof batch.id === 'string') batch.results_url = `${new URL(c.req.url).origin}/anthropic/v1/messages/batches/${batch.id}/results`
    return batch
  }

  for (const base of ['/anthropic/v1/messages/batches', '/anthropic/messages/batches']) {
    app.post(
      base,
      serve(async (c, batches, owner) => {
        const body = await readJsonObject(c.req.raw, batches.maxBodyBytes)
        if (!Array.isArray(body.value.requests)) throw new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param: 'requests', retryable: false, message: 'requests: Field required' })
        const created = await jsonOfSent(await send(c, 'POST', `/messages/batches${query(c)}`, body.text))
        if (typeof created.id === 'string' && NATIVE_ID.test(created.id)) {
          await batches.store.upstream.put(upstreamKeyOf(provider, created.id), { v: 1, provider, owner, created_at: nowSeconds(), id: created.id })
        }
        return json(withResultsUrl(c, created))
      }),
    )
    app.get(
      base,
      serve(async (c, batches, owner) => {
        const page = await jsonOfSent(await send(c, 'GET', `/messages/batches${query(c)}`))
        const visible = await visibilityOf(batches.store, owner, provider)
        const data = (Array.isArray(page.data) ? page.data : []).filter((batch): batch is Record<string, unknown> => isObject(batch) && typeof batch.id === 'string' && NATIVE_ID.test(batch.id) && visible(upstreamKeyOf(provider, batch.id)))
        return json({ ...page, data: data.map((batch) => withResultsUrl(c, batch)), first_id: (data[0]?.id as string | undefined) ?? null, last_id: (data.at(-1)?.id as string | undefined) ?? null })
      }),
    )
    app.get(
      `${base}/:id`,
      serve(async (c, batches, owner) => {
        const id = c.req.param('id') ?? ''
        await checkOwner(batches.store, provider, id, owner, missing(id))
        return json(withResultsUrl(c, await jsonOfSent(await send(c, 'GET', `/messages/batches/${id}${query(c)}`))))
      }),
    )
    app.post(
      `${base}/:id/cancel`,
      serve(async (c, batches, owner) => {
        const id = c.req.param('id') ?? ''
        await checkOwner(batches.store, provider, id, owner, missing(id))
        return json(withResultsUrl(c, await jsonOfSent(await send(c, 'POST', `/messages/batches/${id}/cancel${query(c)}`))))
      }),
    )
    app.get(
      `${base}/:id/results`,
      serve(async (c, batches, owner) => {
        const id = c.req.param('id') ?? ''
        await checkOwner(batches.store, provider, id, owner, missing(id))
        return relayed(await send(c, 'GET', `/messages/batches/${id}/results${query(c)}`, undefined, c.req.header('accept') ?? 'application/binary'))
      }),
    )
    app.delete(
      `${base}/:id`,
      serve(async (c, batches, owner) => {
        const id = c.req.param('id') ?? ''
        const key = await checkOwner(batches.store, provider, id, owner, missing(id))
        const deleted = await jsonOfSent(await send(c, 'DELETE', `/messages/batches/${id}${query(c)}`))
        const record = await batches.store.upstream.get(key)
        if (record) await batches.store.upstream.remove(key, record)
        return json(deleted)
      }),
    )
  }
}

/** API versions `@google/genai` may be configured with; the provider's own base URL decides what is called. */
const GENAI_VERSIONS = ['v1beta', 'v1', 'v1alpha']

function registerGeminiBatches(app: Hono, context: PluginSetupContext, runtime: () => NativeBatchRuntime | undefined, log: Logger): void {
  const provider = 'gemini'
  const serve = serveAdmitted({ context, runtime, log, surface: 'gemini', operation: 'batches', starting: 'batch mode is starting; retry shortly', render: renderGeminiError })
  const missing = (id: string) => () => new GatewayError({ status: 404, code: 'not_found', retryable: false, message: `Batch batches/${id} not found (unknown, deleted, or not yours)` })
  const send = (c: Context, method: string, path: string, body?: string) =>
    context.send(provider, {
      signal: c.req.raw.signal,
      build(upstream, passthrough) {
        const target = passthrough(path)
        const headers: Record<string, string> = { ...target.headers }
        if (body === undefined) delete headers['content-type']
        return { url: target.url, method, headers, body }
      },
    })
  const version = (c: Context) => {
    const given = c.req.param('version') ?? ''
    if (!GENAI_VERSIONS.includes(given)) throw new GatewayError({ status: 404, code: 'not_found', retryable: false, message: `unknown API version "${given.slice(0, 20)}"; the gateway serves ${GENAI_VERSIONS.join(', ')}` })
  }
  /** The batch id of `batches/<id>` or `<id>`, checked. */
  const ownership = async (batches: NativeBatchRuntime, id: string, owner: string) => checkOwner(batches.store, provider, id, owner, missing(id))
  /** `?pageSize=&pageToken=` passed on; nothing else of the caller's query (its `key`) is. */
  const listQuery = (c: Context) => {
    const search = new URLSearchParams()
    for (const name of ['pageSize', 'pageToken']) {
      const value = c.req.query(name)
      if (value) search.set(name, value)
    }
    return search.size > 0 ? `?${search}` : ''
  }

  app.post(
    '/genai/:version/models/:target{.+:batchGenerateContent}',
    serve(async (c, batches, owner) => {
      version(c)
      const target = c.req.param('target') ?? ''
      let model = target.slice(0, target.lastIndexOf(':'))
      // `gemini/<model>`, as the surface's model calls take it, names the provider this route forwards to.
      if (model.startsWith(`${provider}/`)) model = model.slice(provider.length + 1)
      if (!/^[A-Za-z0-9._-]+$/.test(model)) throw new GatewayError({ status: 400, code: 'invalid_request', retryable: false, message: `models/${model.slice(0, 80)} is not a Gemini model name; batch mode is forwarded to the gemini provider` })
      const body = await readJsonObject(c.req.raw, batches.maxBodyBytes)
      const operation = await jsonOfSent(await send(c, 'POST', `/models/${model}:batchGenerateContent`, body.text))
      const name = typeof operation.name === 'string' ? operation.name : ''
      if (/^batches\/[A-Za-z0-9_-]{1,128}$/.test(name)) await batches.store.upstream.put(upstreamKeyOf(provider, name), { v: 1, provider, owner, created_at: nowSeconds(), id: name })
      return json(operation)
    }),
  )
  app.get(
    '/genai/:version/batches',
    serve(async (c, batches, owner) => {
      version(c)
      const page = await jsonOfSent(await send(c, 'GET', `/batches${listQuery(c)}`))
      const visible = await visibilityOf(batches.store, owner, provider)
      const operations = (Array.isArray(page.operations) ? page.operations : []).filter((operation) => isObject(operation) && typeof operation.name === 'string' && /^batches\/[A-Za-z0-9_-]{1,128}$/.test(operation.name) && visible(upstreamKeyOf(provider, operation.name)))
      return json({ ...page, operations })
    }),
  )
  app.post(
    '/genai/:version/batches/:target{[^/]+:cancel}',
    serve(async (c, batches, owner) => {
      version(c)
      const id = (c.req.param('target') ?? '').slice(0, -':cancel'.length)
      await ownership(batches, id, owner)
      return relayed(await send(c, 'POST', `/batches/${id}:cancel`, '{}'))
    }),
  )
  app.get(
    '/genai/:version/batches/:id',
    serve(async (c, batches, owner) => {
      version(c)
      const id = c.req.param('id') ?? ''
      await ownership(batches, id, owner)
      return relayed(await send(c, 'GET', `/batches/${id}`))
    }),
  )
  app.delete(
    '/genai/:version/batches/:id',
    serve(async (c, batches, owner) => {
      version(c)
      const id = c.req.param('id') ?? ''
      const key = await ownership(batches, id, owner)
      const answer = relayed(await send(c, 'DELETE', `/batches/${id}`))
      const record = await batches.store.upstream.get(key)
      if (record) await batches.store.upstream.remove(key, record)
      return answer
    }),
  )
}
