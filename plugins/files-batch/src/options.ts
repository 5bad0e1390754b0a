import type { Config } from '@switchyard/core'
import { resolveEnvValue } from './s3.js'

/** How a provider's files are kept. */
export type TargetKind =
  /** The provider's own OpenAI-style Files API (`/files`), forwarded. */
  | 'openai'
  /** Gemini's file API (resumable upload, `files/<id>`). */
  | 'gemini'
  /** Objects in the caller's S3 bucket (`storage_config.s3`), with the provider's AWS credentials. */
  | 'bedrock'
  /** The gateway's own blob store (`store`). */
  | 'gateway'

/** `bedrock` options: where Bedrock's files go when the caller names no `storage_config.s3`, and which buckets are allowed. */
export interface BedrockFilesOptions {
  /** Bucket used when the upload has no `storage_config.s3.bucket`. Default none (the field is then required). */
  bucket?: string
  /** Key prefix used when the upload has no `storage_config.s3.prefix`. Default none. */
  prefix?: string
  /** Buckets callers may name. Default: any bucket the Bedrock credentials can write. */
  allowed_buckets?: string[]
  /** S3 endpoint (an S3-compatible server, a VPC endpoint); default AWS's for the region. */
  endpoint?: string
  /** Path-style addressing (default: virtual-hosted on AWS, path-style for a custom endpoint). */
  path_style?: boolean
}

/** The plugin's `config`. */
export interface FilesBatchOptions {
  /** Largest file accepted (MiB); a larger upload is refused with 413 before anything is kept. Default: `client.max_request_body_size_mb`. */
  max_file_size_mb?: number
  /** Where the gateway keeps files itself (see `@switchyard/plugin-s3-storage`'s `BlobStoreConfig`). Default: the gateway's storage. */
  store?: unknown
  /**
   * How each provider's files are kept, over the defaults `openai` -> `openai`, `gemini` ->
   * `gemini`, `bedrock` -> `bedrock`, anything else -> `gateway`. E.g. `{ "groq": "openai" }` for
   * an OpenAI-compatible provider with its own Files API.
   */
  targets?: Record<string, TargetKind>
  bedrock?: BedrockFilesOptions
}

export interface ResolvedFilesOptions {
  maxFileBytes: number
  store: unknown
  targets: Record<string, TargetKind>
  bedrock: BedrockFilesOptions
}

const KINDS = new Set<TargetKind>(['openai', 'gemini', 'bedrock', 'gateway'])
const DEFAULT_TARGETS: Record<string, TargetKind> = { openai: 'openai', gemini: 'gemini', bedrock: 'bedrock' }

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Checks the plugin's config; throws naming the bad field (`config.bedrock.bucket: ...`). */
export function resolveFilesOptions(input: unknown, config: Config): ResolvedFilesOptions {
  const fail = (path: string, message: string): never => {
    throw new Error(`@switchyard/plugin-files-batch config.${path}: ${message}`)
  }
  const options = input === undefined || input === null ? {} : isObject(input) ? input : fail('(root)', 'must be an object')
  const size = options.max_file_size_mb ?? config.client.max_request_body_size_mb
  if (typeof size !== 'number' || !(size > 0)) fail('max_file_size_mb', 'must be a positive number (MiB)')
  const targets: Record<string, TargetKind> = { ...DEFAULT_TARGETS }
  if (options.targets !== undefined) {
    if (!isObject(options.targets)) fail('targets', 'must map provider ids to "openai", "gemini", "bedrock" or "gateway"')
    for (const [id, kind] of Object.entries(options.targets as Record<string, unknown>)) {
      if (!KINDS.has(kind as TargetKind)) fail(`targets.${id}`, 'must be "openai", "gemini", "bedrock" or "gateway"')
      targets[id] = kind as TargetKind
    }
  }
  const bedrock: BedrockFilesOptions = {}
  if (options.bedrock !== undefined) {
    const input = isObject(options.bedrock) ? options.bedrock : fail('bedrock', 'must be an object')
    for (const name of ['bucket', 'prefix', 'endpoint'] as const) {
      const value = input[name]
      if (value === undefined) continue
      if (typeof value !== 'string' || value.length === 0) fail(`bedrock.${name}`, 'must be a non-empty string')
      bedrock[name] = resolveEnvValue(value as string, `config.bedrock.${name}`)
    }
    if (bedrock.endpoint !== undefined && !/^https?:\/\//.test(bedrock.endpoint)) fail('bedrock.endpoint', 'must be an http(s) URL')
    if (input.path_style !== undefined) {
      if (typeof input.path_style !== 'boolean') fail('bedrock.path_style', 'must be a boolean')
      bedrock.path_style = input.path_style as boolean
    }
    if (input.allowed_buckets !== undefined) {
      if (!Array.isArray(input.allowed_buckets) || !input.allowed_buckets.every((bucket) => typeof bucket === 'string')) fail('bedrock.allowed_buckets', 'must be a list of bucket names')
      bedrock.allowed_buckets = input.allowed_buckets as string[]
    }
  }
  return { maxFileBytes: Math.floor((size as number) * 1024 * 1024), store: options.store, targets, bedrock }
}
