import type { Context, Hono } from 'hono'
import { GatewayError, type SurfaceDefinition, type SurfaceHost } from '@switchyard/core'
import {
  parseChatRequest, parseCompletionRequest, parseEmbeddingsRequest, renderChatResponse, renderChatStream, renderCompletionResponse,
  renderCompletionStream, renderEmbeddingsResponse, renderOpenAIError,
} from '@switchyard/provider-openai'
import { API_VERSION, azureOptionsOf, DEPLOYMENT_NAME } from './config.js'
import { checkCallerEndpoint } from './endpoint.js'
import { withCallerTarget, type CallerTarget } from './target.js'

/**
 * The routes the `AzureOpenAI` client of the OpenAI SDKs calls when pointed at the gateway
 * (`baseURL: http://<gateway>/openai`): `POST /openai/deployments/{deployment}/chat/completions`,
 * `/completions` and `/embeddings`, each with `?api-version=` and the `api-key` header. The
 * deployment in the path is the model: it goes to the `azure` provider (mapped through the key's
 * `deployments` when listed there). `x-bf-azure-endpoint` names the Azure resource; it is checked
 * against `providers.azure.options.endpoint_allowlist` (and the private-address rule) here, before
 * any hook runs or anything is sent, and again by the codec.
 *
 * Requests, answers, streams and errors are the OpenAI wire format (the OpenAI package's codecs).
 */

/** Header naming the caller's Azure resource (the reference docs' `x-bf-azure-endpoint`). */
export const AZURE_ENDPOINT_HEADER = 'x-bf-azure-endpoint'

/** Id of the provider this surface routes to. */
const PROVIDER = 'azure'

function streamOf(body: Record<string, unknown>): boolean {
  const stream = body.stream
  if (stream === undefined || stream === null) return false
  if (typeof stream !== 'boolean') throw GatewayError.badRequest(`stream must be a boolean, got ${typeof stream}`, 'stream')
  return stream
}

const includeUsageOf = (body: Record<string, unknown>) => {
  const options = body.stream_options
  return typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true
}

/** The deployment path segment, checked (it becomes the model name and part of the upstream URL). */
function deploymentOf(c: Context): string {
  const deployment = c.req.param('deployment') ?? ''
  if (!DEPLOYMENT_NAME.test(deployment)) throw GatewayError.badRequest(`Invalid deployment "${deployment}": use letters, digits, '-', '_' and '.'`, 'deployment')
  return deployment
}

/** The caller's endpoint (checked) and api-version, from the request. */
function callerTarget(c: Context, host: SurfaceHost): CallerTarget {
  const target: CallerTarget = {}
  const endpoint = c.req.header(AZURE_ENDPOINT_HEADER)
  if (endpoint !== undefined) target.endpoint = checkCallerEndpoint(endpoint, azureOptionsOf(host.config.providers[PROVIDER]))
  const apiVersion = c.req.query('api-version')
  if (apiVersion !== undefined) {
    if (!API_VERSION.test(apiVersion)) throw GatewayError.badRequest(`Invalid api-version "${apiVersion.slice(0, 40)}"`, 'api-version')
    target.apiVersion = apiVersion
  }
  return target
}

export function registerAzureRoutes(app: Hono, host: SurfaceHost): void {
  app.post('/:deployment/chat/completions', async (c) => {
    const target = callerTarget(c, host)
    const deployment = deploymentOf(c)
    const body = await host.readJson(c)
    const stream = streamOf(body)
    const includeUsage = includeUsageOf(body)
    return host.handle(c, {
      operation: 'chat',
      body,
      model: deployment,
      stream,
      toIR: (model) => withCallerTarget(parseChatRequest(body, model), target),
      renderResponse: (response, context) => renderChatResponse(response, response.model || context.model),
      renderStream: (events, context) => renderChatStream(events, { model: context.model, includeUsage }),
    })
  })

  app.post('/:deployment/completions', async (c) => {
    const target = callerTarget(c, host)
    const deployment = deploymentOf(c)
    const body = await host.readJson(c)
    const stream = streamOf(body)
    const includeUsage = includeUsageOf(body)
    return host.handle(c, {
      operation: 'completions',
      body,
      model: deployment,
      stream,
      toIR: (model) => withCallerTarget(parseCompletionRequest(body, model), target),
      renderResponse: (response, context) => renderCompletionResponse(response, response.model || context.model),
      renderStream: (events, context) => renderCompletionStream(events, { model: context.model, includeUsage }),
    })
  })

  app.post('/:deployment/embeddings', async (c) => {
    const target = callerTarget(c, host)
    const deployment = deploymentOf(c)
    const body = await host.readJson(c)
    return host.handle(c, {
      operation: 'embeddings',
      body,
      model: deployment,
      stream: false,
      toIR: (model) => withCallerTarget(parseEmbeddingsRequest(body, model), target),
      renderResponse: (response, context) => renderEmbeddingsResponse(response, response.model || context.model),
    })
  })
}

/** `/openai/deployments`: the AzureOpenAI SDK's deployment routes, served by the `azure` provider. */
export const azureSurface: SurfaceDefinition = {
  basePath: '/openai/deployments',
  dialect: 'openai',
  defaultProvider: PROVIDER,
  renderError: renderOpenAIError,
  routes: registerAzureRoutes,
}
