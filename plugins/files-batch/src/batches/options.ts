import type { Config } from '@switchyard/core'
import type { TargetKind } from '../options.js'
import { resolveEnvValue } from '../s3.js'

/**
 * How a provider's batches run:
 * - `openai`: the provider's own OpenAI-style Batch API (`/batches`), forwarded;
 * - `anthropic`: Anthropic's Message Batches, requests converted and sent inline;
 * - `bedrock`: a Bedrock model invocation job reading and writing S3;
 * - `gemini`: Gemini's batch mode (`batchGenerateContent`, inline or file requests);
 * - `gateway`: the gateway runs the requests itself through its own routing path.
 */
export type BatchKind = 'openai' | 'anthropic' | 'bedrock' | 'gemini' | 'gateway'

/** `batches.bedrock`: what a model invocation job needs that the OpenAI SDK's call does not say. */
export interface BedrockBatchOptions {
  /** IAM service role Bedrock assumes to read the input and write the output (`role_arn` in `extra_body` wins). */
  role_arn?: string
  /** Where jobs write their output when `extra_body` names no `output_s3_uri` (`s3://bucket/prefix`). */
  output_s3_uri?: string
  /** Bedrock control-plane endpoint; default `https://bedrock.<region>.amazonaws.com`. */
  endpoint?: string
}

/** `batches.gemini`. */
export interface GeminiBatchOptions {
  /** Largest total of converted requests sent inline (bytes); a larger batch goes up as a JSONL file. Default 10 MiB (Gemini takes 20 MB inline). */
  inline_max_bytes?: number
}

/** The plugin's `config.batches`. */
export interface BatchesOptions {
  /** Requests of gateway-run batches one gateway instance runs at the same time. Default 8. */
  concurrency?: number
  /** How long a claim on a running request lasts without renewal (ms); renewed every third of it. Default 30000. */
  lease_ms?: number
  /** How often each instance looks for gateway-run batches nobody works on (ms). Default 5000. */
  scan_interval_ms?: number
  /** Most requests in one batch. Default 50000 (OpenAI's limit). */
  max_requests?: number
  /** How each provider's batches run, over the defaults (see {@link BatchKind}). */
  targets?: Record<string, BatchKind>
  bedrock?: BedrockBatchOptions
  gemini?: GeminiBatchOptions
}

export interface ResolvedBatchOptions {
  concurrency: number
  leaseMs: number
  scanIntervalMs: number
  maxRequests: number
  targets: Record<string, BatchKind>
  bedrock: BedrockBatchOptions
  geminiInlineMaxBytes: number
}

const KINDS = new Set<BatchKind>(['openai', 'anthropic', 'bedrock', 'gemini', 'gateway'])
/** Providers whose own batch API the gateway speaks, by id. */
const NATIVE: Record<string, BatchKind> = { openai: 'openai', anthropic: 'anthropic', bedrock: 'bedrock', gemini: 'gemini' }

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Checks `config.batches` of the plugin; throws naming the bad field. */
export function resolveBatchOptions(input: unknown): ResolvedBatchOptions {
  const fail = (path: string, message: string): never => {
    throw new Error(`@switchyard/plugin-files-batch config.batches${path ? `.${path}` : ''}: ${message}`)
  }
  const options = input === undefined || input === null ? {} : isObject(input) ? input : fail('', 'must be an object')
  const known = new Set(['concurrency', 'lease_ms', 'scan_interval_ms', 'max_requests', 'targets', 'bedrock', 'gemini'])
  for (const name of Object.keys(options)) if (!known.has(name)) fail(name, `is not an option (known: ${[...known].join(', ')})`)
  const integer = (value: unknown, path: string, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(path, `must be an integer from ${min} to ${max}`)
    return value as number
  }
  const targets: Record<string, BatchKind> = {}
  if (options.targets !== undefined) {
    if (!isObject(options.targets)) fail('targets', 'must map provider ids to "openai", "anthropic", "bedrock", "gemini" or "gateway"')
    for (const [id, kind] of Object.entries(options.targets as Record<string, unknown>)) {
      if (!KINDS.has(kind as BatchKind)) fail(`targets.${id}`, 'must be "openai", "anthropic", "bedrock", "gemini" or "gateway"')
      targets[id] = kind as BatchKind
    }
  }
  const bedrock: BedrockBatchOptions = {}
  if (options.bedrock !== undefined) {
    const given = isObject(options.bedrock) ? options.bedrock : fail('bedrock', 'must be an object')
    for (const name of ['role_arn', 'output_s3_uri', 'endpoint'] as const) {
      const value = given[name]
      if (value === undefined) continue
      if (typeof value !== 'string' || value.length === 0) fail(`bedrock.${name}`, 'must be a non-empty string')
      bedrock[name] = resolveEnvValue(value as string, `config.batches.bedrock.${name}`)
    }
    if (bedrock.endpoint !== undefined && !/^https?:\/\//.test(bedrock.endpoint)) fail('bedrock.endpoint', 'must be an http(s) URL')
    if (bedrock.output_s3_uri !== undefined && !bedrock.output_s3_uri.startsWith('s3://')) fail('bedrock.output_s3_uri', 'must be an s3:// URI')
  }
  let geminiInlineMaxBytes = 10 * 1024 * 1024
  if (options.gemini !== undefined) {
    const given = isObject(options.gemini) ? options.gemini : fail('gemini', 'must be an object')
    geminiInlineMaxBytes = integer(given.inline_max_bytes, 'gemini.inline_max_bytes', geminiInlineMaxBytes, 0, 20_000_000)
  }
  return {
    concurrency: integer(options.concurrency, 'concurrency', 8, 1, 1_000),
    leaseMs: integer(options.lease_ms, 'lease_ms', 30_000, 300, 3_600_000),
    scanIntervalMs: integer(options.scan_interval_ms, 'scan_interval_ms', 5_000, 50, 3_600_000),
    maxRequests: integer(options.max_requests, 'max_requests', 50_000, 1, 1_000_000),
    targets,
    bedrock,
    geminiInlineMaxBytes,
  }
}

/**
 * How `provider`'s batches run: the configured target, else its own batch API for `openai`,
 * `anthropic`, `bedrock` and `gemini`, else OpenAI's Batch API for a provider whose files live in
 * an OpenAI-style Files API (`targets` of the Files API), else the gateway runs them.
 */
export function batchKindOf(provider: string, options: ResolvedBatchOptions, fileKind: TargetKind, config: Config): BatchKind {
  const configured = options.targets[provider]
  if (configured) return configured
  if (NATIVE[provider] && config.providers[provider]) return NATIVE[provider]
  return fileKind === 'openai' ? 'openai' : 'gateway'
}
