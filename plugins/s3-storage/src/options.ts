import type { PluginSetupContext } from '@switchyard/core'
import { createStorageBlobStore, type BlobStore } from './blob-store.js'
import { createS3Client, type S3ClientOptions } from './client.js'
import { createS3BlobStore } from './s3-blob-store.js'

/**
 * Where a blob store lives, as a plugin's config says it (`store` of the files-batch plugin):
 *
 * ```json
 * { "type": "s3", "bucket": "switchyard-files", "region": "eu-west-1", "prefix": "files/",
 *   "access_key_id": "env.AWS_ACCESS_KEY_ID", "secret_access_key": "env.AWS_SECRET_ACCESS_KEY" }
 * ```
 *
 * `{ "type": "storage" }` (the default) keeps blobs in the gateway's own storage. String values
 * `env.VAR` are read from the environment at start.
 */
export type BlobStoreConfig =
  | { type: 'storage'; base?: string }
  | {
      type: 's3'
      bucket: string
      region?: string
      /** S3-compatible server (MinIO, R2 ...); default AWS. */
      endpoint?: string
      prefix?: string
      /** Path-style addressing (see `S3ClientOptions.pathStyle`). */
      path_style?: boolean
      access_key_id: string
      secret_access_key: string
      session_token?: string
    }

/** A config problem, named by its path under the plugin's `config`. */
export class BlobStoreConfigError extends Error {
  override name = 'BlobStoreConfigError'
}

/** Reads `env.VAR` from the process environment (Node, Bun and Deno all expose `process.env`). */
export function resolveEnvValue(value: string, path: string): string {
  if (!value.startsWith('env.')) return value
  const name = value.slice(4)
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  const resolved = env?.[name]
  if (!resolved) throw new BlobStoreConfigError(`${path}: environment variable ${name} is not set`)
  return resolved
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function stringAt(input: Record<string, unknown>, name: string, path: string, required: boolean): string | undefined {
  const value = input[name]
  if (value === undefined && !required) return undefined
  if (typeof value !== 'string' || value.length === 0) throw new BlobStoreConfigError(`${path}.${name}: must be a non-empty string`)
  return resolveEnvValue(value, `${path}.${name}`)
}

/**
 * Builds a blob store from its config (see {@link BlobStoreConfig}); `undefined` means the
 * gateway's storage. `path` names the config entry in error messages. `fetch` is the S3 transport
 * (tests). Throws a BlobStoreConfigError naming the bad field.
 */
export function createBlobStore(input: unknown, storage: PluginSetupContext['storage'], path = 'store', fetch?: typeof globalThis.fetch): BlobStore {
  if (input === undefined) return createStorageBlobStore(storage)
  if (!isObject(input)) throw new BlobStoreConfigError(`${path}: must be an object with "type": "storage" or "s3"`)
  if (input.type === 'storage') return createStorageBlobStore(storage, { base: stringAt(input, 'base', path, false) })
  if (input.type !== 's3') throw new BlobStoreConfigError(`${path}.type: must be "storage" or "s3"`)
  const options: S3ClientOptions = {
    region: stringAt(input, 'region', path, false) ?? 'us-east-1',
    endpoint: stringAt(input, 'endpoint', path, false),
    credentials: {
      accessKeyId: stringAt(input, 'access_key_id', path, true)!,
      secretAccessKey: stringAt(input, 'secret_access_key', path, true)!,
      sessionToken: stringAt(input, 'session_token', path, false),
    },
    fetch,
  }
  if (input.path_style !== undefined) {
    if (typeof input.path_style !== 'boolean') throw new BlobStoreConfigError(`${path}.path_style: must be a boolean`)
    options.pathStyle = input.path_style
  }
  if (options.endpoint !== undefined && !/^https?:\/\//.test(options.endpoint)) throw new BlobStoreConfigError(`${path}.endpoint: must be an http(s) URL`)
  try {
    return createS3BlobStore({ client: createS3Client(options), bucket: stringAt(input, 'bucket', path, true)!, prefix: stringAt(input, 'prefix', path, false) })
  } catch (error) {
    throw new BlobStoreConfigError(`${path}.bucket: ${(error as Error).message}`)
  }
}
