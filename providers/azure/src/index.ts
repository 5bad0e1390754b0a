import { defineProvider, GatewayError, type Warning } from '@switchyard/core'
import {
  parseChatResponse, parseChatStream, parseCompletionResponse, parseCompletionStream, parseEmbeddingsResponse, parseOpenAIError,
  parseResponsesResponse, parseResponsesStream, toChatBody, toCompletionBody, toEmbeddingsBody, toResponsesBody,
} from '@switchyard/provider-openai'
import { validateAzureConfig } from './config.js'
import { azureSurface } from './surface.js'
import { deploymentURL, resolveAzureCall, v1URL } from './target.js'

/**
 * Azure OpenAI: the OpenAI wire format (this package reuses `@switchyard/provider-openai`'s codecs)
 * at Azure's URLs with `api-key` auth. `azure/<model>` from any surface; the AzureOpenAI SDK's
 * `/openai/deployments/{deployment}/…` routes through this package's surface.
 *
 * - chat, completions, embeddings: `{endpoint}/openai/deployments/{deployment}/{operation}?api-version=…`;
 * - Responses API: `{endpoint}/openai/v1/responses`, the deployment in the body's `model`.
 *
 * The body's `model` is the deployment name too (Azure routes deployment URLs by the path).
 *
 * Images (generations, edits) and audio (speech, transcriptions, translations) from the `/openai`
 * surface are forwarded as the caller sent them (multipart uploads byte for byte) to
 * `{endpoint}/openai/deployments/{deployment}{path}?api-version=…`; there is no IR to translate.
 */

/** Paths forwarded to deployment URLs on the passthrough path. */
const DEPLOYMENT_PATHS = new Set(['/images/generations', '/images/edits', '/audio/speech', '/audio/transcriptions', '/audio/translations'])
export default defineProvider({
  id: 'azure',
  spec: 1,
  dialect: 'openai',
  envKey: 'AZURE_API_KEY',
  capabilities: () => ({ chat: true, stream: true, tools: true, images: true, embeddings: true, completions: true, responses: true, reasoning: true }),
  validateConfig: validateAzureConfig,
  upstream: {
    chat: {
      request(request, context) {
        const call = resolveAzureCall(request, request.model, context)
        const warnings: Warning[] = []
        const body = toChatBody({ ...request, model: call.deployment }, warnings)
        return { url: deploymentURL(call, '/chat/completions'), headers: call.headers, body: JSON.stringify(body), warnings }
      },
      response: (body) => parseChatResponse(body),
      stream: (body) => parseChatStream(body),
    },
    completions: {
      request(request, context) {
        const call = resolveAzureCall(request, request.model, context)
        return { url: deploymentURL(call, '/completions'), headers: call.headers, body: JSON.stringify(toCompletionBody({ ...request, model: call.deployment })) }
      },
      response: (body) => parseCompletionResponse(body),
      stream: (body) => parseCompletionStream(body),
    },
    embeddings: {
      request(request, context) {
        const call = resolveAzureCall(request, request.model, context)
        return { url: deploymentURL(call, '/embeddings'), headers: call.headers, body: JSON.stringify(toEmbeddingsBody({ ...request, model: call.deployment })) }
      },
      response: (body) => parseEmbeddingsResponse(body),
    },
    responses: {
      request(request, context) {
        const call = resolveAzureCall(request, request.model, context)
        return { url: v1URL(call, '/responses'), headers: call.headers, body: JSON.stringify(toResponsesBody({ ...request, model: call.deployment })) }
      },
      response: (body) => parseResponsesResponse(body),
      stream: (body) => parseResponsesStream(body),
    },
    error: (status, body, headers, context) => parseOpenAIError(status, body, headers, context),
    passthrough(path, context, model) {
      if (model === undefined || !DEPLOYMENT_PATHS.has(path)) {
        throw new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', provider: context.providerId, retryable: false, message: `[${context.providerId}] provider does not serve ${path}` })
      }
      const call = resolveAzureCall({}, model, context)
      return { url: deploymentURL(call, path), headers: call.headers }
    },
    passthroughOperations: ['imageGenerations', 'imageEdits', 'speech', 'transcriptions', 'translations'],
  },
  surface: azureSurface,
})

export { azureSurface, registerAzureRoutes } from './surface.js'
export { checkCallerEndpoint, isPrivateHost, parseAllowlistPattern, type EndpointPolicy } from './endpoint.js'
export { resolveAzureCall, deploymentURL, v1URL, withCallerTarget, callerTargetOf, type AzureCall, type CallerTarget } from './target.js'
export { validateAzureConfig, azureKeyConfigOf, azureOptionsOf, DEFAULT_API_VERSION, DEFAULT_ENDPOINT_ALLOWLIST, type AzureKeyConfig, type AzureOptions } from './config.js'
