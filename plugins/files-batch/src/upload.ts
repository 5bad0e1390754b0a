import { GatewayError } from '@switchyard/core'
import { mintFileId } from './ids.js'
import { createBatchInputChecker, type BatchInputReport } from './jsonl.js'
import { formBoundary, readFormParts, readTextPart } from './multipart.js'
import type { BlobStore } from './s3.js'

/** The uploaded file, staged in the gateway's blob store under a fresh id. */
export interface StagedFile {
  /** The minted id it was staged under (the file's id when the gateway keeps it). */
  id: string
  /** Its blob key (`files/<id>`). */
  key: string
  filename: string
  contentType: string
  bytes: number
  /** What the Batch API input check found (it matters only for `purpose: "batch"`). */
  batchInput: BatchInputReport
}

/** A `POST /files` form: its text fields and its staged file. */
export interface UploadForm {
  fields: Map<string, string>
  file: StagedFile
}

/** Room for the form's text fields around the file, in the early `content-length` check. */
const FORM_OVERHEAD = 1024 * 1024
const MAX_FIELD_BYTES = 64 * 1024

export const tooLarge = (maxBytes: number) =>
  new GatewayError({ status: 413, code: 'payload_too_large', type: 'invalid_request_error', param: 'file', retryable: false, message: `file is larger than the ${formatSize(maxBytes)} limit` })

const formatSize = (bytes: number) => (bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`)

/**
 * Reads a `multipart/form-data` upload as it streams in: text fields into `fields`, the `file`
 * part into the blob store under a fresh id, byte for byte, counted and checked as Batch API
 * input on the way. A body announced larger than the limit is refused before it is read; one that
 * turns out larger is cut off at the limit, and what was staged of it is removed (413 either way).
 * Any failure leaves nothing stored.
 */
export async function readUpload(request: Request, blobs: BlobStore, maxFileBytes: number): Promise<UploadForm> {
  const boundary = formBoundary(request.headers.get('content-type'))
  const announced = Number(request.headers.get('content-length') ?? 0)
  if (announced > maxFileBytes + FORM_OVERHEAD) throw tooLarge(maxFileBytes)
  if (!request.body) throw GatewayError.badRequest("Missing required parameter: 'file'", 'file')
  const fields = new Map<string, string>()
  let file: StagedFile | undefined
  try {
    for await (const part of readFormParts(request.body, boundary)) {
      if (part.filename === undefined) {
        if (fields.has(part.name)) throw GatewayError.badRequest(`form field "${part.name}" is given twice`, part.name)
        fields.set(part.name, await readTextPart(part, MAX_FIELD_BYTES))
        continue
      }
      if (part.name !== 'file') throw GatewayError.badRequest(`unexpected file in form field "${part.name}"; the file goes in "file"`, part.name)
      if (file) throw GatewayError.badRequest('only one file per upload', 'file')
      const id = mintFileId()
      const key = `files/${id}`
      const checker = createBatchInputChecker()
      let bytes = 0
      const counted = part.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            bytes += chunk.length
            if (bytes > maxFileBytes) return controller.error(tooLarge(maxFileBytes))
            checker.push(chunk)
            controller.enqueue(chunk)
          },
        }),
      )
      const contentType = part.contentType || 'application/octet-stream'
      await blobs.put(key, counted, { contentType, signal: request.signal })
      file = { id, key, filename: part.filename || 'file', contentType, bytes, batchInput: checker.end() }
    }
  } catch (error) {
    if (file) await blobs.delete(file.key).catch(() => {})
    throw error
  }
  if (!file) throw GatewayError.badRequest("Missing required parameter: 'file'", 'file')
  return { fields, file }
}

/**
 * A nested form value: `name` as JSON text (`storage_config={"s3":{...}}`), or spread over
 * bracketed fields as the OpenAI SDKs send nested `extra_body` values in a form
 * (`storage_config[s3][bucket]=...`). Undefined when absent; 400 when malformed.
 */
export function nestedField(fields: ReadonlyMap<string, string>, name: string): Record<string, unknown> | undefined {
  const whole = fields.get(name)
  if (whole !== undefined) {
    try {
      const value: unknown = JSON.parse(whole)
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
    } catch {
      // Reported below.
    }
    throw GatewayError.badRequest(`${name} must be a JSON object`, name)
  }
  let out: Record<string, unknown> | undefined
  for (const [field, value] of fields) {
    if (!field.startsWith(`${name}[`)) continue
    const path = [...field.slice(name.length).matchAll(/\[([^\]]*)\]/g)].map((match) => match[1]!)
    if (path.length === 0 || path.join('').length === 0 || `${name}${path.map((segment) => `[${segment}]`).join('')}` !== field) throw GatewayError.badRequest(`malformed form field "${field}"`, name)
    out ??= {}
    let node = out
    for (const segment of path.slice(0, -1)) {
      if (segment === '__proto__' || segment === 'constructor' || segment === 'prototype') throw GatewayError.badRequest(`malformed form field "${field}"`, name)
      const next = node[segment]
      node = (typeof next === 'object' && next !== null ? next : (node[segment] = {})) as Record<string, unknown>
    }
    const leaf = path.at(-1)!
    if (leaf === '__proto__' || leaf === 'constructor' || leaf === 'prototype') throw GatewayError.badRequest(`malformed form field "${field}"`, name)
    node[leaf] = value
  }
  return out
}
