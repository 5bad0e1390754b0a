import type { Context, Hono } from 'hono'
import { formatSse, formatWarnings, GatewayError, replaceModel, type SurfaceDefinition, type SurfaceHost } from '@switchyard/core'
import { estimateTokens, parseCountTokensRequest, renderCountTokensResponse } from './count-tokens.js'
import { renderAnthropicError, toAnthropicErrorBody } from './errors.js'
import { parseMessagesRequest, renderMessagesResponse } from './messages.js'
import { mergeAnthropicUsage, usageFromMessagesData } from './passthrough.js'
import { renderMessagesStream } from './stream.js'

/** Both `/anthropic/x` and `/anthropic/v1/x`: the SDKs call `/v1/...` below their base URL. */
const both = (path: string) => [`/v1${path}`, path]

/** The API version a same-dialect upstream sees when the caller names none. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01'

/** Anthropic's wording for a missing or mistyped body field. */
const invalid = (param: string, message: string) =>
  new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param, message: `${param}: ${message}`, retryable: false })

function modelOf(body: Record<string, unknown>): string {
  const model = body.model
  if (model === undefined || model === null) throw invalid('model', 'Field required')
  if (typeof model !== 'string' || model.length === 0) throw invalid('model', 'Input should be a non-empty string')
  return model
}

/**
 * The members the Messages API requires, checked before anything is sent: the passthrough
 * path forwards the body unparsed, and a body the upstream must reject gets its 400 here.
 */
function requireMessages(body: Record<string, unknown>): void {
  if (body.messages === undefined || body.messages === null) throw invalid('messages', 'Field required')
  if (!Array.isArray(body.messages)) throw invalid('messages', 'Input should be a valid list')
}

function requireMaxTokens(body: Record<string, unknown>): void {
  const value = body.max_tokens
  if (value === undefined || value === null) throw invalid('max_tokens', 'Field required')
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid('max_tokens', 'Input should be a positive integer')
}

function streamOf(body: Record<string, unknown>): boolean {
  const stream = body.stream
  if (stream === undefined || stream === null) return false
  if (typeof stream !== 'boolean') throw invalid('stream', 'Input should be a valid boolean')
  return stream
}

/** The caller's `anthropic-version`, for a same-dialect upstream (the provider's default otherwise). */
function versionHeaders(c: Context): Record<string, string> | undefined {
  const version = c.req.header('anthropic-version')
  return version ? { 'anthropic-version': version } : undefined
}

/** The caller's query string (`?beta=true` from the SDK's beta client), kept on passthrough. */
const queryOf = (c: Context) => {
  const url = c.req.url
  const mark = url.indexOf('?')
  return mark === -1 ? '' : url.slice(mark)
}

/** Warning sent with a locally computed token count (no Anthropic upstream to ask). */
const ESTIMATE_WARNING = formatWarnings([{ type: 'other', message: 'input_tokens is a local estimate: the target provider has no token-counting endpoint' }])!

/**
 * The Anthropic API routes below `/anthropic` (each also without `/v1`): Messages through the host
 * pipeline (passthrough to an Anthropic-dialect provider, translation otherwise), token counting
 * (forwarded to Anthropic, estimated locally for other targets) and the model list.
 */
export function registerAnthropicRoutes(app: Hono, host: SurfaceHost): void {
  for (const path of both('/messages')) {
    app.post(path, async (c) => {
      const body = await host.readJson(c)
      const raw = host.rawBody(body)
      const model = modelOf(body)
      requireMessages(body)
      requireMaxTokens(body)
      const stream = streamOf(body)
      return host.handle(c, {
        operation: 'chat',
        body,
        model,
        stream,
        toIR: (target) => parseMessagesRequest(body, target),
        renderResponse: (response, context) => renderMessagesResponse(response, response.model || context.model, context.warnings),
        renderStream: (events, context) => renderMessagesStream(events, { model: context.model }),
        passthrough: {
          path: `/messages${queryOf(c)}`,
          body: (target) => replaceModel(raw, body, target),
          // Anthropic always reports usage in the stream (message_start + message_delta).
          wantsStreamUsage: true,
          usageFrom: usageFromMessagesData,
          mergeUsage: mergeAnthropicUsage,
          headers: versionHeaders(c),
          // A stream that fails after it started: an `error` event, as Anthropic sends one.
          streamError: (error) => formatSse(JSON.stringify(toAnthropicErrorBody(error)), 'error'),
        },
      })
    })
  }

  for (const path of both('/messages/count_tokens')) {
    app.post(path, async (c) => {
      const body = await host.readJson(c)
      const raw = host.rawBody(body)
      const model = modelOf(body)
      requireMessages(body)
      const target = host.resolve(model)
      if (target.dialect === 'anthropic') {
        return host.forward(c, {
          provider: target.provider,
          model: target.model,
          method: 'POST',
          path: `/messages/count_tokens${queryOf(c)}`,
          body: replaceModel(raw, body, target.model),
          contentType: 'application/json',
          headers: versionHeaders(c),
        })
      }
      // Other providers have no equivalent endpoint: count locally, and say so.
      const count = estimateTokens(parseCountTokensRequest(body, target.model))
      return c.json(renderCountTokensResponse(count), 200, { 'x-switchyard-warnings': ESTIMATE_WARNING, 'x-bf-provider': target.provider })
    })
  }

  for (const path of both('/models')) {
    app.get(path, (c) => {
      const data = host.listModels().map((model) => ({ type: 'model', id: model.id, display_name: model.id, created_at: '1970-01-01T00:00:00Z' }))
      return c.json({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null })
    })
  }

  for (const path of both('/models/:id{.+}')) {
    app.get(path, (c) => {
      const id = c.req.param('id')
      const found = host.listModels().find((model) => model.id === id)
      if (!found) throw new GatewayError({ status: 404, code: 'not_found', type: 'not_found_error', message: `model: ${id}`, retryable: false })
      return c.json({ type: 'model', id: found.id, display_name: found.id, created_at: '1970-01-01T00:00:00Z' })
    })
  }
}

/** The `/anthropic` surface: Messages, token counting and models in Anthropic's dialect. */
export const anthropicSurface: SurfaceDefinition = {
  basePath: '/anthropic',
  dialect: 'anthropic',
  defaultProvider: 'anthropic',
  renderError: renderAnthropicError,
  routes: registerAnthropicRoutes,
}
