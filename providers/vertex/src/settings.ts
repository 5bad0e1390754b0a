import { GatewayError, type UpstreamContext } from '@switchyard/core'

/**
 * Where a Vertex AI call goes and how it authenticates, from the chosen key and
 * `providers.vertex.options`. https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest
 */

/** `providers.vertex.options` (every member optional). */
export interface VertexOptions {
  /** Google Cloud project id (`project_id` also read). Default: the service account's `project_id`. */
  project?: string
  /** Region (`location` also read), e.g. `us-central1`; `global` uses the global endpoint. Default `global`. */
  region?: string
  /** Model publisher in `publishers/<publisher>/models/<model>`. Default `google`. */
  publisher?: string
  /** An OAuth access token, used as is (`Authorization: Bearer`) when no key is configured. */
  access_token?: string
  /** A service-account key (the JSON text or object) used when no key is configured. */
  service_account?: string | Record<string, unknown>
  /**
   * The OAuth token endpoint for service accounts. Default `https://oauth2.googleapis.com/token`.
   * A key file's own `token_uri` is not followed: a key (a caller's, with direct keys allowed)
   * could name any host.
   */
  token_url?: string
}

/** The members of a service-account key file the gateway uses. */
export interface ServiceAccount {
  client_email: string
  /** PEM, PKCS #8 (`-----BEGIN PRIVATE KEY-----`). */
  private_key: string
  private_key_id?: string
  project_id?: string
  token_uri?: string
}

/** How one call authenticates. */
export type VertexCredentials =
  | { kind: 'service-account'; account: ServiceAccount }
  | { kind: 'access-token'; token: string }
  /** Vertex AI express mode: an API key, no project in the URL. */
  | { kind: 'api-key'; key: string }

/** Service accounts parsed from key values (a key is read on every call; keys are few). */
const parsed = new Map<string, ServiceAccount | undefined>()

/** A service-account key from its JSON text or object; undefined when it is not one. */
export function parseServiceAccount(value: unknown): ServiceAccount | undefined {
  if (typeof value !== 'string') return readServiceAccount(value)
  if (parsed.has(value)) return parsed.get(value)
  // Direct keys (a caller's own) could fill the cache without end: it is emptied when full.
  if (parsed.size >= 64) parsed.clear()
  const account = readServiceAccount(value)
  parsed.set(value, account)
  return account
}

function readServiceAccount(value: unknown): ServiceAccount | undefined {
  let json = value
  if (typeof value === 'string') {
    if (!value.trimStart().startsWith('{')) return undefined
    try {
      json = JSON.parse(value)
    } catch {
      return undefined
    }
  }
  if (typeof json !== 'object' || json === null) return undefined
  const account = json as Record<string, unknown>
  if (typeof account.client_email !== 'string' || typeof account.private_key !== 'string') return undefined
  const out: ServiceAccount = { client_email: account.client_email, private_key: account.private_key }
  for (const name of ['private_key_id', 'project_id', 'token_uri'] as const) if (typeof account[name] === 'string') out[name] = account[name] as string
  return out
}

const optionsOf = (context: Pick<UpstreamContext, 'config'>): VertexOptions => (context.config.options ?? {}) as VertexOptions

const configError = (message: string) =>
  new GatewayError({ status: 500, code: 'config', provider: 'vertex', message: `[vertex] ${message}`, retryable: false })

/**
 * The credentials of one call: the chosen key's value (a service-account JSON, an access token
 * `ya29....`, or otherwise an express-mode API key); without a key, `options.service_account`,
 * then `options.access_token`. None at all is a 500 naming the settings to fill in.
 */
export function credentialsOf(context: Pick<UpstreamContext, 'key' | 'config'>): VertexCredentials {
  const value = context.key?.value
  if (value) {
    const account = parseServiceAccount(value)
    if (account) return { kind: 'service-account', account }
    if (value.trimStart().startsWith('{')) throw configError('the key value is JSON but not a service-account key (client_email and private_key are required)')
    return value.startsWith('ya29.') ? { kind: 'access-token', token: value } : { kind: 'api-key', key: value }
  }
  const options = optionsOf(context)
  if (options.service_account !== undefined) {
    const account = parseServiceAccount(options.service_account)
    if (!account) throw configError('options.service_account is not a service-account key (client_email and private_key are required)')
    return { kind: 'service-account', account }
  }
  if (typeof options.access_token === 'string' && options.access_token) return { kind: 'access-token', token: options.access_token }
  throw configError('no credentials: give a key (service-account JSON, access token or API key), options.service_account or options.access_token')
}

/** Where the calls go. `project` is undefined only in express mode (API key). */
export interface VertexLocation {
  project: string | undefined
  region: string
  publisher: string
}

const string = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined)

/**
 * Project, region and publisher of one call (see {@link VertexOptions}). A project or region that
 * could leave its URL segment is refused, as is a missing project outside express mode.
 */
export function locationOf(context: Pick<UpstreamContext, 'config'>, credentials: VertexCredentials): VertexLocation {
  const options = optionsOf(context) as VertexOptions & Record<string, unknown>
  const account = credentials.kind === 'service-account' ? credentials.account : undefined
  const project = string(options.project) ?? string(options.project_id) ?? account?.project_id
  const region = string(options.region) ?? string(options.location) ?? 'global'
  const publisher = string(options.publisher) ?? 'google'
  if (project !== undefined && !/^[a-z0-9][a-z0-9.:-]*$/i.test(project)) throw configError(`options.project "${project}" is not a project id`)
  if (!/^[a-z0-9-]+$/.test(region)) throw configError(`options.region "${region}" is not a region`)
  if (!/^[a-z0-9-]+$/.test(publisher)) throw configError(`options.publisher "${publisher}" is not a publisher`)
  if (project === undefined && credentials.kind !== 'api-key') throw configError('options.project is required (or a service account with project_id)')
  return { project, region, publisher }
}

/** Google's OAuth token endpoint. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token'

/** The OAuth token endpoint for service accounts: `options.token_url`, else Google's (see {@link VertexOptions.token_url}). */
export function tokenUrlOf(context: Pick<UpstreamContext, 'config'>): string {
  return string(optionsOf(context).token_url) ?? GOOGLE_TOKEN_URL
}
