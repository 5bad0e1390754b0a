import { GatewayError, type KeyConfig, type ProviderConfig, type UpstreamContext } from '@switchyard/core'

/**
 * Where Bedrock credentials come from, in order:
 *
 * 1. the chosen key's `value` as JSON: `{"accessKeyId", "secretAccessKey", "sessionToken"?, "region"?}`
 *    (usually `"value": "env.BEDROCK_CREDENTIALS"` holding that JSON), signed with SigV4;
 * 2. the chosen key's `value` as any other string: an Amazon Bedrock API key, sent as
 *    `Authorization: Bearer <key>` (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html);
 * 3. `providers.bedrock.options`: `access_key_id`, `secret_access_key`, `session_token` (each may be
 *    `env.VAR`, resolved when the config is loaded), signed with SigV4.
 *
 * The region is the key JSON's `region`, else `options.region`, else `us-east-1`.
 */

/** AWS credentials for SigV4. */
export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** How one Bedrock call is authorized. */
export type BedrockAuth =
  | { type: 'sigv4'; credentials: AwsCredentials; region: string }
  | { type: 'bearer'; token: string; region: string }

/** Region used when neither the key nor `options.region` names one. */
export const DEFAULT_REGION = 'us-east-1'

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0

/** The key's JSON credentials, or undefined when the value is not a JSON object (an API key). */
function keyJson(value: string): Record<string, unknown> | undefined {
  if (!value.trimStart().startsWith('{')) return undefined
  try {
    const json: unknown = JSON.parse(value)
    return isObject(json) ? json : undefined
  } catch {
    return undefined
  }
}

/** Problems with the credentials of one key value (empty when fine). Never quotes the secret. */
function keyIssues(value: string): string[] {
  if (!value.trimStart().startsWith('{')) return []
  const json = keyJson(value)
  if (!json) return ['value: looks like JSON credentials but is not a valid JSON object']
  const issues: string[] = []
  if (!nonEmpty(json.accessKeyId)) issues.push('value: JSON credentials need "accessKeyId" (a non-empty string)')
  if (!nonEmpty(json.secretAccessKey)) issues.push('value: JSON credentials need "secretAccessKey" (a non-empty string)')
  if (json.sessionToken !== undefined && !nonEmpty(json.sessionToken)) issues.push('value: "sessionToken" must be a non-empty string when given')
  if (json.region !== undefined && !(typeof json.region === 'string' && REGION.test(json.region))) issues.push('value: "region" must be an AWS region such as "us-east-1"')
  return issues
}

/**
 * Checks `providers.bedrock` at start: key values, `options` credentials and region. Returns
 * `path: message` issues relative to the provider entry (the gateway prefixes `providers.<id>.`).
 */
export function validateBedrockConfig(config: ProviderConfig): string[] {
  const issues: string[] = []
  config.keys.forEach((key, index) => {
    for (const issue of keyIssues(key.value)) issues.push(`keys[${index}].${issue}`)
  })
  const options = config.options ?? {}
  for (const name of ['access_key_id', 'secret_access_key', 'session_token', 'region']) {
    if (options[name] !== undefined && !nonEmpty(options[name])) issues.push(`options.${name}: must be a non-empty string`)
  }
  if (nonEmpty(options.access_key_id) !== nonEmpty(options.secret_access_key)) {
    issues.push('options: access_key_id and secret_access_key go together')
  }
  if (nonEmpty(options.region) && !REGION.test(options.region)) issues.push('options.region: must be an AWS region such as "us-east-1"')
  if (config.keys.length === 0 && !nonEmpty(options.access_key_id)) {
    issues.push('keys: Bedrock needs credentials: a key (JSON AWS credentials or a Bedrock API key) or options.access_key_id/secret_access_key')
  }
  return issues
}

const parsed = new WeakMap<KeyConfig, Record<string, unknown> | undefined>()

function cachedKeyJson(key: KeyConfig): Record<string, unknown> | undefined {
  if (!parsed.has(key)) parsed.set(key, keyJson(key.value))
  return parsed.get(key)
}

/**
 * The credentials and region for one call (see the module comment for the order). Throws a 500
 * GatewayError (nothing is sent) when none are configured.
 */
export function bedrockAuth(context: Pick<UpstreamContext, 'key' | 'config' | 'providerId'>): BedrockAuth {
  const options = context.config.options ?? {}
  const optionRegion = nonEmpty(options.region) ? options.region : DEFAULT_REGION
  const key = context.key
  if (key?.value) {
    const json = cachedKeyJson(key)
    if (json) {
      if (!nonEmpty(json.accessKeyId) || !nonEmpty(json.secretAccessKey)) throw misconfigured(context.providerId, 'the key JSON lacks accessKeyId or secretAccessKey')
      const credentials: AwsCredentials = { accessKeyId: json.accessKeyId, secretAccessKey: json.secretAccessKey }
      if (nonEmpty(json.sessionToken)) credentials.sessionToken = json.sessionToken
      return { type: 'sigv4', credentials, region: nonEmpty(json.region) ? json.region : optionRegion }
    }
    return { type: 'bearer', token: key.value, region: optionRegion }
  }
  if (nonEmpty(options.access_key_id) && nonEmpty(options.secret_access_key)) {
    const credentials: AwsCredentials = { accessKeyId: options.access_key_id, secretAccessKey: options.secret_access_key }
    if (nonEmpty(options.session_token)) credentials.sessionToken = options.session_token
    return { type: 'sigv4', credentials, region: optionRegion }
  }
  throw misconfigured(context.providerId, 'no credentials configured (a key, or options.access_key_id and options.secret_access_key)')
}

function misconfigured(provider: string, detail: string): GatewayError {
  return new GatewayError({ status: 500, code: 'internal', type: 'configuration_error', provider, retryable: false, message: `[${provider}] ${detail}` })
}

/** `https://bedrock-runtime.<region>.amazonaws.com`, or `network_config.base_url` when set. */
export function runtimeBaseURL(context: Pick<UpstreamContext, 'baseURL'>, region: string): string {
  return context.baseURL || `https://bedrock-runtime.${region}.amazonaws.com`
}
