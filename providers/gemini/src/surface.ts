import type { Context, Hono, MiddlewareHandler } from 'hono'
import { GatewayError, type SurfaceDefinition, type SurfaceHost } from '@switchyard/core'
import { geminiModelPath } from './codec.js'
import { parseCountTokensRequest, renderCountTokensResponse } from './count-tokens.js'
import { parseBatchEmbedContentsRequest, parseEmbedContentRequest, renderBatchEmbedContentsResponse, renderEmbedContentResponse } from './embeddings.js'
import { renderGeminiError } from './errors.js'
import { geminiStreamErrorFrame, replaceModelNames, usageFromGenerateContentData } from './passthrough.js'
import { parseGenerateContentRequest } from './request-parse.js'
import { renderGenerateContentResponse } from './response.js'
import { renderGenerateContentStream } from './stream.js'
import { fail, isObject } from './wire.js'

/**
 * The Gemini API as an inbound surface, under `/genai` (https://ai.google.dev/api): what
 * `@google/genai` calls with `httpOptions.baseUrl` set to the gateway's `/genai`.
 *
 * - `POST /{version}/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
 *   `:embedContent`, `:batchEmbedContents` run through the host pipeline: forwarded byte for byte
 *   to a Gemini-dialect provider (only the model names changed), translated through the IR for any
 *   other.
 * - `:countTokens`: forwarded to a Gemini-dialect provider, else asked of the target's own token
 *   counting endpoint (`upstream.countTokens`: Anthropic, OpenAI), else a 400 naming the provider.
 * - `GET /{version}/models` and `GET /{version}/models/{model}`: the models the config can serve.
 *
 * `{version}` is `v1beta` (the SDK's default), `v1` or `v1alpha`. `{model}` may carry a provider
 * prefix (`models/openai/gpt-4o-mini:generateContent`); a bare name goes to `gemini`.
 */

/** API versions the SDK may be configured with (`httpOptions.apiVersion`). */
const VERSIONS = ['v1beta', 'v1', 'v1alpha'] as const

/** Methods of a model resource that the surface serves. */
const METHODS = ['generateContent', 'streamGenerateContent', 'countTokens', 'embedContent', 'batchEmbedContents'] as const
type Method = (typeof METHODS)[number]
const isMethod = (name: string): name is Method => (METHODS as readonly string[]).includes(name)

/**
 * Where the target model goes in a same-dialect path: the provider's `upstream.passthrough` puts
 * the resource name of the model it was routed to there (`models/gemini-2.5-flash`), which the
 * surface cannot know when it describes the call (fallbacks and routing rules may change it).
 */
export const MODEL_PLACEHOLDER = '{model}'

/** The path after `models/`: `openai/gpt-4o-mini:generateContent` -> model and method (the last `:` splits them). */
function splitTarget(c: Context): { model: string; method: Method } {
  const target = c.req.param('target') ?? ''
  const colon = target.lastIndexOf(':')
  const model = colon === -1 ? '' : target.slice(0, colon)
  const method = colon === -1 ? '' : target.slice(colon + 1)
  if (!model || !isMethod(method)) {
    const what = colon === -1 ? `no method in "models/${target}"` : `unknown method "${method}" on models/${model}`
    throw new GatewayError({ status: 404, code: 'not_found', message: `${what}; the gateway serves ${METHODS.join(', ')}`, retryable: false })
  }
  return { model, method }
}

/** `contents` is required and must hold at least one content (the API's own rule). */
function requireContents(body: Record<string, unknown>, param = 'contents'): void {
  const contents = body.contents
  if (contents === undefined || contents === null) fail('request', 'contents is not specified', param)
  if (!Array.isArray(contents) || contents.length === 0) fail('request', 'must be a non-empty array of contents', param)
}

/** The one-text embedding request: `content.parts`. */
function requireContent(body: Record<string, unknown>): void {
  if (!isObject(body.content) || !Array.isArray(body.content.parts)) fail('request', 'content must be a Content with parts', 'content')
}

/** A `countTokens` body: `contents`, or a whole `generateContentRequest` (not both). */
function requireCountable(body: Record<string, unknown>): void {
  if (body.generateContentRequest === undefined || body.generateContentRequest === null) return requireContents(body)
  if (body.contents !== undefined && body.contents !== null) fail('request', 'give contents or generateContentRequest, not both', 'generateContentRequest')
  if (!isObject(body.generateContentRequest)) fail('request', 'must be a GenerateContentRequest object', 'generateContentRequest')
  requireContents(body.generateContentRequest, 'generateContentRequest.contents')
}

/**
 * `?key=` (how curl users and the REST docs pass a Gemini key) as the caller's own key, when
 * `client.allow_direct_keys` is on: put where the pipeline reads direct keys, `x-goog-api-key`
 * (a key header the caller sent wins). It is never forwarded: upstream URLs are built, not copied.
 */
const adoptQueryKey: MiddlewareHandler = async (c, next) => {
  const key = c.req.query('key')
  if (key && !c.req.raw.headers.has('x-goog-api-key')) {
    try {
      c.req.raw.headers.set('x-goog-api-key', key)
    } catch {
      // A runtime whose request headers are immutable: the same request with one more header.
      const headers = new Headers(c.req.raw.headers)
      headers.set('x-goog-api-key', key)
      c.req.raw = new Request(c.req.raw, { headers })
    }
  }
  await next()
}

/** A model the gateway can serve, as a Gemini `Model` resource. */
function modelResource(id: string): Record<string, unknown> {
  return { name: `models/${id}`, displayName: id, version: '', supportedGenerationMethods: [...METHODS] }
}

/** The listed model `name` means: a `provider/model` as listed, or a bare name under the default provider (as on model calls). */
function findModel(host: SurfaceHost, name: string): { id: string } | undefined {
  const all = host.listModels()
  const exact = all.find((model) => model.id === name)
  if (exact || name.includes('/')) return exact
  const { provider, model } = host.resolve(name)
  return all.find((listed) => listed.id === `${provider}/${model}`)
}

/** `pageSize` (1-1000, default 50) and `pageToken` (the offset the previous page handed out). */
function pageOf(c: Context, total: number): { start: number; end: number } {
  const size = c.req.query('pageSize')
  const token = c.req.query('pageToken')
  const pageSize = size === undefined || size === '' ? 50 : Number(size)
  if (!Number.isInteger(pageSize) || pageSize < 0) fail('request', 'must be a non-negative integer', 'pageSize')
  const start = token === undefined || token === '' ? 0 : /^\d+$/.test(token) ? Number(token) : NaN
  if (!(start <= total)) fail('request', 'is not a page token this gateway handed out', 'pageToken')
  return { start, end: Math.min(total, start + Math.min(pageSize === 0 ? 50 : pageSize, 1000)) }
}

/** Registers the Gemini API routes (see the module comment) on the sub-app mounted at `/genai`. */
export function registerGenAIRoutes(app: Hono, host: SurfaceHost): void {
  if (host.config.client.allow_direct_keys) app.use('*', adoptQueryKey)

  for (const version of VERSIONS) {
    app.post(`/${version}/models/:target{.+}`, (c) => {
      const { model, method } = splitTarget(c)
      switch (method) {
        case 'generateContent':
          return generate(c, model, false)
        case 'streamGenerateContent':
          return generate(c, model, true)
        case 'countTokens':
          return countTokens(c, model)
        case 'embedContent':
          return embed(c, model, false)
        case 'batchEmbedContents':
          return embed(c, model, true)
        default: {
          const unreachable: never = method
          return unreachable
        }
      }
    })
    app.get(`/${version}/models`, (c) => {
      const all = host.listModels()
      const { start, end } = pageOf(c, all.length)
      const models = all.slice(start, end).map((model) => modelResource(model.id))
      return c.json(end < all.length ? { models, nextPageToken: String(end) } : { models })
    })
    app.get(`/${version}/models/:target{.+}`, (c) => {
      const name = c.req.param('target') ?? ''
      const found = findModel(host, name)
      if (!found) throw new GatewayError({ status: 404, code: 'not_found', message: `models/${name} is not a model this gateway serves`, retryable: false })
      return c.json(modelResource(found.id))
    })
  }

  async function generate(c: Context, model: string, stream: boolean): Promise<Response> {
    if (stream && c.req.query('alt') !== 'sse') fail('request', 'streamGenerateContent is served as server-sent events: add ?alt=sse', 'alt')
    const body = await host.readJson(c)
    const raw = host.rawBody(body)
    requireContents(body)
    return host.handle(c, {
      operation: 'chat',
      body,
      model,
      stream,
      toIR: (target) => parseGenerateContentRequest(body, target, { stream }),
      renderResponse: (response, context) => renderGenerateContentResponse(response, response.model || context.model, context.warnings),
      renderStream: (events, context) => renderGenerateContentStream(events, { model: context.model }),
      passthrough: {
        path: `/${MODEL_PLACEHOLDER}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
        body: (target) => replaceModelNames(raw, model, target),
        // Gemini reports usage on every event, unasked.
        wantsStreamUsage: true,
        usageFrom: usageFromGenerateContentData,
        streamError: geminiStreamErrorFrame,
      },
    })
  }

  async function embed(c: Context, model: string, batch: boolean): Promise<Response> {
    const body = await host.readJson(c)
    const raw = host.rawBody(body)
    if (batch && (!Array.isArray(body.requests) || body.requests.length === 0)) fail('request', 'must be a non-empty array of EmbedContentRequest', 'requests')
    if (!batch) requireContent(body)
    return host.handle(c, {
      operation: 'embeddings',
      body,
      model,
      stream: false,
      toIR: (target) => (batch ? parseBatchEmbedContentsRequest(body, target) : parseEmbedContentRequest(body, target)),
      renderResponse: (response) => (batch ? renderBatchEmbedContentsResponse(response) : renderEmbedContentResponse(response)),
      passthrough: {
        path: `/${MODEL_PLACEHOLDER}:${batch ? 'batchEmbedContents' : 'embedContent'}`,
        body: (target) => replaceModelNames(raw, model, target),
        wantsStreamUsage: false,
        usageFrom: usageFromGenerateContentData,
      },
    })
  }

  async function countTokens(c: Context, model: string): Promise<Response> {
    const body = await host.readJson(c)
    const raw = host.rawBody(body)
    requireCountable(body)
    const target = host.resolve(model)
    if (target.dialect === 'gemini') {
      return host.forward(c, {
        provider: target.provider,
        model: target.model,
        method: 'POST',
        path: `/${geminiModelPath(target.model)}:countTokens`,
        body: replaceModelNames(raw, model, target.model),
        contentType: 'application/json',
      })
    }
    return host.countTokens(c, {
      model,
      path: `/models/${model}:countTokens`,
      toIR: (name) => parseCountTokensRequest(body, name),
      render: (count) => renderCountTokensResponse(count.inputTokens, count.cachedInputTokens),
    })
  }
}

/** The `/genai` surface: the Gemini API (generate, stream, count, embed, models) in Gemini's dialect. */
export const genaiSurface: SurfaceDefinition = {
  basePath: '/genai',
  dialect: 'gemini',
  defaultProvider: 'gemini',
  renderError: renderGeminiError,
  routes: registerGenAIRoutes,
}
