import type { PluginSetupContext } from '@switchyard/core'

type Storage = PluginSetupContext['storage']

/** Where a file's bytes are. */
export type FileLocation =
  /** At the provider, under the record's `id` (OpenAI, Gemini). */
  | { type: 'provider' }
  /** In the gateway's blob store. */
  | { type: 'blob'; key: string }
  /** In an S3 bucket (Bedrock's `storage_config.s3`). */
  | { type: 's3'; bucket: string; key: string; region: string }

/**
 * What the gateway remembers about a file: who owns it, where it is, and the metadata a provider
 * does not keep (the purpose at Gemini). Kept in the gateway's storage, so every instance sharing
 * it (Redis) sees the same files.
 */
export interface FileRecord {
  v: 1
  /** The id the caller uses. */
  id: string
  /** Provider the file was created for (`openai`, `gemini`, `bedrock`, `anthropic` ...). */
  provider: string
  /** Owning virtual key id; `''` for a caller without one. */
  owner: string
  filename: string
  purpose: string
  /** Bytes. */
  bytes: number
  /** Unix seconds. */
  created_at: number
  /** Unix seconds; the file is gone from then on. */
  expires_at?: number
  content_type?: string
  location: FileLocation
  /** Blob key of the gateway's copy of the bytes, for providers that cannot give them back (Gemini). */
  copy?: string
}

/** The record key of a file: its minted id, or `n.<provider>.<provider's id>` (neither has a `.` otherwise). */
export function recordKeyOf(provider: string, id: string, minted: boolean): string {
  return minted ? id : `n.${provider}.${id.startsWith('files/') ? id.slice(6) : id}`
}

/** Owner ids are free text: hex keeps them a single, unambiguous storage key segment. */
function ownerSegment(owner: string): string {
  if (owner === '') return '_'
  let out = 'k'
  for (const byte of new TextEncoder().encode(owner)) out += byte.toString(16).padStart(2, '0')
  return out
}

/** What every owned record has: who owns it, at which provider, since when (Unix seconds). */
export interface OwnedRecord {
  v: 1
  owner: string
  provider: string
  created_at: number
}

/** Records in the gateway's storage, with an index per owner and provider for listing. */
export interface OwnedRecords<T extends OwnedRecord> {
  get(recordKey: string): Promise<T | undefined>
  put(recordKey: string, record: T): Promise<void>
  remove(recordKey: string, record: T): Promise<void>
  /** Record keys of the records `owner` has at `provider`. */
  keysOf(owner: string, provider: string): Promise<string[]>
  /** Record keys of every record any virtual key owns at `provider` (to keep them from callers without one). */
  ownedByKeys(provider: string): Promise<Set<string>>
}

/**
 * Owned records under `<base>:<kind>:<record key>`, indexed under `<base>:<index>:<owner>:<provider>:<record key>`
 * (files: `file` and `owner`; batches: `batch` and `batch-owner`).
 */
export function createOwnedRecords<T extends OwnedRecord>(storage: Storage, base: string, kind: string, index: string): OwnedRecords<T> {
  const recordKey = (key: string) => `${base}:${kind}:${key}`
  const indexKey = (owner: string, provider: string, key: string) => `${base}:${index}:${ownerSegment(owner)}:${provider}:${key}`
  const last = (key: string) => key.slice(key.lastIndexOf(':') + 1)
  return {
    async get(key) {
      const record = (await storage.getItem(recordKey(key))) as T | null
      return record && typeof record === 'object' && record.v === 1 ? record : undefined
    },
    async put(key, record) {
      // The index first: a record is never left unlisted.
      await storage.setItem(indexKey(record.owner, record.provider, key), record.created_at)
      await storage.setItem(recordKey(key), record as never)
    },
    async remove(key, record) {
      await storage.removeItem(recordKey(key))
      await storage.removeItem(indexKey(record.owner, record.provider, key))
    },
    async keysOf(owner, provider) {
      return (await storage.getKeys(`${base}:${index}:${ownerSegment(owner)}:${provider}`)).map(last)
    },
    async ownedByKeys(provider) {
      const keys = await storage.getKeys(`${base}:${index}`)
      return new Set(keys.filter((key) => !key.startsWith(`${base}:${index}:_:`) && key.split(':').at(-2) === provider).map(last))
    },
  }
}

/** File records in the gateway's storage, with an index per owner and provider for listing. */
export type FileRecords = OwnedRecords<FileRecord>

export function createFileRecords(storage: Storage, base = 'files-batch'): FileRecords {
  return createOwnedRecords<FileRecord>(storage, base, 'file', 'owner')
}
