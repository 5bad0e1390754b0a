import { GatewayError } from '@switchyard/core'
import { PURPOSES, type FileList, type FileObject, type ListQuery } from './file-object.js'
import { checkGeminiId, checkOpenAIId, isMintedId, noSuchFile } from './ids.js'
import type { TargetKind } from './options.js'
import { recordKeyOf, type FileRecord } from './records.js'
import { nowSeconds, type CallInfo, type DeletedFile, type FileRef, type FilesEnv, type FilesTarget } from './target.js'
import { createBedrockTarget } from './targets/bedrock.js'
import { createGatewayTarget } from './targets/gateway.js'
import { createGeminiTarget } from './targets/gemini.js'
import { createOpenAITarget } from './targets/openai.js'
import { nestedField, type UploadForm } from './upload.js'

/** OpenAI's bounds for `expires_after[seconds]`: one hour to thirty days. */
const MIN_EXPIRY = 3600
const MAX_EXPIRY = 2_592_000

/** A file a caller may use, resolved: its target and reference. */
export interface ResolvedFile {
  provider: string
  kind: TargetKind
  target: FilesTarget
  ref: FileRef
  info: CallInfo
}

/**
 * The Files API across providers: picks the target of a provider, enforces ownership (a file
 * belongs to the virtual key that created it; anyone else gets the same 404 as for a file that
 * does not exist), expiry, and the checks every upload gets. The routes (and, next, the Batch API)
 * go through it.
 */
export interface FilesService {
  /** Which kind of storage a provider's files use; 400 for a provider the gateway does not know. */
  kindOf(provider: string): TargetKind
  create(form: UploadForm, owner: string, signal: AbortSignal): Promise<FileObject>
  list(provider: string, query: ListQuery, owner: string, signal: AbortSignal, storageConfig: Record<string, unknown> | undefined): Promise<FileList>
  /** Resolves an id from a URL for `owner` (404 when it is not theirs, 400 when it is not an id). */
  resolve(id: string, provider: string | undefined, owner: string, signal: AbortSignal): Promise<ResolvedFile>
  retrieve(file: ResolvedFile): Promise<FileObject>
  remove(file: ResolvedFile): Promise<DeletedFile>
  content(file: ResolvedFile): Promise<{ body: ReadableStream<Uint8Array>; contentType: string }>
  /** The record of a file the gateway keeps (for the Batch API: the input's location and bytes). */
  record(file: ResolvedFile): FileRecord | undefined
}

export function createFilesService(env: FilesEnv): FilesService {
  const targets: Record<TargetKind, FilesTarget> = {
    openai: createOpenAITarget(env),
    gemini: createGeminiTarget(env),
    bedrock: createBedrockTarget(env),
    gateway: createGatewayTarget(env),
  }

  function kindOf(provider: string): TargetKind {
    const kind = env.options.targets[provider]
    if (kind) return kind
    if (env.config.providers[provider]) return 'gateway'
    const known = [...new Set([...Object.keys(env.options.targets), ...Object.keys(env.config.providers)])].sort()
    throw GatewayError.badRequest(`unknown provider "${provider}" for files; use one of: ${known.join(', ')}`, 'provider')
  }

  /** `purpose`, checked against the values OpenAI's `POST /files` accepts. */
  function purposeOf(fields: ReadonlyMap<string, string>): string {
    const purpose = fields.get('purpose')
    if (purpose === undefined || purpose === '') throw GatewayError.badRequest("Missing required parameter: 'purpose'", 'purpose')
    if (!(PURPOSES as readonly string[]).includes(purpose)) throw GatewayError.badRequest(`Invalid 'purpose': ${JSON.stringify(purpose)}; expected one of ${PURPOSES.join(', ')}`, 'purpose')
    return purpose
  }

  /** `expires_after[anchor]` and `expires_after[seconds]`, checked; undefined when absent. */
  function expiryOf(fields: ReadonlyMap<string, string>): number | undefined {
    const expires = nestedField(fields, 'expires_after')
    if (!expires) return undefined
    if (expires.anchor !== 'created_at') throw GatewayError.badRequest("expires_after[anchor] must be 'created_at'", 'expires_after')
    const seconds = Number(expires.seconds)
    if (!Number.isInteger(seconds) || seconds < MIN_EXPIRY || seconds > MAX_EXPIRY) throw GatewayError.badRequest(`expires_after[seconds] must be an integer from ${MIN_EXPIRY} to ${MAX_EXPIRY}`, 'expires_after')
    return seconds
  }

  async function create(form: UploadForm, owner: string, signal: AbortSignal): Promise<FileObject> {
    const { fields, file } = form
    try {
      const provider = fields.get('provider') || 'openai'
      const kind = kindOf(provider)
      const purpose = purposeOf(fields)
      if (purpose === 'batch' && file.batchInput.problem) {
        throw GatewayError.badRequest(`invalid batch input file ${JSON.stringify(file.filename)}: ${file.batchInput.problem}`, 'file')
      }
      const storageConfig = nestedField(fields, 'storage_config')
      return await targets[kind].create({ staged: file, purpose, expiresAfterSeconds: expiryOf(fields), storageConfig }, { owner, provider, signal })
    } catch (error) {
      // Nothing of a refused upload is kept.
      await env.blobs.delete(file.key).catch(() => {})
      throw error
    }
  }

  async function list(provider: string, query: ListQuery, owner: string, signal: AbortSignal, storageConfig: Record<string, unknown> | undefined): Promise<FileList> {
    return targets[kindOf(provider)].list(query, { owner, provider, signal }, storageConfig)
  }

  /** A record past its `expires_at` is gone: removed (with its bytes) on the first access after. */
  async function expire(recordKey: string, record: FileRecord): Promise<void> {
    await env.records.remove(recordKey, record)
    const blob = record.location.type === 'blob' ? record.location.key : record.copy
    if (blob) await env.blobs.delete(blob)
  }

  async function resolve(id: string, providerQuery: string | undefined, owner: string, signal: AbortSignal): Promise<ResolvedFile> {
    if (isMintedId(id)) {
      const record = await env.records.get(id)
      if (!record || record.owner !== owner) throw noSuchFile(id)
      if (record.expires_at !== undefined && record.expires_at <= nowSeconds()) {
        await expire(id, record)
        throw noSuchFile(id)
      }
      // A file the gateway wrote into its blob store (a batch's output) is served from there, whatever its provider.
      const kind = record.location.type === 'blob' ? 'gateway' : kindOf(record.provider)
      return { provider: record.provider, kind, target: targets[kind], ref: { id, recordKey: id, record }, info: { owner, provider: record.provider, signal } }
    }
    const provider = providerQuery || 'openai'
    const kind = kindOf(provider)
    let canonical: string
    if (kind === 'openai') canonical = checkOpenAIId(id)
    else if (kind === 'gemini') canonical = `files/${checkGeminiId(id)}`
    else {
      // Only minted ids live here: anything else is either not an id at all, or not a file.
      checkOpenAIId(id)
      throw noSuchFile(id)
    }
    const recordKey = recordKeyOf(provider, canonical, false)
    const record = await env.records.get(recordKey)
    // Another key's file, or (for a caller with a virtual key) one the gateway did not record for it.
    if (record ? record.owner !== owner : owner !== '') throw noSuchFile(id)
    return { provider, kind, target: targets[kind], ref: { id: canonical, recordKey, record }, info: { owner, provider, signal } }
  }

  return {
    kindOf,
    create,
    list,
    resolve,
    retrieve: (file) => file.target.retrieve(file.ref, file.info),
    remove: (file) => file.target.remove(file.ref, file.info),
    content: (file) => file.target.content(file.ref, file.info),
    record: (file) => file.ref.record,
  }
}

