import { codeForStatus, GatewayError } from '../errors.js'
import type { ChatRequest, ChatResponse } from '../ir/chat.js'
import { textOf } from '../ir/content.js'
import type { StreamEvent } from '../ir/stream-event.js'
import type { Usage } from '../ir/usage.js'
import type { ProviderDefinition, SurfaceDefinition } from '../provider.js'
import { replaceModel } from '../raw-json.js'
import { createSseDecoder, formatSse } from '../sse.js'

/**
 * A tiny HTTP dialect for pipeline tests ("wire"): `POST {base}/chat` with `{ model, input, stream }`
 * answers `{ model, text, usage: { in, out } }`, or SSE `data: {"text":..}` frames and a last
 * `data: {"done":true,"usage":{..}}`. The same codecs serve any dialect name, so a `wire` surface
 * calling a `wire` provider goes through passthrough, and one calling another dialect translates.
 */

const usageOf = (raw: unknown): Usage | undefined => {
  const usage = (raw as { usage?: { in?: number; out?: number } } | undefined)?.usage
  return usage ? { inputTokens: usage.in, outputTokens: usage.out } : undefined
}

export function wireProvider(id: string, dialect: string, surface?: SurfaceDefinition): ProviderDefinition {
  return {
    id,
    spec: 1,
    dialect,
    baseURL: `http://${id}.test`,
    upstream: {
      chat: {
        request: (ir: ChatRequest, context) => ({
          url: `${context.baseURL}/chat`,
          headers: { authorization: `Bearer ${context.key?.value}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: ir.model, input: textOf(ir.messages.at(-1)?.content ?? []), stream: ir.stream === true }),
        }),
        response: (json): ChatResponse => {
          const wire = json as { model: string; text: string }
          return { id: 'r', model: wire.model, created: 0, choices: [{ index: 0, message: { role: 'assistant', content: [{ type: 'text', text: wire.text }] }, finishReason: { unified: 'stop', raw: 'stop' } }], usage: usageOf(json) }
        },
        stream: (body) => {
          let started = false
          return body.pipeThrough(createSseDecoder()).pipeThrough(
            new TransformStream({
              transform(event, controller: TransformStreamDefaultController<StreamEvent>) {
                const data = JSON.parse(event.data) as { text?: string; done?: boolean }
                if (!started) {
                  started = true
                  controller.enqueue({ type: 'response-start', id: 'r', model: 'm' })
                  controller.enqueue({ type: 'text-start', id: '0' })
                }
                if (data.text !== undefined) controller.enqueue({ type: 'text-delta', id: '0', delta: data.text })
                if (data.done) {
                  controller.enqueue({ type: 'text-end', id: '0' })
                  controller.enqueue({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usageOf(data) })
                }
              },
            }),
          )
        },
      },
      error: (status, body, headers) =>
        new GatewayError({ status, code: codeForStatus(status), message: `[${id}] ${body}`, provider: id, headers: headers.get('retry-after') ? { 'retry-after': headers.get('retry-after')! } : undefined }),
      passthrough: (path, context) => ({ url: `${context.baseURL}${path}`, headers: { authorization: `Bearer ${context.key?.value}`, 'content-type': 'application/json' } }),
    },
    surface,
  }
}

/** The `wire` surface at `/wire`: `POST /wire/chat`. */
export const wireSurface: SurfaceDefinition = {
  basePath: '/wire',
  dialect: 'wire',
  defaultProvider: 'primary',
  renderError: (error) => Response.json({ error: { status: error.status, message: error.message } }, { status: error.status }),
  routes(app, host) {
    app.post('/chat', async (c) => {
      const body = await host.readJson(c)
      const raw = host.rawBody(body)
      const stream = body.stream === true
      return host.handle(c, {
        operation: 'chat',
        body,
        model: String(body.model),
        stream,
        toIR: (model) => ({ model, messages: [{ role: 'user', content: [{ type: 'text', text: String(body.input) }] }], stream, dialect: 'wire', extra: {} }),
        renderResponse: (response) => ({ model: response.model, text: textOf(response.choices[0]!.message.content) }),
        renderStream: (events) =>
          events.pipeThrough(
            new TransformStream<StreamEvent, Uint8Array>({
              transform(event, controller) {
                const encode = (text: string) => controller.enqueue(new TextEncoder().encode(text))
                if (event.type === 'text-delta') encode(formatSse(JSON.stringify({ text: event.delta })))
                else if (event.type === 'finish') encode(formatSse(JSON.stringify({ done: true })))
                else if (event.type === 'error') encode(formatSse(JSON.stringify({ error: { status: event.error.status, message: event.error.message } }), 'error'))
              },
            }),
          ),
        passthrough: {
          path: '/chat',
          body: (model) => replaceModel(raw, body, model),
          wantsStreamUsage: true,
          usageFrom: (data) => (data.includes('"usage"') ? usageOf(JSON.parse(data)) : undefined),
          streamError: (error) => formatSse(JSON.stringify({ error: { status: error.status, message: error.message } }), 'error'),
        },
      })
    })
  },
}

/** One scripted upstream answer. */
export type WireReply =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { frames: string[]; hang?: boolean }

/** A fake `fetch` for wire upstreams: answers per host from scripts (default: a 200 echo), recording each call. */
export function wireUpstreams() {
  const scripts = new Map<string, WireReply[]>()
  const calls: Array<{ host: string; body: Record<string, unknown>; signal: AbortSignal; headers: Record<string, string> }> = []
  const fetcher = (async (url: string, init: RequestInit) => {
    const host = new URL(url).host.replace(/\.test$/, '')
    const body = JSON.parse(String(init.body)) as Record<string, unknown>
    calls.push({ host, body, signal: init.signal!, headers: init.headers as Record<string, string> })
    const reply = scripts.get(host)?.shift()
    if (!reply) {
      if (body.stream) return sse([`data: {"text":"${host} says "}\n\n`, `data: {"text":"hi"}\n\n`, 'data: {"done":true,"usage":{"in":3,"out":2}}\n\n'], false, init.signal!)
      return Response.json({ model: body.model, text: `${host}: ${String(body.input)}`, usage: { in: 3, out: 4 } })
    }
    if ('frames' in reply) return sse(reply.frames, reply.hang === true, init.signal!)
    return new Response(reply.body ?? '{"error":"x"}', { status: reply.status, headers: reply.headers })
  }) as unknown as typeof fetch
  return {
    fetch: fetcher,
    calls,
    script(host: string, ...replies: WireReply[]) {
      scripts.set(host, replies)
    },
  }
}

function sse(frames: string[], hang: boolean, signal: AbortSignal): Response {
  const encoder = new TextEncoder()
  let index = 0
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      signal.addEventListener('abort', () => controller.error(signal.reason), { once: true })
    },
    async pull(controller) {
      if (index < frames.length) return controller.enqueue(encoder.encode(frames[index++]!))
      if (!hang) return controller.close()
      await new Promise(() => {})
    },
  }, { highWaterMark: 0 })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}
