import type { Context, Hono } from 'hono'
import { GatewayError, type ForwardedOperation, type PassthroughSpec, type SurfaceHost } from '@switchyard/core'
import { openAIStreamErrorFrame } from './errors.js'
import { parseMultipart, spliceMultipartValue } from './multipart.js'
import { passthroughBody, usageFromChatData, usageFromResponsesData } from './passthrough.js'
import { parseRerankRequest, renderRerankResponse } from './rerank.js'
import { modelOf, requireMember, streamOf } from './request-fields.js'

/**
 * The `/openai` routes beyond chat, completions, embeddings and the Responses API: images
 * (generations, edits, variations), audio (speech, transcriptions, translations), moderations and
 * rerank. Each is a model-routed call through `SurfaceHost.handle`, so the hooks, routing, keys,
 * retries, fallbacks and accounting work as for chat.
 *
 * Images, audio and moderations have no IR: a provider of the OpenAI dialect that serves the
 * endpoint (its `passthroughOperations`) gets the caller's body with only the model replaced (JSON
 * spliced, multipart bodies byte for byte with the `model` value spliced) and the answer comes back
 * as it is, a binary speech answer streamed through with its content type; any other provider is a
 * 400 naming the provider and the endpoint, and nothing is sent. Rerank has an IR: forwarded to
 * OpenAI-dialect servers that have `/rerank`, translated for providers with a rerank codec (Cohere).
 */

const both = (path: string) => [path, `/v1${path}`]

type Check = (fields: Record<string, unknown>) => void

const isText = (value: unknown) => typeof value === 'string' && value.length > 0
const text = (name: string): Check => (fields) => requireMember(fields, name, isText, 'a non-empty string')
const present = (name: string): Check => (fields) => requireMember(fields, name, () => true, '')
const textOrArray = (name: string): Check => (fields) =>
  requireMember(fields, name, (value) => isText(value) || (Array.isArray(value) && value.length > 0), 'a non-empty string or array')

/** An endpoint whose body is JSON. */
interface JsonEndpoint {
  operation: ForwardedOperation
  path: string
  checks: Check[]
  /** Whether the caller asked for an SSE answer. */
  stream(body: Record<string, unknown>): boolean
  /** The answer is relayed as it arrives (binary audio). */
  relay?: boolean
}

/** An endpoint whose body is `multipart/form-data` (uploads). */
interface MultipartEndpoint {
  operation: ForwardedOperation
  path: string
  /** Form fields that must be files; `image` also accepts `image[]` (several images). */
  files: string[]
  checks: Check[]
  /** Whether the form has `stream=true`. */
  streams: boolean
}

const JSON_ENDPOINTS: JsonEndpoint[] = [
  { operation: 'imageGenerations', path: '/images/generations', checks: [text('prompt')], stream: streamOf },
  // `stream_format: "sse"` answers with events; otherwise the audio bytes are relayed as they come.
  { operation: 'speech', path: '/audio/speech', checks: [text('input'), present('voice')], stream: (body) => body.stream_format === 'sse', relay: true },
  { operation: 'moderations', path: '/moderations', checks: [textOrArray('input')], stream: () => false },
]

const MULTIPART_ENDPOINTS: MultipartEndpoint[] = [
  { operation: 'imageEdits', path: '/images/edits', files: ['image'], checks: [text('prompt')], streams: true },
  { operation: 'imageVariations', path: '/images/variations', files: ['image'], checks: [], streams: false },
  { operation: 'transcriptions', path: '/audio/transcriptions', files: ['file'], checks: [], streams: true },
  { operation: 'translations', path: '/audio/translations', files: ['file'], checks: [], streams: false },
]

/** What the passthrough of a forwarded (IR-less) call observes: usage in a JSON answer or an SSE event, failures as OpenAI frames. */
function forwardedSpec(path: string, body: PassthroughSpec['body'], extra: Partial<PassthroughSpec> = {}): PassthroughSpec {
  // Images and transcriptions report usage as `usage: {input_tokens, output_tokens ...}`; nothing is injected.
  return { path, body, wantsStreamUsage: true, usageFrom: usageFromResponsesData, streamError: openAIStreamErrorFrame, ...extra }
}

/** A multipart `stream` field: absent or "false" is false, "true" is true, anything else a 400. */
function multipartStream(value: string | string[] | undefined): boolean {
  if (value === undefined || value === 'false') return false
  if (value === 'true') return true
  throw GatewayError.badRequest(`Invalid 'stream': expected "true" or "false"`, 'stream')
}

export function registerForwardedRoutes(app: Hono, host: SurfaceHost): void {
  for (const endpoint of JSON_ENDPOINTS) {
    for (const path of both(endpoint.path)) app.post(path, (c) => json(c, endpoint))
  }
  for (const endpoint of MULTIPART_ENDPOINTS) {
    for (const path of both(endpoint.path)) app.post(path, (c) => multipart(c, endpoint))
  }
  for (const path of both('/rerank')) app.post(path, (c) => rerank(c))

  async function json(c: Context, endpoint: JsonEndpoint): Promise<Response> {
    const body = await host.readJson(c)
    const raw = host.rawBody(body)
    const model = modelOf(body)
    for (const check of endpoint.checks) check(body)
    const stream = endpoint.stream(body)
    return host.handle(c, {
      operation: endpoint.operation,
      label: `POST ${endpoint.path}`,
      body,
      model,
      stream,
      toIR: (target) => ({ model: target, fields: body }),
      renderResponse: (response) => response,
      passthrough: forwardedSpec(endpoint.path, (target) => passthroughBody(raw, body, target, false), { relay: endpoint.relay }),
    })
  }

  async function multipart(c: Context, endpoint: MultipartEndpoint): Promise<Response> {
    const contentType = c.req.header('content-type')
    const bytes = await host.readBytes(c)
    const form = parseMultipart(bytes, contentType)
    const model = modelOf(form.fields)
    const modelRange = form.ranges.model!
    for (const name of endpoint.files) {
      if (!form.files.includes(name) && !form.files.includes(`${name}[]`)) {
        throw GatewayError.badRequest(form.fields[name] !== undefined ? `Invalid '${name}': expected a file upload` : `Missing required parameter: '${name}'`, name)
      }
    }
    for (const check of endpoint.checks) check(form.fields)
    const stream = endpoint.streams ? multipartStream(form.fields.stream) : false
    return host.handle(c, {
      operation: endpoint.operation,
      label: `POST ${endpoint.path}`,
      body: form.fields,
      model,
      stream,
      toIR: (target) => ({ model: target, fields: form.fields }),
      renderResponse: (response) => response,
      // The upload goes on as received: only the model value changes (and only when it does).
      passthrough: forwardedSpec(endpoint.path, (target) => spliceMultipartValue(bytes, modelRange, target), { headers: { 'content-type': contentType! } }),
    })
  }

  async function rerank(c: Context): Promise<Response> {
    const body = await host.readJson(c)
    const raw = host.rawBody(body)
    const model = modelOf(body)
    // Checked here, so a bad body is a 400 before anything is sent, on the passthrough path too.
    const request = parseRerankRequest(body, model)
    return host.handle(c, {
      operation: 'rerank',
      label: 'POST /rerank',
      body,
      model,
      stream: false,
      toIR: (target) => ({ ...request, model: target }),
      renderResponse: (response, context) => renderRerankResponse(response, response.model || context.model, request),
      passthrough: { path: '/rerank', body: (target) => passthroughBody(raw, body, target, false), wantsStreamUsage: false, usageFrom: usageFromChatData },
    })
  }
}
