import type { Context } from 'hono'
import { GatewayError } from '../errors.js'
import type { HookRunner } from '../hooks.js'
import type { Usage } from '../ir/usage.js'
import type { RequestContext } from '../plugin.js'
import { createRelayStep } from '../relay.js'
import { sendUpstream, type Route, type SendResult } from '../router.js'
import { formatSse } from '../sse.js'
import type { PassthroughSpec } from '../surface-host.js'
import { answerHeaders, extraFields, type Accounting, type CallState } from './accounting.js'
import { guardUpstream } from './guard.js'

/** What the passthrough path needs from its host. */
export interface PassthroughDeps {
  hooks: HookRunner
  accounting: Accounting
  fetch: typeof fetch
  pickHeaders(headers: Headers): Record<string, string> | undefined
}

/** A failure frame for a dialect that did not say how it reports one: `event: error` with an OpenAI-like body. */
export function genericErrorFrame(error: GatewayError): string {
  return formatSse(JSON.stringify({ error: { message: error.message, type: error.type ?? error.code, code: error.code } }), 'error')
}

const isSpace = (byte: number | undefined) => byte === 32 || byte === 10 || byte === 13 || byte === 9

/** True when `bytes` is shaped like one JSON object or array (first and last non-space bytes); never parses. */
export function looksLikeJson(bytes: Uint8Array): boolean {
  let start = 0
  let end = bytes.length
  while (start < end && isSpace(bytes[start])) start++
  while (end > start && isSpace(bytes[end - 1])) end--
  if (end - start < 2) return false
  const first = bytes[start]
  const last = bytes[end - 1]
  return (first === 123 && last === 125) || (first === 91 && last === 93)
}

const decoder = new TextDecoder()

/** Adds `extra_fields` to a JSON object text (only when a fallback answered: parse + stringify). */
function withExtraFields(text: string, fields: object): string {
  try {
    const json = JSON.parse(text) as unknown
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return text
    return JSON.stringify({ ...json, extra_fields: fields })
  } catch {
    return text
  }
}

/**
 * Same-dialect call: the caller's body (model spliced in) goes to the upstream, and the answer
 * comes back as it is. A stream is relayed byte for byte (whole frames at a time), watched for
 * upstream silence, and ends with the dialect's error frame when the upstream breaks off.
 */
export async function runPassthrough(deps: PassthroughDeps, c: Context, ctx: RequestContext, call: { stream: boolean }, spec: PassthroughSpec, route: Route, directKey: string | undefined, state: CallState): Promise<Response> {
  const { hooks, accounting } = deps
  // Only an upstream that reports stream usage on request is asked for it (Mistral rejects the option).
  const injectUsage = call.stream && !spec.wantsStreamUsage && spec.isUsageOnly !== undefined && (route.provider.definition.upstream?.streamUsage ?? 'on-request') === 'on-request'
  const body = spec.body(route.model, injectUsage)
  const signal = c.req.raw.signal
  const sent = await sendUpstream({
    route,
    directKey,
    signal,
    fetch: deps.fetch,
    tally: state,
    build(context) {
      const target = route.provider.definition.upstream!.passthrough!(spec.path, context, route.model)
      const forwarded = deps.pickHeaders(c.req.raw.headers)
      const headers = forwarded || spec.headers ? { ...forwarded, ...target.headers, ...spec.headers } : target.headers
      return { url: target.url, method: 'POST', headers, body }
    },
  })
  const provider = route.provider.id
  const contentType = sent.response.headers.get('content-type') ?? (call.stream ? 'text/event-stream' : 'application/json')
  const wantsUsage = hooks.has.afterUpstream || hooks.has.onFinish
  const eventStream = contentType.startsWith('text/event-stream')
  if (spec.relay && !eventStream) return relayBody(deps, ctx, state, sent, route, contentType, signal)
  if (!call.stream || !eventStream) {
    // Read whole (as bytes, never parsed): the status can still become a 502 when the upstream's
    // JSON is cut off, and a body that stalls or breaks is an error response, not a broken 200.
    // The request timeout covers the read.
    let bytes: Uint8Array<ArrayBuffer>
    try {
      bytes = new Uint8Array(await sent.response.arrayBuffer())
    } catch (caught) {
      throw sent.failed(caught)
    } finally {
      sent.settle()
    }
    const json = contentType.includes('json')
    if (json && !looksLikeJson(bytes)) {
      throw new GatewayError({ status: 502, code: 'upstream', message: `[${provider}] the upstream answered with malformed JSON`, provider, retryable: true })
    }
    const usage = wantsUsage ? spec.usageFrom(decoder.decode(bytes)) : undefined
    accounting.afterUpstream(ctx, { ok: true, status: sent.response.status, usage })
    accounting.finish(ctx, state, { status: sent.response.status, usage, error: undefined, firstByteMs: undefined, aborted: false })
    const body = state.fallbackIndex > 0 && json ? withExtraFields(decoder.decode(bytes), extraFields(ctx, state)) : bytes
    return new Response(body, { status: sent.response.status, headers: answerHeaders(ctx, state, contentType) })
  }
  sent.done()
  let failure: GatewayError | undefined
  const step = createRelayStep({
    strip: injectUsage ? spec.isUsageOnly : undefined,
    usageFrom: wantsUsage || injectUsage ? spec.usageFrom : undefined,
    onEvent: undefined,
    mergeUsage: spec.mergeUsage,
  })
  const relayed = guardUpstream(sent, {
    provider,
    idleMs: route.provider.streamIdleMs,
    signal,
    errorFrame: spec.streamError ?? genericErrorFrame,
    onError: (error) => (failure = error),
    step,
  })
  const usage: () => Usage | undefined = step ? step.usage : () => undefined
  const outgoing = accounting.observe(ctx, state, relayed, { status: sent.response.status, usage, error: () => failure })
  return new Response(outgoing, { status: sent.response.status, headers: { ...answerHeaders(ctx, state, contentType), 'cache-control': 'no-cache' } })
}

/**
 * A same-dialect answer relayed as it arrives, bytes unread (binary audio): watched for upstream
 * silence like a stream; one that breaks off errors the caller's body (no frame can be appended to
 * bytes of an unknown format). Nothing in it is usage.
 */
function relayBody(deps: PassthroughDeps, ctx: RequestContext, state: CallState, sent: SendResult, route: Route, contentType: string, signal: AbortSignal): Response {
  sent.done()
  let failure: GatewayError | undefined
  const relayed = guardUpstream(sent, { provider: route.provider.id, idleMs: route.provider.streamIdleMs, signal, onError: (error) => (failure = error) })
  const outgoing = deps.accounting.observe(ctx, state, relayed, { status: sent.response.status, usage: () => undefined, error: () => failure })
  return new Response(outgoing, { status: sent.response.status, headers: answerHeaders(ctx, state, contentType) })
}
