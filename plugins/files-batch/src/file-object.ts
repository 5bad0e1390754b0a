import type { FileRecord } from './records.js'

/** OpenAI's file object (https://platform.openai.com/docs/api-reference/files/object). */
export interface FileObject {
  id: string
  object: 'file'
  bytes: number
  /** Unix seconds. */
  created_at: number
  filename: string
  purpose: string
  /** `uploaded`, `processed` or `error` (deprecated by OpenAI, still sent). */
  status: string
  /** Unix seconds, or null when the file does not expire. */
  expires_at?: number | null
  [extra: string]: unknown
}

/** OpenAI's list page of files. */
export interface FileList {
  object: 'list'
  data: FileObject[]
  first_id: string | null
  last_id: string | null
  has_more: boolean
}

/** The purposes OpenAI's `POST /files` accepts. */
export const PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const

/** The file object of a file the gateway keeps (its blob store, S3). */
export function toFileObject(record: FileRecord): FileObject {
  return {
    id: record.id,
    object: 'file',
    bytes: record.bytes,
    created_at: record.created_at,
    filename: record.filename,
    purpose: record.purpose,
    status: 'processed',
    expires_at: record.expires_at ?? null,
  }
}

/** What `GET /files` asks (its query, checked). */
export interface ListQuery {
  purpose: string | undefined
  /** 1 to 10,000 (OpenAI's range); default 10,000. */
  limit: number
  /** The caller gave `limit` (else the provider's default applies upstream). */
  limitGiven: boolean
  order: 'asc' | 'desc'
  /** Id of the last file of the previous page. */
  after: string | undefined
}

/** One page of `files` in OpenAI's order and cursor semantics (`created_at`, then id). */
export function pageOf(files: readonly FileObject[], query: ListQuery): FileList {
  const direction = query.order === 'asc' ? 1 : -1
  const sorted = files
    .filter((file) => query.purpose === undefined || file.purpose === query.purpose)
    .sort((a, b) => direction * (a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
  let start = 0
  if (query.after !== undefined) {
    const at = sorted.findIndex((file) => file.id === query.after)
    start = at === -1 ? sorted.length : at + 1
  }
  const data = sorted.slice(start, start + query.limit)
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + data.length < sorted.length }
}
