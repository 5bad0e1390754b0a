import type { PluginDefinition } from '@switchyard/core'
import { storeBody, type StoredBody } from './body.js'
import { jobView } from './dialect.js'
import { ASYNC_HEADER, credentialOf, NATIVE_SUBMIT_HEADER } from './job.js'
import type { AsyncService } from './service.js'
import type { JobStore } from './store.js'
import type { JobWorker } from './worker.js'

/** What the native endpoints need; undefined until the plugin's setup ran (they answer 503 until then). */
export interface NativeDeps {
  service: AsyncService
  store: JobStore
  worker: JobWorker
  dispatch(request: Request): Promise<Response>
}

/** How long `DELETE /v1/async/:id` waits for a running job to stop before it answers (ms). */
export const CANCEL_WAIT_MS = 5_000

/** The gateway's Hono app, as `routes(app)` receives it. */
type App = Parameters<NonNullable<PluginDefinition['routes']>>[0]

const error = (status: 400 | 404 | 503, type: string, message: string) => Response.json({ error: { message, type } }, { status })
const notReady = () => error(503, 'unavailable', 'async inference is starting')

/** A storage failure (Redis unreachable ...) is a 503 the caller may retry, not a 500. */
async function guarded(handle: () => Promise<Response>): Promise<Response> {
  try {
    return await handle()
  } catch {
    const response = error(503, 'unavailable', 'async inference: the job store is unavailable, try again shortly')
    response.headers.set('retry-after', '1')
    return response
  }
}

/**
 * Keeps, for each submit (`x-bf-async` on a POST), the URL it was sent to and its body as received:
 * the job's run sends exactly that again. It runs before the surfaces, which read the same body
 * afterwards (Hono keeps the bytes, and decodes them for a surface that wants text), so nothing is
 * read twice. Any other request costs one header lookup.
 */
export function registerCapture(app: App, captured: () => WeakMap<Headers, { url: string } & StoredBody> | undefined, maxBodyBytes: number): void {
  app.use('*', async (c, next) => {
    const headers = c.req.raw.headers
    if (c.req.method === 'POST' && headers.has(ASYNC_HEADER)) {
      const store = captured()
      // An oversized body is the surface's 413 to give, before anything is kept.
      if (store && !(Number(headers.get('content-length') ?? 0) > maxBodyBytes)) {
        try {
          const bytes = new Uint8Array(await c.req.arrayBuffer())
          store.set(headers, { url: c.req.url, ...storeBody(bytes, headers.get('content-type')) })
        } catch {
          // An unreadable body: the surface answers it with its own 400.
        }
      }
    }
    await next()
  })
}

/**
 * The native endpoints, for any model call and without the dialects' pending objects:
 * - `POST /v1/async/<surface path>` (`/v1/async/openai/v1/chat/completions`): submits the call as a
 *   job (through the surface, so governance, routing and validation apply) and answers 202 with the
 *   job view;
 * - `GET /v1/async/:id`: the job view (status, timestamps, and the result once finished);
 * - `DELETE /v1/async/:id`: cancels an unfinished job and answers the job view.
 * No hook runs for `GET` and `DELETE`, so they authenticate by the credential headers the job was
 * submitted with: the same `Authorization` / `x-api-key` / `x-bf-vk` ... must be sent.
 */
export function registerNativeRoutes(app: App, deps: () => NativeDeps | undefined): void {
  app.post('/v1/async/*', async (c) => {
    const ready = deps()
    if (!ready) return notReady()
    const url = new URL(c.req.url)
    const target = url.pathname.slice('/v1/async'.length)
    if (!target.startsWith('/') || target === '/' || target.startsWith('/v1/async')) {
      return error(400, 'invalid_request_error', 'POST /v1/async/<path>: name the model call to run, e.g. /v1/async/openai/v1/chat/completions')
    }
    const headers = new Headers(c.req.raw.headers)
    headers.set(ASYNC_HEADER, 'true')
    headers.set(NATIVE_SUBMIT_HEADER, '1')
    headers.delete('content-length')
    const body = await c.req.arrayBuffer()
    // Through the surface: the same validation, routing and hooks as a submit there.
    return ready.dispatch(new Request(`${url.origin}${target}${url.search}`, { method: 'POST', headers, body, signal: c.req.raw.signal }))
  })

  const lookup = async (request: Request, id: string) => {
    const ready = deps()
    if (!ready) return { response: notReady() }
    const found = await ready.service.find(id, { vk: undefined, credential: await credentialOf(request.headers) })
    if (!found) return { response: error(404, 'not_found', `async job ${JSON.stringify(id.slice(0, 80))} not found (unknown, expired, or not yours)`) }
    return { ready, found }
  }

  /** `GET /v1/async/:id`: the job view. */
  const show = async (request: Request, id: string) => {
    const looked = await lookup(request, id)
    if (looked.response) return looked.response
    const { ready, found } = looked
    const state = found.result ? undefined : await ready.store.state(id)
    return Response.json(jobView(found.summary, found.result, state), { headers: { 'x-bf-async-id': id } })
  }

  /** `DELETE /v1/async/:id`: cancels an unfinished job (waiting a little for a running one to stop), then the job view. */
  const cancel = async (request: Request, id: string) => {
    const looked = await lookup(request, id)
    if (looked.response) return looked.response
    const { ready, found } = looked
    if (!found.result) await ready.worker.cancel(id, CANCEL_WAIT_MS)
    const result = found.result ?? (await ready.store.result(id, Date.now()))
    const state = result ? undefined : await ready.store.state(id)
    return Response.json(jobView(found.summary, result, state, result ? {} : { cancel_requested: true }), { headers: { 'x-bf-async-id': id } })
  }

  app.get('/v1/async/:id', (c) => guarded(() => show(c.req.raw, c.req.param('id'))))
  app.delete('/v1/async/:id', (c) => guarded(() => cancel(c.req.raw, c.req.param('id'))))
}
