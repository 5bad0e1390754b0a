import type { Config, Logger, PluginSetupContext, SendResult } from '@switchyard/core'
import type { FileList, FileObject, ListQuery } from './file-object.js'
import type { ResolvedFilesOptions } from './options.js'
import type { FileLocation, FileRecord, FileRecords } from './records.js'
import type { BlobStore } from './s3.js'
import type { StagedFile } from './upload.js'

/** What every target works with. */
export interface FilesEnv {
  blobs: BlobStore
  records: FileRecords
  send: PluginSetupContext['send']
  config: Config
  options: ResolvedFilesOptions
  log: Logger
}

/** Who asks, for which provider. */
export interface CallInfo {
  /** Virtual key id of the caller; `''` without one. */
  owner: string
  provider: string
  /** Fires when the caller goes away. */
  signal: AbortSignal
}

/** An upload to deliver to a target. */
export interface NewFile {
  staged: StagedFile
  purpose: string
  /** `expires_after[seconds]` of the form (anchor `created_at`). */
  expiresAfterSeconds: number | undefined
  /** `storage_config` of the form (Bedrock's `s3: { bucket, region, prefix }`). */
  storageConfig: Record<string, unknown> | undefined
}

/** A file the caller may address: its id, record key and record (undefined for a provider file the gateway has no record of). */
export interface FileRef {
  id: string
  recordKey: string
  record: FileRecord | undefined
}

/** OpenAI's answer to `DELETE /files/{id}`. */
export interface DeletedFile {
  id: string
  object: 'file'
  deleted: boolean
}

/** One way of keeping files (a provider's API, S3, the gateway's store). */
export interface FilesTarget {
  /** Delivers a staged upload; the target deletes the staged blob or keeps it as the file (or its copy). */
  create(file: NewFile, call: CallInfo): Promise<FileObject>
  list(query: ListQuery, call: CallInfo, storageConfig: Record<string, unknown> | undefined): Promise<FileList>
  retrieve(ref: FileRef, call: CallInfo): Promise<FileObject>
  remove(ref: FileRef, call: CallInfo): Promise<DeletedFile>
  /** The bytes, streamed. */
  content(ref: FileRef, call: CallInfo): Promise<{ body: ReadableStream<Uint8Array>; contentType: string }>
}

/** Unix seconds. */
export const nowSeconds = () => Math.floor(Date.now() / 1000)

/**
 * The record of a file just created from an upload. `created_at` and `expires_at` default to now
 * and to `expires_after` from now; a provider's own times win when it gives them.
 */
export function recordOf(file: NewFile, call: CallInfo, fields: { id: string; location: FileLocation; created_at?: number; expires_at?: number; copy?: string }): FileRecord {
  const created = fields.created_at ?? nowSeconds()
  return {
    v: 1,
    id: fields.id,
    provider: call.provider,
    owner: call.owner,
    filename: file.staged.filename,
    purpose: file.purpose,
    bytes: file.staged.bytes,
    created_at: created,
    expires_at: fields.expires_at ?? (file.expiresAfterSeconds === undefined ? undefined : created + file.expiresAfterSeconds),
    content_type: file.staged.contentType,
    location: fields.location,
    ...(fields.copy !== undefined ? { copy: fields.copy } : {}),
  }
}

/** The JSON of an upstream answer (the call settled). */
export async function jsonOf(sent: SendResult): Promise<unknown> {
  try {
    return await sent.response.json()
  } finally {
    sent.settle()
  }
}

/**
 * An upstream body relayed as it arrives: the request timeout is disarmed (a long download is not
 * cut off) and the call is settled when the body ends, fails or the caller cancels it.
 */
export function relayBody(sent: SendResult): ReadableStream<Uint8Array> {
  sent.done()
  const body = sent.response.body
  if (!body) {
    sent.settle()
    return new Blob([]).stream()
  }
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read()
        if (done) {
          sent.settle()
          controller.close()
        } else controller.enqueue(value)
      } catch (error) {
        sent.settle()
        controller.error(sent.failed(error))
      }
    },
    cancel(reason) {
      sent.settle()
      return reader.cancel(reason)
    },
  })
}

/**
 * Which provider files of a caller may see: with a virtual key, those the gateway recorded for
 * that key; without one, all but those a virtual key owns.
 */
export async function visibility(env: FilesEnv, owner: string, provider: string): Promise<(recordKey: string) => boolean> {
  if (owner !== '') {
    const owned = new Set(await env.records.keysOf(owner, provider))
    return (recordKey) => owned.has(recordKey)
  }
  const hidden = await env.records.ownedByKeys(provider)
  return (recordKey) => !hidden.has(recordKey)
}

/** The records `owner` has at `provider` (expired ones dropped). */
export async function recordsOf(env: FilesEnv, owner: string, provider: string): Promise<FileRecord[]> {
  const out: FileRecord[] = []
  const now = nowSeconds()
  for (const key of await env.records.keysOf(owner, provider)) {
    const record = await env.records.get(key)
    if (record && !(record.expires_at !== undefined && record.expires_at <= now)) out.push(record)
  }
  return out
}
