import type { GatewayError } from '../errors.js'
import type { HookRunner } from '../hooks.js'
import type { Usage } from '../ir/usage.js'
import { formatWarnings } from '../ir/warning.js'
import type { FinishSummary, RequestContext } from '../plugin.js'

/** What one request did upstream so far: attempts, retries, which target answered. */
export interface CallState {
  /** Upstream attempts, every target together. */
  attempts: number
  /** Attempts that repeated a target. */
  retries: number
  /** 0 while the primary target is tried, then the index of the fallback in the chain. */
  fallbackIndex: number
}

/** How a relayed body reports its end. */
export interface BodyOutcome {
  status: number
  /** Usage seen so far (all of it once the body ended). */
  usage(): Usage | undefined
  /** The failure that ended the body early, if any (an upstream break, the idle timeout). */
  error(): GatewayError | undefined
}

/** `afterUpstream` and `onFinish` for one request, in the order and timing the hooks promise. */
export interface Accounting {
  /** `afterUpstream`, when a plugin has it. */
  afterUpstream(ctx: RequestContext, outcome: Parameters<HookRunner['afterUpstream']>[1]): void
  /** `onFinish` after the response was handed to the runtime, when a plugin has it. */
  finish(ctx: RequestContext, call: CallState, summary: Pick<FinishSummary, 'status' | 'usage' | 'error' | 'firstByteMs' | 'aborted'>): void
  /** Wraps an outgoing body to report its first byte, its end and a caller who left (both hooks). */
  observe(ctx: RequestContext, call: CallState, body: ReadableStream<Uint8Array>, outcome: BodyOutcome): ReadableStream<Uint8Array>
}

export function createAccounting(hooks: HookRunner): Accounting {
  const afterUpstream: Accounting['afterUpstream'] = (ctx, outcome) => {
    if (hooks.has.afterUpstream) ctx.waitUntil(hooks.afterUpstream(ctx, outcome))
  }
  const finish: Accounting['finish'] = (ctx, call, summary) => {
    if (!hooks.has.onFinish) return
    const full: FinishSummary = { ...summary, attempts: call.attempts, retries: call.retries, fallbackIndex: call.fallbackIndex, durationMs: performance.now() - ctx.startedAt }
    // After the response was handed to the runtime: a timer, never a microtask before the write.
    setTimeout(() => ctx.waitUntil(hooks.onFinish(ctx, full)), 0)
  }
  const observe: Accounting['observe'] = (ctx, call, body, outcome) => {
    if (!hooks.has.onFinish && !hooks.has.afterUpstream) return body
    let firstByteMs: number | undefined
    let ended = false
    const end = (aborted: boolean) => {
      if (ended) return
      ended = true
      const usage = outcome.usage()
      const error = aborted ? undefined : outcome.error()
      afterUpstream(ctx, error ? { ok: false, error } : { ok: true, status: outcome.status, usage, ...(aborted && { aborted }) })
      finish(ctx, call, { status: outcome.status, usage, error, firstByteMs, aborted })
    }
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          if (firstByteMs === undefined) firstByteMs = performance.now() - ctx.startedAt
          controller.enqueue(chunk)
        },
        flush() {
          end(false)
        },
        cancel() {
          // The caller went away, unless the body failed (an upstream break on a relay without an error frame).
          end(outcome.error() === undefined)
        },
      } as Transformer<Uint8Array, Uint8Array> & { cancel(): void }),
    )
  }
  return { afterUpstream, finish, observe }
}

/** Response headers of an answer: content type, request id, who answered, warnings. */
export function answerHeaders(ctx: RequestContext, call: CallState, contentType: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': contentType, 'x-request-id': ctx.id }
  if (ctx.provider) headers['x-bf-provider'] = ctx.provider
  if (ctx.model) headers['x-bf-model'] = ctx.model
  if (call.fallbackIndex > 0) headers['x-bf-fallback-index'] = String(call.fallbackIndex)
  const warnings = formatWarnings(ctx.warnings)
  if (warnings) headers['x-switchyard-warnings'] = warnings
  return headers
}

/** Bifrost's `extra_fields` of a JSON answer: who answered, and which fallback it was. */
export function extraFields(ctx: RequestContext, call: CallState): { provider: string | undefined; model_requested: string | undefined; fallback_index: number } {
  return { provider: ctx.provider, model_requested: ctx.model, fallback_index: call.fallbackIndex }
}
