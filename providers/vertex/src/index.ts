import { defineProvider, GatewayError, type ChatRequest, type ProviderConfig, type UpstreamContext, type UpstreamRequest, type Warning } from '@switchyard/core'
import { createGeminiChatCodec, fillModelPath, parseGeminiError, toVertexCountTokensBody, type GeminiEndpoint } from '@switchyard/provider-gemini'
import { VertexTokenCache } from './auth.js'
import { parsePredictEmbeddingsResponse, toPredictEmbeddingsBody } from './embeddings.js'
import { credentialsOf, locationOf, parseServiceAccount, tokenUrlOf, type VertexOptions } from './settings.js'
import { vertexModelURL, vertexPassthroughURL } from './url.js'

/**
 * Vertex AI: `vertex/<model>` calls Gemini models through
 * `https://{region}-aiplatform.googleapis.com/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent`
 * with the Gemini wire format (dialect `gemini`, the codec of `@switchyard/provider-gemini`).
 *
 * Auth, per call: a key whose value is a service-account JSON (or, without keys,
 * `options.service_account`) is exchanged for an access token in `upstream.sign` — the one step
 * that does I/O, through the attempt's transport (`context.fetch`), with the token cached until a
 * minute before it expires. An access token (`ya29....` key, or `options.access_token`) is sent as
 * is; any other key value is an express-mode API key (`x-goog-api-key`, no project in the URL).
 */

/** Headers a pure codec can set: the static credential (a service account's token is added by `sign`). */
export function vertexHeaders(context: Pick<UpstreamContext, 'key' | 'config'>): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  const credentials = credentialsOf(context)
  if (credentials.kind === 'access-token') headers.authorization = `Bearer ${credentials.token}`
  else if (credentials.kind === 'api-key') headers['x-goog-api-key'] = credentials.key
  return headers
}

/** Vertex AI as a Gemini endpoint: model URLs from the project and region of the call. */
export const vertexEndpoint: GeminiEndpoint = {
  url: (model, method, context) => vertexModelURL(model, method, locationOf(context, credentialsOf(context)), context.baseURL),
  headers: vertexHeaders,
}

/** Adds a service account's access token to a built request (a no-op for the other credentials). */
export async function authorizeVertexRequest(request: UpstreamRequest, context: UpstreamContext, tokens: VertexTokenCache): Promise<UpstreamRequest> {
  const credentials = credentialsOf(context)
  if (credentials.kind !== 'service-account') return request
  const token = await tokens.token(credentials.account, {
    // The router's transport when it hands one over; the runtime's fetch otherwise.
    fetch: context.fetch ?? globalThis.fetch,
    tokenUrl: tokenUrlOf(context),
    signal: context.signal,
  })
  return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }
}

/** The Vertex AI `countTokens` call for an IR chat request (a helper: the router has no token-count operation). */
export function vertexCountTokensRequest(request: ChatRequest, context: UpstreamContext): UpstreamRequest {
  const warnings: Warning[] = []
  const body = toVertexCountTokensBody(request, warnings)
  return { url: vertexEndpoint.url(request.model, 'countTokens', context), headers: vertexHeaders(context), body: JSON.stringify(body), warnings }
}

/** Config problems found at start (`path: message`, relative to `providers.vertex`). */
export function validateVertexConfig(config: ProviderConfig): string[] {
  const problems: string[] = []
  const options = (config.options ?? {}) as VertexOptions
  const check = (path: string, run: () => void) => {
    try {
      run()
    } catch (error) {
      problems.push(`${path}: ${GatewayError.is(error) ? error.message.replace(/^\[vertex\] /, '') : String(error)}`)
    }
  }
  config.keys.forEach((key, index) => check(`keys[${index}].value`, () => locationOf({ config }, credentialsOf({ key, config }))))
  if (config.keys.length === 0) check('options', () => locationOf({ config }, credentialsOf({ key: undefined, config })))
  if (options.service_account !== undefined && parseServiceAccount(options.service_account) === undefined) problems.push('options.service_account: not a service-account key (client_email and private_key are required)')
  return problems
}

/** Options of {@link createVertexProvider}. */
export interface VertexProviderOptions {
  /** Where service-account tokens are cached (default: one cache per provider instance). */
  tokens?: VertexTokenCache
}

/** A Vertex AI provider definition (the default export uses its own token cache). */
export function createVertexProvider(options: VertexProviderOptions = {}) {
  const tokens = options.tokens ?? new VertexTokenCache()
  return defineProvider({
    id: 'vertex',
    spec: 1,
    dialect: 'gemini',
    envKey: 'VERTEX_CREDENTIALS',
    // Credentials may come from `options` alone (service_account, access_token).
    requiresKey: false,
    capabilities: () => ({ chat: true, stream: true, tools: true, images: true, embeddings: true, reasoning: true }),
    validateConfig: validateVertexConfig,
    upstream: {
      chat: createGeminiChatCodec(vertexEndpoint),
      embeddings: {
        request(request, context) {
          const warnings: Warning[] = []
          const body = toPredictEmbeddingsBody(request, warnings)
          return { url: vertexEndpoint.url(request.model, 'predict', context), headers: vertexHeaders(context), body: JSON.stringify(body), warnings }
        },
        response: (json, context) => parsePredictEmbeddingsResponse(json, context.providerId),
      },
      error: (status, body, headers, context) => parseGeminiError(status, body, headers, context),
      // The /genai surface's paths (`/{model}:generateContent` once routed) mapped to Vertex AI URLs.
      passthrough(path: string, context: UpstreamContext, model?: string) {
        const filled = fillModelPath(path, model)
        const url = vertexPassthroughURL(filled, locationOf(context, credentialsOf(context)), context.baseURL)
        if (url === undefined) throw GatewayError.badRequest(`[${context.providerId}] Vertex AI does not serve ${filled.split('?')[0]}`)
        return { url, headers: vertexHeaders(context) }
      },
      sign: (request, context) => authorizeVertexRequest(request, context, tokens),
    },
  })
}

export default createVertexProvider()

export { VertexTokenCache, signServiceAccountJwt, importServiceAccountKey, base64url, CLOUD_PLATFORM_SCOPE, type TokenCacheOptions, type TokenRequest, type JwtOptions } from './auth.js'
export { credentialsOf, locationOf, parseServiceAccount, tokenUrlOf, GOOGLE_TOKEN_URL, type VertexOptions, type ServiceAccount, type VertexCredentials, type VertexLocation } from './settings.js'
export { vertexBaseURL, vertexResource, vertexModelURL, vertexPassthroughURL } from './url.js'
export { toPredictEmbeddingsBody, parsePredictEmbeddingsResponse } from './embeddings.js'
