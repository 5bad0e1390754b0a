import type { Hono } from 'hono'
import type { ProviderConfig, KeyConfig } from './config.js'
import type { GatewayError } from './errors.js'
import type { ChatRequest, ChatResponse } from './ir/chat.js'
import type { CompletionRequest, CompletionResponse } from './ir/completions.js'
import type { EmbeddingsRequest, EmbeddingsResponse } from './ir/embeddings.js'
import type { StreamEvent } from './ir/stream-event.js'
import type { Warning } from './ir/warning.js'
import type { Usage } from './ir/usage.js'
import type { SurfaceHost } from './surface-host.js'

/** The operations the router knows. */
export type Operation = 'chat' | 'completions' | 'embeddings' | 'responses'

/** IR request and response per operation. `responses` rides on the chat IR. */
export interface OperationTypes {
  chat: { request: ChatRequest; response: ChatResponse }
  responses: { request: ChatRequest; response: ChatResponse }
  completions: { request: CompletionRequest; response: CompletionResponse }
  embeddings: { request: EmbeddingsRequest; response: EmbeddingsResponse }
}

/** What a provider needs to build one upstream call. */
export interface UpstreamContext {
  /** Provider id as configured (a preset may serve several ids). */
  providerId: string
  /** The key chosen for this attempt; undefined for keyless providers. */
  key: KeyConfig | undefined
  /** Base URL: `network_config.base_url` or the provider's default, without trailing slash. */
  baseURL: string
  config: ProviderConfig
  /** Aborts when the caller goes away or the timeout fires. */
  signal: AbortSignal
}

/** One HTTP call to an upstream, built by a pure translator. */
export interface UpstreamRequest {
  url: string
  method?: string
  headers: Record<string, string>
  body?: string | Uint8Array | ReadableStream<Uint8Array> | FormData
  warnings?: Warning[]
}

/** Encoders and decoders for one operation of one wire format. */
export interface OperationCodec<Req, Res> {
  /** IR -> upstream request. Pure. */
  request(request: Req, context: UpstreamContext): UpstreamRequest
  /** Upstream JSON -> IR. Pure. */
  response(json: unknown, context: UpstreamContext): Res
  /** Upstream byte stream -> IR events, ending with one `finish` or an `error`. */
  stream?(body: ReadableStream<Uint8Array>, context: UpstreamContext): ReadableStream<StreamEvent>
}

/** In-process answer for providers that do not speak HTTP (the mock, SDK-backed providers). */
export type InvokeResult<Res> = Res | ReadableStream<StreamEvent>

export type Invoker<Req, Res> = (request: Req, context: UpstreamContext) => Promise<InvokeResult<Res>>

/** Same-dialect forwarding: where to send a caller's body and with which headers. */
export interface PassthroughTarget {
  url: string
  headers: Record<string, string>
}

/** How a passthrough response stream reports its usage (observed, never re-encoded). */
export interface StreamUsageObserver {
  /** Called with each complete SSE `data:` payload that may carry usage. Cheap checks only. */
  usageFrom(data: string): Usage | undefined
}

export interface ProviderCapabilities {
  chat?: boolean
  stream?: boolean
  tools?: boolean
  images?: boolean
  embeddings?: boolean
  completions?: boolean
  responses?: boolean
  reasoning?: boolean
}

export interface ProviderDefinition {
  /** Lower-case id; equals the folder name and the package suffix. */
  id: string
  /** IR version implemented. */
  spec: 1
  /**
   * Wire format id ("openai", "anthropic" ...). A surface of the same dialect forwards
   * bodies unchanged (the passthrough path) instead of translating through the IR.
   */
  dialect?: string
  /** Default upstream base URL. */
  baseURL?: string
  /** Environment variable holding the key when no config file is used. */
  envKey?: string
  /** False for providers that need no key (mock, local servers). Default true. */
  requiresKey?: boolean
  capabilities?(model: string): ProviderCapabilities
  /** Models to list on `GET /models` when the config names none. */
  models?: readonly string[]
  /** Codecs per operation, for HTTP upstreams. */
  upstream?: {
    chat?: OperationCodec<ChatRequest, ChatResponse>
    responses?: OperationCodec<ChatRequest, ChatResponse>
    completions?: OperationCodec<CompletionRequest, CompletionResponse>
    embeddings?: OperationCodec<EmbeddingsRequest, EmbeddingsResponse>
    /** Upstream error (status, body text, headers) -> GatewayError. Pure. */
    error(status: number, body: string, headers: Headers, context: UpstreamContext): GatewayError
    /** Same-dialect target for a path below the dialect's API root ("/chat/completions"). */
    passthrough?(path: string, context: UpstreamContext): PassthroughTarget
  }
  /** In-process operations; used instead of `upstream` codecs when present. */
  invoke?: Partial<{ [K in Operation]: Invoker<OperationTypes[K]['request'], OperationTypes[K]['response']> }>
  /** The inbound API this package serves (routes under `basePath`). */
  surface?: SurfaceDefinition
}

/** An inbound API: routes under `basePath`, rendering results and errors in its dialect. */
export interface SurfaceDefinition {
  /** Mount point ("/openai"). */
  basePath: string
  /** Dialect id of this surface (defaults to the provider's). */
  dialect?: string
  /** Provider used for a bare model name ("gpt-4o" -> openai). */
  defaultProvider: string
  /** Renders an error in this dialect. */
  renderError(error: GatewayError): Response
  /** Registers the surface's routes on a sub-app mounted at `basePath`. */
  routes(app: Hono, host: SurfaceHost): void
}

/** Identity helper that gives provider packages full type inference. */
export function defineProvider<const T extends ProviderDefinition>(definition: T): T {
  return definition
}
