import { GatewayError, type KeyConfig, type UpstreamContext } from '@switchyard/core'
import { azureKeyConfigOf, azureOptionsOf, DEFAULT_API_VERSION } from './config.js'
import { checkCallerEndpoint } from './endpoint.js'

/**
 * What a caller of the `/openai/deployments` routes said about the Azure call: the resource from
 * `x-bf-azure-endpoint` (already checked against the allowlist) and the `api-version` query. It
 * rides beside the IR request object, not in its `extra` (which an OpenAI encoder would copy into
 * the body), and is read by this package's codecs only.
 */
export interface CallerTarget {
  endpoint?: string
  apiVersion?: string
}

const targets = new WeakMap<object, CallerTarget>()

/** Attaches the caller's target to an IR request (returns the request). */
export function withCallerTarget<T extends object>(request: T, target: CallerTarget): T {
  if (target.endpoint !== undefined || target.apiVersion !== undefined) targets.set(request, target)
  return request
}

/** The caller's target of an IR request, if its surface attached one. */
export function callerTargetOf(request: object): CallerTarget | undefined {
  return targets.get(request)
}

/** Where one Azure call goes and how it is authorized. */
export interface AzureCall {
  /** Resource origin, `https://my-res.openai.azure.com`. */
  endpoint: string
  apiVersion: string
  /** Deployment for `model` (the key's `deployments` mapping, else the model name itself). */
  deployment: string
  headers: Record<string, string>
}

const badRequest = (provider: string, message: string, param?: string) =>
  new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', provider, param, retryable: false, message: `[${provider}] ${message}` })

/** A key the caller sent (`client.allow_direct_keys`), as opposed to one from the config. */
const isDirectKey = (key: KeyConfig, context: UpstreamContext) => !context.config.keys.includes(key)

/**
 * Resolves endpoint, api-version, deployment and the `api-key` header for one call. Rules:
 *
 * - the endpoint is the caller's `x-bf-azure-endpoint` (re-checked against the allowlist here, so
 *   no path around the surface skips it), else the key's `azure_key_config.endpoint`;
 * - a configured key whose `azure_key_config` names an endpoint is sent to that endpoint only: a
 *   header naming another resource is a 400 (the operator's key never travels to a resource the
 *   caller picked). A configured key without an endpoint goes wherever the allow-listed header says;
 *   a caller's own key (direct keys) likewise;
 * - api-version: the caller's `api-version` query, else the key's `api_version`, else {@link DEFAULT_API_VERSION}.
 */
export function resolveAzureCall(request: object, model: string, context: UpstreamContext): AzureCall {
  const provider = context.providerId
  const caller = callerTargetOf(request)
  const key = context.key
  const keyConfig = azureKeyConfigOf(key)
  let endpoint = keyConfig?.endpoint?.replace(/\/+$/, '')
  if (caller?.endpoint !== undefined) {
    const checked = checkCallerEndpoint(caller.endpoint, azureOptionsOf(context.config))
    const direct = key !== undefined && isDirectKey(key, context)
    if (endpoint !== undefined && !direct && new URL(endpoint).origin !== new URL(checked).origin) {
      throw badRequest(provider, `x-bf-azure-endpoint names ${checked}, but the configured key is bound to another Azure resource; send your own api-key (client.allow_direct_keys) or leave the header out`, 'x-bf-azure-endpoint')
    }
    endpoint = checked
  }
  if (endpoint === undefined) {
    throw badRequest(provider, 'no Azure endpoint: send x-bf-azure-endpoint, or set azure_key_config.endpoint on the key', 'x-bf-azure-endpoint')
  }
  if (!key?.value) throw badRequest(provider, 'no API key for Azure: configure a key, or send api-key with client.allow_direct_keys')
  return {
    endpoint,
    apiVersion: caller?.apiVersion ?? keyConfig?.api_version ?? DEFAULT_API_VERSION,
    deployment: keyConfig?.deployments?.[model] ?? model,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'api-key': key.value },
  }
}

/** `{endpoint}/openai/deployments/{deployment}{path}?api-version=…`, Azure's deployment-scoped data plane. */
export function deploymentURL(call: AzureCall, path: string): string {
  return `${call.endpoint}/openai/deployments/${encodeURIComponent(call.deployment)}${path}?api-version=${encodeURIComponent(call.apiVersion)}`
}

/**
 * `{endpoint}/openai/v1{path}`: Azure's v1 API (GA since August 2025), which the Responses API uses.
 * The deployment goes in the body's `model`, and no api-version is needed.
 * https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle
 */
export function v1URL(call: AzureCall, path: string): string {
  return `${call.endpoint}/openai/v1${path}`
}
