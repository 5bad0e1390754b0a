import { GatewayError, type BeforeUpstreamResult, type HookContext } from '@switchyard/core'
import type { StoredBody } from './body.js'
import { hasPendingObject, jobView, PENDING_CALLS, pendingObject, pendingResponse, storedResponse } from './dialect.js'
import {
  ASYNC_HEADER,
  ASYNC_ID_HEADER,
  ASYNC_TTL_HEADER,
  createJobId,
  credentialOf,
  isJobId,
  mayRead,
  NATIVE_SUBMIT_HEADER,
  parseAsyncFlag,
  parseResultTtl,
  storedHeaders,
  type JobRecord,
  type JobResult,
  type JobSummary,
} from './job.js'
import type { ResolvedAsyncOptions } from './options.js'
import type { JobStore } from './store.js'
import type { JobWorker } from './worker.js'

/** What the capture middleware keeps of a submit: where it was sent and its body as received. */
export interface CapturedRequest extends StoredBody {
  url: string
}

/** `ctx.state` key under which governance puts the caller's virtual key (`{ id, name }`). */
export const VIRTUAL_KEY_STATE = 'switchyard:virtual_key'

/** The virtual key a plugin identified for this request, by id; null when none did. */
export function virtualKeyOf(ctx: HookContext): string | null {
  const key = ctx.state.get(VIRTUAL_KEY_STATE) as { id?: unknown } | undefined
  return typeof key?.id === 'string' ? key.id : null
}

export function jobNotFound(id: string): GatewayError {
  return new GatewayError({ status: 404, code: 'not_found', message: `async job ${JSON.stringify(id.slice(0, 80))} not found (unknown, expired, or not yours)`, retryable: false })
}

/** A failure that has no stored answer (cancelled, interrupted), as a GatewayError the caller's surface renders. */
export function failureError(result: JobResult): GatewayError {
  const failure = result.failure ?? { status: 500, code: 'internal', message: `async job ${result.id} has no answer` }
  return new GatewayError({ status: failure.status, code: failure.code, message: failure.message, retryable: false, headers: { 'x-bf-async-id': result.id, 'x-bf-async-status': result.status } })
}

/** A storage failure (Redis unreachable ...) while submitting or polling: a 503 the caller may retry, in its dialect. */
async function withStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (GatewayError.is(error)) throw error
    throw new GatewayError({ status: 503, code: 'overloaded', message: 'async inference: the job store is unavailable, try again shortly', retryable: true, cause: error, headers: { 'retry-after': '1' } })
  }
}

export interface AsyncService {
  /** Submits from the surfaces' requests: filled by the capture middleware, read by `beforeUpstream`. */
  readonly captured: WeakMap<Headers, CapturedRequest>
  beforeUpstream(ctx: HookContext): Promise<BeforeUpstreamResult>
  /** A job as its owner may see it: the result when finished, else the stored request and its state. */
  find(id: string, caller: { vk: string | null | undefined; credential: string | null }): Promise<{ summary: JobSummary; result: JobResult | undefined } | undefined>
}

export function createAsyncService(deps: { store: JobStore; worker: JobWorker; options: ResolvedAsyncOptions; now?: () => number }): AsyncService {
  const { store, worker, options } = deps
  const now = deps.now ?? Date.now
  const captured = new WeakMap<Headers, CapturedRequest>()

  async function find(id: string, caller: { vk: string | null | undefined; credential: string | null }) {
    if (!isJobId(id)) return undefined
    let result = await store.result(id, now())
    let summary: JobSummary | undefined = result ?? (await store.job(id))
    // The job may have finished between the two reads (its request is deleted once the result is stored).
    if (!summary) summary = result = await store.result(id, now())
    if (!summary || !mayRead(summary.owner, caller)) return undefined
    return { summary, result }
  }

  /** A finished job's answer: the stored response, or its failure in the caller's dialect. */
  function answerOf(result: JobResult): BeforeUpstreamResult {
    if (!result.response) throw failureError(result)
    return { http: storedResponse(result) }
  }

  async function submit(ctx: HookContext): Promise<BeforeUpstreamResult> {
    const native = ctx.headers.has(NATIVE_SUBMIT_HEADER)
    if (!native && !hasPendingObject(ctx.surface, ctx.operation)) {
      throw GatewayError.badRequest(`${ASYNC_HEADER} is not available for this endpoint (${ctx.surface} ${ctx.operation}); it works on ${PENDING_CALLS}, and any model call through POST /v1/async/...`)
    }
    const ttlSeconds = parseResultTtl(ctx.headers.get(ASYNC_TTL_HEADER), options.resultTtlSeconds, options.maxResultTtlSeconds)
    const request = captured.get(ctx.headers)
    if (!request) throw new GatewayError({ status: 500, code: 'internal', message: 'async inference: the submitted request was not captured', retryable: false })
    const url = new URL(request.url)
    const job: JobRecord = {
      v: 1,
      id: createJobId(),
      createdAt: now(),
      owner: { vk: virtualKeyOf(ctx), credential: await credentialOf(ctx.headers) },
      surface: ctx.surface,
      operation: ctx.operation,
      model: ctx.requestedModel,
      path: `${url.pathname}${url.search}`,
      ttlSeconds,
      headers: storedHeaders(ctx.headers),
      body: request.body,
      ...(request.encoding ? { bodyEncoding: request.encoding } : {}),
    }
    const finished = options.submitWaitMs > 0 ? worker.waitFor(job.id, options.submitWaitMs) : undefined
    // Durable before the caller hears of it: a crash after this answer never loses the job.
    await store.create(job)
    await worker.announce(job.id)
    if (finished && (await finished)) {
      const result = await store.result(job.id, now())
      if (result) return native ? { http: Response.json(jobView(result, result, undefined), { headers: { 'x-bf-async-id': job.id, 'x-bf-async-status': result.status } }) } : answerOf(result)
    }
    const status = finished ? ((await store.state(job.id))?.status ?? 'queued') : 'queued'
    return { http: pendingResponse(native ? jobView(job, undefined, { status, attempts: 0 }) : pendingObject(job, status), job.id, status) }
  }

  async function poll(ctx: HookContext, id: string): Promise<BeforeUpstreamResult> {
    if (ctx.stream) throw GatewayError.badRequest(`${ASYNC_ID_HEADER} cannot be combined with streaming: poll without "stream": true`, 'stream')
    const found = await find(id, { vk: virtualKeyOf(ctx), credential: await credentialOf(ctx.headers) })
    if (!found) throw jobNotFound(id)
    const { summary, result } = found
    if (summary.surface !== ctx.surface || summary.operation !== ctx.operation) {
      throw GatewayError.badRequest(`async job ${id} was submitted to POST ${summary.path.split('?')[0]}: poll it there, or read it with GET /v1/async/${id}`)
    }
    if (result) return answerOf(result)
    const status = (await store.state(id))?.status ?? 'queued'
    return { http: pendingResponse(pendingObject(summary, status), id, status) }
  }

  return {
    captured,
    find,
    async beforeUpstream(ctx) {
      const flag = ctx.headers.get(ASYNC_HEADER)
      const pollId = ctx.headers.get(ASYNC_ID_HEADER)
      if (flag === null && pollId === null) return undefined
      const submitting = parseAsyncFlag(flag)
      if (pollId !== null) {
        if (submitting) throw GatewayError.badRequest(`send either ${ASYNC_HEADER} (submit) or ${ASYNC_ID_HEADER} (poll), not both`)
        return withStore(() => poll(ctx, pollId.trim()))
      }
      if (!submitting) return undefined
      if (ctx.stream) throw GatewayError.badRequest(`${ASYNC_HEADER} cannot be combined with streaming: send the request without "stream": true`, 'stream')
      return withStore(() => submit(ctx))
    },
  }
}
