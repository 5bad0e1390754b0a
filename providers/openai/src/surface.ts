import type { Context, Hono } from 'hono'
import { formatSse, GatewayError, type SurfaceDefinition, type SurfaceHost } from '@switchyard/core'
import { parseChatRequest, renderChatResponse } from './chat.js'
import { renderChatStream } from './chat-stream.js'
import { parseCompletionRequest, renderCompletionResponse, renderCompletionStream } from './completions.js'
import { parseEmbeddingsRequest, renderEmbeddingsResponse } from './embeddings.js'
import { openAIStreamErrorFrame, renderOpenAIError, toOpenAIErrorBody } from './errors.js'
import { isUsageOnlyChunk, passthroughBody, usageFromChatData, usageFromResponsesData } from './passthrough.js'
import { parseResponsesRequest, renderResponsesResponse } from './responses.js'
import { renderResponsesStream } from './responses-stream.js'
import { modelOf, nonEmptyArray, requireMember, streamOf } from './request-fields.js'
import { registerForwardedRoutes } from './endpoints.js'

/** Both `/openai/x` and `/openai/v1/x`, as the SDKs and the reference docs use them. */
const both = (path: string) => [path, `/v1${path}`]

function includeUsageOf(body: Record<string, unknown>): boolean {
  const options = body.stream_options
  return typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true
}

/** Raw text of the body as received (kept by `readJson`), for byte-exact passthrough. */
async function readBody(host: SurfaceHost, c: Context): Promise<{ body: Record<string, unknown>; raw: string }> {
  const body = await host.readJson(c)
  return { body, raw: host.rawBody(body) }
}

/** Query `provider` (the OpenAI SDK's `extra_query`) picks the provider of id-addressed calls. */
const providerQuery = (c: Context) => c.req.query('provider') || undefined

export function registerOpenAIRoutes(app: Hono, host: SurfaceHost): void {
  app.post('/chat/completions', (c) => chat(c))
  app.post('/v1/chat/completions', (c) => chat(c))
  async function chat(c: Context) {
    const { body, raw } = await readBody(host, c)
    const model = modelOf(body)
    requireMember(body, 'messages', nonEmptyArray, 'a non-empty array of messages')
    const stream = streamOf(body)
    const includeUsage = includeUsageOf(body)
    return host.handle(c, {
      operation: 'chat',
      body,
      model,
      stream,
      toIR: (target) => parseChatRequest(body, target),
      renderResponse: (response, context) => renderChatResponse(response, response.model || context.model),
      renderStream: (events, context) => renderChatStream(events, { model: context.model, includeUsage }),
      passthrough: {
        path: '/chat/completions',
        body: (target, injectUsage) => passthroughBody(raw, body, target, injectUsage),
        wantsStreamUsage: includeUsage,
        usageFrom: usageFromChatData,
        isUsageOnly: isUsageOnlyChunk,
        streamError: chatStreamError,
      },
    })
  }

  for (const path of both('/completions')) {
    app.post(path, async (c) => {
      const { body, raw } = await readBody(host, c)
      const model = modelOf(body)
      requireMember(body, 'prompt', (value) => typeof value === 'string' || Array.isArray(value), 'a string or an array')
      const stream = streamOf(body)
      const includeUsage = includeUsageOf(body)
      return host.handle(c, {
        operation: 'completions',
        body,
        model,
        stream,
        toIR: (target) => parseCompletionRequest(body, target),
        renderResponse: (response, context) => renderCompletionResponse(response, response.model || context.model),
        renderStream: (events, context) => renderCompletionStream(events, { model: context.model, includeUsage }),
        passthrough: {
          path: '/completions',
          body: (target, injectUsage) => passthroughBody(raw, body, target, injectUsage),
          wantsStreamUsage: includeUsage,
          usageFrom: usageFromChatData,
          isUsageOnly: isUsageOnlyChunk,
          streamError: chatStreamError,
        },
      })
    })
  }

  for (const path of both('/embeddings')) {
    app.post(path, async (c) => {
      const { body, raw } = await readBody(host, c)
      const model = modelOf(body)
      requireMember(body, 'input', (value) => typeof value === 'string' || Array.isArray(value), 'a string or an array')
      return host.handle(c, {
        operation: 'embeddings',
        body,
        model,
        stream: false,
        toIR: (target) => parseEmbeddingsRequest(body, target),
        renderResponse: (response, context) => renderEmbeddingsResponse(response, response.model || context.model, { encodingFormat: body.encoding_format === 'base64' ? 'base64' : undefined }),
        passthrough: {
          path: '/embeddings',
          body: (target) => passthroughBody(raw, body, target, false),
          wantsStreamUsage: false,
          usageFrom: usageFromChatData,
        },
      })
    })
  }

  for (const path of both('/responses')) {
    app.post(path, async (c) => {
      const { body, raw } = await readBody(host, c)
      const model = modelOf(body)
      const stream = streamOf(body)
      let request: ReturnType<typeof parseResponsesRequest> | undefined
      return host.handle(c, {
        operation: 'responses',
        body,
        model,
        stream,
        toIR: (target) => (request = parseResponsesRequest(body, target)),
        renderResponse: (response, context) => renderResponsesResponse(response, { model: response.model || context.model, request }),
        renderStream: (events, context) => renderResponsesStream(events, { model: context.model, request }),
        passthrough: {
          path: '/responses',
          body: (target) => passthroughBody(raw, body, target, false),
          // The Responses API always reports usage in `response.completed`.
          wantsStreamUsage: true,
          usageFrom: usageFromResponsesData,
          streamError: responsesStreamError,
        },
      })
    })
  }

  // Stored responses are addressed by id: forwarded to the provider that holds them.
  for (const base of both('/responses/:id')) {
    app.get(base, (c) => host.forward(c, { provider: providerQuery(c), method: 'GET', path: withQuery(c, `/responses/${idOf(c)}`) }))
    app.delete(base, (c) => host.forward(c, { provider: providerQuery(c), method: 'DELETE', path: `/responses/${idOf(c)}` }))
    app.post(`${base}/cancel`, (c) => host.forward(c, { provider: providerQuery(c), method: 'POST', path: `/responses/${idOf(c)}/cancel` }))
    app.get(`${base}/input_items`, (c) => host.forward(c, { provider: providerQuery(c), method: 'GET', path: withQuery(c, `/responses/${idOf(c)}/input_items`) }))
  }

  for (const path of both('/models')) {
    app.get(path, (c) =>
      c.json({
        object: 'list',
        data: host.listModels().map((model) => ({ id: model.id, object: 'model', created: 0, owned_by: model.provider })),
      }),
    )
  }

  registerForwardedRoutes(app, host)
}

/** A chat/completions stream that fails after it started (see `openAIStreamErrorFrame`). */
const chatStreamError = openAIStreamErrorFrame

/** A Responses API stream that fails after it started: an `error` event. */
function responsesStreamError(error: GatewayError): string {
  const { error: body } = toOpenAIErrorBody(error)
  return formatSse(JSON.stringify({ type: 'error', code: body.code ?? body.type, message: body.message, param: body.param }), 'error')
}

const idOf = (c: Context) => encodeURIComponent(c.req.param('id') ?? '')

/** Keeps the caller's query string (pagination, `include[]`), minus the gateway's own `provider`. */
function withQuery(c: Context, path: string): string {
  const url = new URL(c.req.url)
  url.searchParams.delete('provider')
  const query = url.searchParams.toString()
  return query ? `${path}?${query}` : path
}

export const openaiSurface: SurfaceDefinition = {
  basePath: '/openai',
  dialect: 'openai',
  defaultProvider: 'openai',
  renderError: renderOpenAIError,
  routes: registerOpenAIRoutes,
}
