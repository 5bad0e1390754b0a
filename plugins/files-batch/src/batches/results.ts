import { GatewayError } from '@switchyard/core'
import type { FileRecord, FileRecords } from '../records.js'
import type { BlobStore } from '../s3.js'
import type { BatchRecord } from './record.js'

/**
 * OpenAI's batch output format (https://platform.openai.com/docs/api-reference/batch/request-output):
 * one JSON object per line, `{ id, custom_id, response: { status_code, request_id, body } | null,
 * error: { code, message } | null }`. Requests that succeeded go to the output file, the others
 * (an error answer, or no answer at all) to the error file.
 */
export interface ResultLine {
  /** True for the output file, false for the error file. */
  ok: boolean
  /** The line's JSON, without its newline. */
  text: string
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const requestLineId = () => {
  let id = 'batch_req_'
  for (const byte of crypto.getRandomValues(new Uint8Array(24))) id += ALPHABET[byte & 31]
  return id
}

/** A request that got an answer: the output file when `statusCode` is 2xx, else the error file. */
export function answeredLine(customId: string, statusCode: number, requestId: string | null, body: unknown): ResultLine {
  return { ok: statusCode >= 200 && statusCode < 300, text: JSON.stringify({ id: requestLineId(), custom_id: customId, response: { status_code: statusCode, request_id: requestId, body }, error: null }) }
}

/** A request that got no answer (cancelled, expired, the provider could not run it): the error file. */
export function unansweredLine(customId: string, code: string, message: string): ResultLine {
  return { ok: false, text: JSON.stringify({ id: requestLineId(), custom_id: customId, response: null, error: { code, message } }) }
}

/** OpenAI's error body for a failed request (`{ error: { message, type, param, code } }`). */
export function openAIErrorBody(message: string, type: string, code: string | null = null): Record<string, unknown> {
  return { error: { message, type, param: null, code } }
}

/** Splits a byte stream into its non-empty lines (UTF-8). */
export async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let pending = ''
  const reader = stream.getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      pending += decoder.decode(value, { stream: true })
      let newline = pending.indexOf('\n')
      while (newline !== -1) {
        const line = pending.slice(0, newline).trim()
        if (line) yield line
        pending = pending.slice(newline + 1)
        newline = pending.indexOf('\n')
      }
    }
    pending += decoder.decode()
    if (pending.trim()) yield pending.trim()
  } finally {
    reader.releaseLock()
  }
}

/** The JSON objects of a provider's JSONL answer; a line that is not one is the provider's 502. */
export async function* jsonLinesOf(stream: ReadableStream<Uint8Array>, provider: string): AsyncGenerator<Record<string, unknown>> {
  for await (const line of linesOf(stream)) {
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] the batch results are not JSON lines` })
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] a batch result line is not a JSON object` })
    yield value as Record<string, unknown>
  }
}

/** What the result files are written with. */
export interface ResultEnv {
  blobs: BlobStore
  records: FileRecords
}

export interface WrittenResults {
  /** The output file's id, or null when no request succeeded. */
  output: string | null
  /** The error file's id, or null when every request succeeded. */
  error: string | null
  completed: number
  failed: number
}

const encoder = new TextEncoder()

/**
 * Writes a finished batch's results as its output and error files: files the gateway keeps in its
 * blob store (`purpose: "batch_output"`, owned by the batch's owner), under the ids reserved in the
 * record, so writing them again (a crash while finishing) replaces rather than duplicates them. The
 * output file streams to the store as the lines come; error lines are collected and written after.
 */
export async function writeResultFiles(env: ResultEnv, batch: BatchRecord, lines: AsyncIterable<ResultLine>): Promise<WrittenResults> {
  const errors: string[] = []
  let completed = 0
  const iterator = lines[Symbol.asyncIterator]()
  const output = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Several lines per chunk: the store writes fixed-size chunks anyway.
      let text = ''
      while (text.length < 64 * 1024) {
        const next = await iterator.next()
        if (next.done) {
          if (text) controller.enqueue(encoder.encode(text))
          controller.close()
          return
        }
        if (next.value.ok) {
          completed++
          text += `${next.value.text}\n`
        } else errors.push(next.value.text)
      }
      controller.enqueue(encoder.encode(text))
    },
    async cancel(reason) {
      await iterator.return?.(reason)
    },
  })
  const written = await storeFile(env, batch, batch.reserved_files.output, 'output', output)
  // OpenAI leaves out a file with no lines (no output when nothing succeeded, no error file when nothing failed).
  if (completed === 0) await removeFile(env, written)
  const errorId = errors.length > 0 ? await storeFile(env, batch, batch.reserved_files.error, 'error', `${errors.join('\n')}\n`) : null
  return { output: completed > 0 ? written : null, error: errorId, completed, failed: errors.length }
}

async function removeFile(env: ResultEnv, id: string): Promise<void> {
  const record = await env.records.get(id)
  if (record) await env.records.remove(id, record)
  await env.blobs.delete(`files/${id}`)
}

async function storeFile(env: ResultEnv, batch: BatchRecord, id: string, which: 'output' | 'error', body: ReadableStream<Uint8Array> | string): Promise<string> {
  const key = `files/${id}`
  const info = await env.blobs.put(key, body, { contentType: 'application/jsonl' })
  const created = Math.floor(Date.now() / 1000)
  const record: FileRecord = {
    v: 1,
    id,
    provider: batch.provider,
    owner: batch.owner,
    filename: `${batch.id}_${which}.jsonl`,
    purpose: 'batch_output',
    bytes: info.size,
    created_at: created,
    ...(batch.output_expires_seconds !== undefined ? { expires_at: created + batch.output_expires_seconds } : {}),
    content_type: 'application/jsonl',
    location: { type: 'blob', key },
  }
  await env.records.put(id, record)
  return id
}
