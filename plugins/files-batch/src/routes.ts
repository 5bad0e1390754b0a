import type { Context, Hono } from 'hono'
import { GatewayError, toGatewayError, type AdmittedRequest, type HookContext, type Logger, type PluginSetupContext, type RouteOperation } from '@switchyard/core'
import { toOpenAIErrorBody } from '@switchyard/provider-openai'
import type { ListQuery } from './file-object.js'
import type { FilesService } from './service.js'
import { nestedField, readUpload } from './upload.js'
import type { BlobStore } from './s3.js'

/** Where the governance plugin leaves the caller's virtual key (`{ id }`) in `ctx.state`. */
export const VIRTUAL_KEY_STATE = 'switchyard:virtual_key'

/** The caller's virtual key id, or `''` when the request carries none. */
export function ownerOf(ctx: HookContext): string {
  const key = ctx.state.get(VIRTUAL_KEY_STATE) as { id?: unknown } | undefined
  return typeof key?.id === 'string' ? key.id : ''
}

/**
 * A GatewayError in OpenAI's error shape. A missing file is `invalid_request_error` with a null
 * `code`, as OpenAI answers it (the surface's renderer calls every 404 `model_not_found`).
 */
export function renderFilesError(error: GatewayError): Response {
  const body = toOpenAIErrorBody(error)
  if (error.code === 'not_found' && body.error.code === 'model_not_found') body.error.code = null
  return new Response(JSON.stringify(body), { status: error.status, headers: { 'content-type': 'application/json' } })
}

/** What the routes need once the plugin is set up. */
export interface FilesRuntime {
  service: FilesService
  blobs: BlobStore
  maxFileBytes: number
}

/** `GET /files` query: OpenAI's `purpose`, `limit` (1 to 10,000), `order`, `after`; 400 on bad values. */
function listQueryOf(c: Context): ListQuery {
  const limitText = c.req.query('limit')
  const limit = limitText === undefined ? 10_000 : Number(limitText)
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw GatewayError.badRequest("Invalid 'limit': expected an integer from 1 to 10000", 'limit')
  const order = c.req.query('order') ?? 'desc'
  if (order !== 'asc' && order !== 'desc') throw GatewayError.badRequest("Invalid 'order': expected 'asc' or 'desc'", 'order')
  return { purpose: c.req.query('purpose') || undefined, limit, limitGiven: limitText !== undefined, order, after: c.req.query('after') || undefined }
}

/** A route handler that runs once the caller was admitted: the plugin's runtime and the caller's virtual key id (`''` without one). */
export type AdmittedHandler<R> = (c: Context, runtime: R, owner: string) => Promise<Response>

/** How `serveAdmitted` serves one family of routes. */
export interface RouteServerOptions<R> {
  context: PluginSetupContext
  /** The plugin's runtime, undefined until it is set up (the routes answer 503 until then). */
  runtime: () => R | undefined
  log: Logger
  /** Dialect of the routes (`ctx.surface`). */
  surface: string
  operation: RouteOperation
  /** What the 503 says while the plugin starts. */
  starting: string
  /** A GatewayError in the routes' dialect. */
  render(error: GatewayError): Response
}

/**
 * Wraps route handlers: each request first goes through the gateway's `onRequest` hooks
 * (authentication, virtual keys, rate limits), exactly as a model call does, then the handler;
 * every failure is rendered in the routes' dialect, and `afterUpstream`/`onFinish` see the answer.
 */
export function serveAdmitted<R>(options: RouteServerOptions<R>): (handler: AdmittedHandler<R>) => (c: Context) => Promise<Response> {
  const { context, log } = options
  return (handler) => async (c) => {
    let admitted: AdmittedRequest | undefined
    let response: Response
    let failure: GatewayError | undefined
    try {
      const ready = options.runtime()
      if (!ready) throw new GatewayError({ status: 503, code: 'overloaded', type: 'server_error', message: options.starting, retryable: true })
      admitted = await context.admit(c.req.raw, { surface: options.surface, operation: options.operation })
      response = await handler(c, ready, ownerOf(admitted.ctx))
    } catch (caught) {
      failure = c.req.raw.signal.aborted ? new GatewayError({ status: 499, code: 'client_closed', message: 'the caller went away', retryable: false }) : toGatewayError(caught)
      if (failure.status >= 500 && failure.code === 'internal') log.error(`${options.operation} request failed`, { path: c.req.path, error: String((caught as Error)?.stack ?? caught) })
      response = options.render(failure)
      if (failure.headers) for (const [name, value] of Object.entries(failure.headers)) response.headers.set(name, value)
      // An upload refused part way: the rest of its body is never read, so this connection cannot
      // carry another request (RFC 9112, section 9.6); say so, or a client may reuse it.
      if (c.req.method === 'POST') response.headers.set('connection', 'close')
    }
    // The hooks see the answer (`afterUpstream`, `onFinish`); the headers they set are added by the gateway.
    return admitted ? admitted.respond(response, failure) : response
  }
}

/**
 * The Files API routes on the OpenAI surface, with and without `/v1`. Each request first goes
 * through the gateway's `onRequest` hooks (authentication, virtual keys, rate limits), exactly as
 * a model call does; errors are OpenAI-shaped.
 */
export function registerFileRoutes(app: Hono, context: PluginSetupContext, runtime: () => FilesRuntime | undefined, log: Logger): void {
  const serve = serveAdmitted({ context, runtime, log, surface: 'openai', operation: 'files', starting: 'the Files API is starting; retry shortly', render: renderFilesError })

  const json = (value: unknown) => new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json' } })
  const idOf = (c: Context) => c.req.param('id') ?? ''

  for (const base of ['/openai', '/openai/v1']) {
    app.post(
      `${base}/files`,
      serve(async (c, files, owner) => json(await files.service.create(await readUpload(c.req.raw, files.blobs, files.maxFileBytes), owner, c.req.raw.signal))),
    )
    app.get(
      `${base}/files`,
      serve(async (c, files, owner) => {
        const query = listQueryOf(c)
        const storageConfig = nestedField(new Map(new URL(c.req.url).searchParams), 'storage_config')
        return json(await files.service.list(c.req.query('provider') || 'openai', query, owner, c.req.raw.signal, storageConfig))
      }),
    )
    app.get(
      `${base}/files/:id`,
      serve(async (c, files, owner) => json(await files.service.retrieve(await files.service.resolve(idOf(c), c.req.query('provider'), owner, c.req.raw.signal)))),
    )
    app.delete(
      `${base}/files/:id`,
      serve(async (c, files, owner) => json(await files.service.remove(await files.service.resolve(idOf(c), c.req.query('provider'), owner, c.req.raw.signal)))),
    )
    app.get(
      `${base}/files/:id/content`,
      serve(async (c, files, owner) => {
        const content = await files.service.content(await files.service.resolve(idOf(c), c.req.query('provider'), owner, c.req.raw.signal))
        return new Response(content.body, { status: 200, headers: { 'content-type': content.contentType } })
      }),
    )
  }
}
