import type { Hono } from 'hono'
import type { ProviderConfig, KeyConfig } from './config.js'
import type { GatewayError } from './errors.js'
import type { ChatRequest, ChatResponse } from './ir/chat.js'
import type { CompletionRequest, CompletionResponse } from './ir/completions.js'
import type { EmbeddingsRequest, EmbeddingsResponse } from './ir/embeddings.js'
import type { ForwardedRequest, RerankRequest, RerankResponse } from './ir/rerank.js'
import type { StreamEvent } from './ir/stream-event.js'
import type { Warning } from './ir/warning.js'
import type { Usage } from './ir/usage.js'
import type { SurfaceHost } from './surface-host.js'

/**
 * The operations the router knows. The first five have an IR and may be translated between
 * dialects; the others ({@link ForwardedOperation}) are forwarded to same-dialect providers only.
 */
export type Operation = 'chat' | 'completions' | 'embeddings' | 'responses' | 'rerank' | ForwardedOperation

/**
 * Operations without an IR (OpenAI's images, audio and moderations endpoints): a provider of the
 * caller's dialect takes them on the passthrough path (see `upstream.passthroughOperations`), or
 * answers them in process (`invoke`); any other provider answers 400 naming itself, and nothing is sent.
 */
export type ForwardedOperation = 'imageGenerations' | 'imageEdits' | 'imageVariations' | 'speech' | 'transcriptions' | 'translations' | 'moderations'

/** IR request and response per operation. `responses` rides on the chat IR. */
export interface OperationTypes {
  chat: { request: ChatRequest; response: ChatResponse }
  responses: { request: ChatRequest; response: ChatResponse }
  completions: { request: CompletionRequest; response: CompletionResponse }
  embeddings: { request: EmbeddingsRequest; response: EmbeddingsResponse }
  rerank: { request: RerankRequest; response: RerankResponse }
  imageGenerations: { request: ForwardedRequest; response: unknown }
  imageEdits: { request: ForwardedRequest; response: unknown }
  imageVariations: { request: ForwardedRequest; response: unknown }
  speech: { request: ForwardedRequest; response: unknown }
  transcriptions: { request: ForwardedRequest; response: unknown }
  translations: { request: ForwardedRequest; response: unknown }
  moderations: { request: ForwardedRequest; response: unknown }
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
  /**
   * The transport this attempt goes through (the gateway's, or the provider's proxy-aware one),
   * for a `sign` hook that must call out itself (Vertex AI's OAuth token exchange). Codecs never
   * use it. Absent where no call is made (pure codec tests).
   */
  fetch?: typeof fetch
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

/** The answer of a token-count call (`upstream.countTokens`). */
export interface TokenCount {
  /** Tokens of the whole prompt (system, messages, tools), cached ones included. */
  inputTokens: number
  /** Of those, tokens served from a prompt cache, when the upstream says. */
  cachedInputTokens?: number
}

/** How an upstream reports usage in a stream (see `upstream.streamUsage`). */
export type StreamUsageMode = 'on-request' | 'always' | 'never'

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
  /**
   * True when there is no usable default address (a self-hosted server such as vLLM): the config
   * must set `providers.<id>.network_config.base_url`, checked when the gateway starts.
   */
  requiresBaseURL?: boolean
  /** Environment variable holding the key when no config file is used. */
  envKey?: string
  /** False for providers that need no key (mock, local servers). Default true. */
  requiresKey?: boolean
  capabilities?(model: string): ProviderCapabilities
  /** Models to list on `GET /models` when the config names none. */
  models?: readonly string[]
  /**
   * Checks provider-specific config (`options`, provider-specific key fields such as Azure's
   * `azure_key_config`) when the gateway starts. Returns problems as `path: message`, the path
   * relative to `providers.<id>` (`keys[0].azure_key_config.endpoint: must be an https URL`); any
   * problem stops the start with a ConfigError naming `providers.<id>.<path>`.
   */
  validateConfig?(config: ProviderConfig): string[]
  /** Codecs per operation, for HTTP upstreams. */
  upstream?: {
    chat?: OperationCodec<ChatRequest, ChatResponse>
    responses?: OperationCodec<ChatRequest, ChatResponse>
    completions?: OperationCodec<CompletionRequest, CompletionResponse>
    embeddings?: OperationCodec<EmbeddingsRequest, EmbeddingsResponse>
    rerank?: OperationCodec<RerankRequest, RerankResponse>
    /**
     * Input-token counting for an IR chat request, nothing generated (Anthropic's
     * `/messages/count_tokens`, OpenAI's `/responses/input_tokens`, Gemini's `:countTokens`): what a
     * surface's token-count route uses for a provider of another dialect (`SurfaceHost.countTokens`).
     */
    countTokens?: OperationCodec<ChatRequest, TokenCount>
    /** Upstream error (status, body text, headers) -> GatewayError. Pure. */
    error(status: number, body: string, headers: Headers, context: UpstreamContext): GatewayError
    /**
     * Same-dialect target for a path below the dialect's API root ("/chat/completions"). `model` is
     * the target model of a model-routed call (for upstreams that put it in the URL, such as Azure's
     * deployments); it is undefined for id-addressed calls (`GET /responses/{id}`).
     */
    passthrough?(path: string, context: UpstreamContext, model?: string): PassthroughTarget
    /**
     * Signs a built request just before it is sent (AWS SigV4 ...): called by the router on every
     * attempt, after the codec's `request` (or `passthrough`) and `network_config.extra_headers`,
     * so a retry carries a fresh signature. It may be async and read the clock, which codecs may
     * not. A GatewayError it throws fails the attempt with nothing sent.
     */
    sign?(request: UpstreamRequest, context: UpstreamContext): Promise<UpstreamRequest>
    /**
     * Operations that take the passthrough path when the caller's dialect matches (default: all).
     * Leave out what the upstream does not serve natively: such calls go through the IR and this
     * provider's codecs instead (an OpenAI-compatible server without the Responses API still answers
     * `/responses` callers, translated to chat completions), or get a 400 naming the provider.
     */
    passthroughOperations?: readonly Operation[]
    /**
     * How this upstream reports usage in a stream, for the passthrough path. `on-request` (default):
     * only when asked (OpenAI's `stream_options.include_usage`), so the gateway asks for it and keeps
     * the extra chunk from a caller who did not. `always`: usage comes without asking (Mistral and Groq
     * put it on the last chunk); the gateway adds nothing to the caller's body. `never`: the upstream
     * cannot report it (or rejects the option); the gateway adds nothing and usage may stay unknown.
     */
    streamUsage?: StreamUsageMode
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

/** The codec `definition` has for `operation`, if any (operations without an IR never have one). */
export function codecOf(definition: ProviderDefinition, operation: Operation): OperationCodec<unknown, unknown> | undefined {
  return (definition.upstream as Partial<Record<Operation, OperationCodec<unknown, unknown>>> | undefined)?.[operation]
}

/** Identity helper that gives provider packages full type inference. */
export function defineProvider<const T extends ProviderDefinition>(definition: T): T {
  return definition
}

/** What a config-only provider (`providers.<id>.custom`) is built from. */
export interface CustomProviderOptions {
  /** The configured provider id. */
  id: string
  /** `custom.base_url`: the API root of the upstream. */
  baseURL: string
}

/**
 * What the gateway reads from a provider package's module (`import(package)`): the default export,
 * and optionally more providers served by the same package.
 */
export interface ProviderModule {
  /** The provider this package implements (`defineProvider`). */
  default: ProviderDefinition
  /**
   * More providers of this package, by id. A configured id with no package of its own (no
   * `package` in the config and no `@switchyard/provider-<id>` installed) resolves to the first
   * loaded package that exports it here; `providers.<id>.package` naming this package picks it too.
   * `@switchyard/provider-openai` exports its OpenAI-compatible presets (mistral, groq ...) this way.
   */
  presets?: Readonly<Record<string, ProviderDefinition>>
  /**
   * Builds a config-only provider of this package's dialect (`providers.<id>.custom`). Without it
   * the default definition is served under the custom id at the custom base URL, keys optional.
   */
  customProvider?(options: CustomProviderOptions): ProviderDefinition
}
