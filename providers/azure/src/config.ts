import * as v from 'valibot'
import type { KeyConfig, ProviderConfig } from '@switchyard/core'
import { parseAllowlistPattern } from './endpoint.js'

/**
 * Azure OpenAI configuration:
 *
 * ```json
 * "azure": {
 *   "keys": [{
 *     "value": "env.AZURE_API_KEY",
 *     "azure_key_config": {
 *       "endpoint": "https://my-res.openai.azure.com",
 *       "api_version": "2024-10-21",
 *       "deployments": { "gpt-4o": "my-gpt4o-deployment" }
 *     }
 *   }],
 *   "options": {
 *     "endpoint_allowlist": ["https://*.openai.azure.com", "https://*.cognitiveservices.azure.com"],
 *     "allow_private_endpoints": false
 *   }
 * }
 * ```
 */

/** `api-version` used when neither the key's `api_version` nor the caller names one: the latest GA data-plane version. */
export const DEFAULT_API_VERSION = '2024-10-21'

/** The endpoints a caller may name in `x-bf-azure-endpoint` when `options.endpoint_allowlist` is not set. */
export const DEFAULT_ENDPOINT_ALLOWLIST: readonly string[] = ['https://*.openai.azure.com', 'https://*.cognitiveservices.azure.com']

/** An `api-version` value: dated versions (`2024-10-21`, `2025-04-01-preview`), `preview`, `latest`, `v1`. */
export const API_VERSION = /^[A-Za-z0-9][A-Za-z0-9.-]{0,39}$/

/** Azure deployment names: letters, digits, `-`, `_`, `.` (at most 64). */
export const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

const AzureKeyConfigSchema = v.strictObject({
  /** Resource endpoint, `https://<resource>.openai.azure.com` (scheme and host; no path). */
  endpoint: v.optional(v.pipe(v.string(), v.url('must be a URL such as https://my-res.openai.azure.com'))),
  /** `api-version` for deployment calls. Default {@link DEFAULT_API_VERSION}. */
  api_version: v.optional(v.pipe(v.string(), v.regex(API_VERSION, 'must be an Azure api-version such as "2024-10-21"'))),
  /** Model name -> deployment name. A model not listed is used as the deployment name. */
  deployments: v.optional(v.record(v.string(), v.pipe(v.string(), v.regex(DEPLOYMENT_NAME, 'must be a deployment name (letters, digits, - _ .)')))),
})

export type AzureKeyConfig = v.InferOutput<typeof AzureKeyConfigSchema>

const OptionsSchema = v.looseObject({
  /** `scheme://host[:port]` patterns (`*` = one DNS label; `:*` = any port) a caller-named endpoint must match. */
  endpoint_allowlist: v.optional(v.array(v.string())),
  /** Let a caller-named endpoint be a private, loopback or link-local address. Default false. */
  allow_private_endpoints: v.optional(v.boolean()),
})

export interface AzureOptions {
  allowlist: readonly string[]
  allowPrivate: boolean
}

const cache = new WeakMap<object, AzureKeyConfig | undefined>()

/** The key's `azure_key_config` (validated at start by {@link validateAzureConfig}); undefined when absent. */
export function azureKeyConfigOf(key: KeyConfig | undefined): AzureKeyConfig | undefined {
  if (!key) return undefined
  if (!cache.has(key)) {
    const result = v.safeParse(AzureKeyConfigSchema, (key as Record<string, unknown>).azure_key_config)
    cache.set(key, result.success ? result.output : undefined)
  }
  return cache.get(key)
}

/** `options.endpoint_allowlist` and `options.allow_private_endpoints`, with their defaults. */
export function azureOptionsOf(config: Pick<ProviderConfig, 'options'> | undefined): AzureOptions {
  const result = v.safeParse(OptionsSchema, config?.options ?? {})
  const options = result.success ? result.output : {}
  return { allowlist: options.endpoint_allowlist ?? DEFAULT_ENDPOINT_ALLOWLIST, allowPrivate: options.allow_private_endpoints === true }
}

function issuesOf(result: v.SafeParseResult<v.GenericSchema>, base: string): string[] {
  if (result.success) return []
  return result.issues.map((issue) => {
    const path = (issue.path ?? []).map((item) => (typeof item.key === 'number' ? `[${item.key}]` : `.${String(item.key)}`)).join('')
    const message = issue.type === 'strict_object' ? 'unknown member (azure_key_config takes endpoint, api_version and deployments)' : issue.message
    return `${base}${path}: ${message}`
  })
}

/**
 * Checks `providers.azure` at start: each key's `azure_key_config` (an endpoint must be a bare
 * http(s) origin) and the endpoint options. Issues are `path: message` relative to the provider.
 */
export function validateAzureConfig(config: ProviderConfig): string[] {
  const issues: string[] = []
  config.keys.forEach((key, index) => {
    const raw = (key as Record<string, unknown>).azure_key_config
    if (raw === undefined) return
    const base = `keys[${index}].azure_key_config`
    const result = v.safeParse(AzureKeyConfigSchema, raw)
    issues.push(...issuesOf(result, base))
    if (result.success && result.output.endpoint !== undefined) {
      const url = new URL(result.output.endpoint)
      if (url.protocol !== 'https:' && url.protocol !== 'http:') issues.push(`${base}.endpoint: must be an http(s) URL`)
      else if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) issues.push(`${base}.endpoint: must be the resource origin only, such as https://my-res.openai.azure.com`)
    }
  })
  const options = v.safeParse(OptionsSchema, config.options ?? {})
  issues.push(...issuesOf(options, 'options'))
  if (options.success) {
    options.output.endpoint_allowlist?.forEach((pattern, index) => {
      if (!parseAllowlistPattern(pattern)) issues.push(`options.endpoint_allowlist[${index}]: "${pattern}" is not a scheme://host[:port] pattern (such as https://*.openai.azure.com)`)
    })
  }
  return issues
}
