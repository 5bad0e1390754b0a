import type { Context, Hono } from 'hono'
import { formatWarnings, GatewayError, type Logger, type PluginSetupContext } from '@switchyard/core'
import { renderFilesError, serveAdmitted } from '../routes.js'
import { readJsonBody } from './body.js'
import type { BatchCaller, BatchService } from './service.js'
import type { BatchListQuery } from './targets/openai.js'

/** What the Batch API routes need once the plugin is set up. */
export interface BatchesRuntime {
  service: BatchService
  /** Largest `POST /batches` body (the gateway's `client.max_request_body_size_mb`). */
  maxBodyBytes: number
}

/** `GET /batches` query: OpenAI's `limit` (1 to 100, default 20) and `after`; 400 on bad values. */
function listQueryOf(c: Context): BatchListQuery {
  const limitText = c.req.query('limit')
  const limit = limitText === undefined ? 20 : Number(limitText)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw GatewayError.badRequest("Invalid 'limit': expected an integer from 1 to 100", 'limit')
  return { limit, limitGiven: limitText !== undefined, after: c.req.query('after') || undefined }
}

const json = (value: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json', ...headers } })

/**
 * The Batch API routes on the OpenAI surface, with and without `/v1`: `POST /batches`,
 * `GET /batches`, `GET /batches/{id}`, `POST /batches/{id}/cancel`. The provider comes from the
 * `provider` body field (`extra_body`) or query parameter (`extra_query`); default `openai`. Each
 * request runs the gateway's `onRequest` hooks first (`ctx.operation` is `batches`).
 */
export function registerBatchRoutes(app: Hono, context: PluginSetupContext, runtime: () => BatchesRuntime | undefined, log: Logger): void {
  const serve = serveAdmitted({ context, runtime, log, surface: 'openai', operation: 'batches', starting: 'the Batch API is starting; retry shortly', render: renderFilesError })
  const callerOf = (c: Context, owner: string): BatchCaller => ({ owner, headers: c.req.raw.headers, signal: c.req.raw.signal })
  const idOf = (c: Context) => c.req.param('id') ?? ''

  for (const base of ['/openai', '/openai/v1']) {
    app.post(
      `${base}/batches`,
      serve(async (c, batches, owner) => {
        const body = await readJsonBody(c.req.raw, batches.maxBodyBytes)
        const { batch, warnings } = await batches.service.create(body, callerOf(c, owner))
        const header = formatWarnings(warnings)
        return json(batch, header ? { 'x-switchyard-warnings': header } : {})
      }),
    )
    app.get(
      `${base}/batches`,
      serve(async (c, batches, owner) => json(await batches.service.list(c.req.query('provider') || 'openai', listQueryOf(c), callerOf(c, owner)))),
    )
    app.get(
      `${base}/batches/:id`,
      serve(async (c, batches, owner) => json(await batches.service.retrieve(idOf(c), c.req.query('provider'), callerOf(c, owner)))),
    )
    app.post(
      `${base}/batches/:id/cancel`,
      serve(async (c, batches, owner) => {
        // The provider may come as `extra_query` or as `extra_body` (the reference's Python cancels with extra_body).
        const body = await readJsonBody(c.req.raw, batches.maxBodyBytes, true)
        const provider = c.req.query('provider') || (typeof body.provider === 'string' ? body.provider : undefined)
        return json(await batches.service.cancel(idOf(c), provider, callerOf(c, owner)))
      }),
    )
  }
}
