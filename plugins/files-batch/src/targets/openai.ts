import { GatewayError } from '@switchyard/core'
import type { FileList, FileObject, ListQuery } from '../file-object.js'
import { recordKeyOf } from '../records.js'
import type { BlobStore } from '../s3.js'
import { jsonOf, recordOf, relayBody, visibility, type FilesEnv, type FilesTarget, type NewFile } from '../target.js'

const encoder = new TextEncoder()

/** A multipart field or file name as browsers quote it (RFC 7578 §4.2): `"` and line breaks percent-encoded. */
const quoted = (value: string) => `"${value.replace(/["\r\n]/g, (char) => encodeURIComponent(char))}"`

/**
 * The `POST /files` form for the provider: `purpose`, `expires_after` when given, then the file
 * with its bytes streamed from the staged blob unchanged. The gateway's own fields (`provider`,
 * `storage_config`) are not sent: OpenAI refuses unknown fields.
 */
export function uploadForm(blobs: BlobStore, file: NewFile): { contentType: string; length: number; body: () => ReadableStream<Uint8Array> } {
  const boundary = `----switchyard-${crypto.randomUUID().replaceAll('-', '')}`
  let head = `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${file.purpose}\r\n`
  if (file.expiresAfterSeconds !== undefined) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="expires_after[anchor]"\r\n\r\ncreated_at\r\n`
    head += `--${boundary}\r\nContent-Disposition: form-data; name="expires_after[seconds]"\r\n\r\n${file.expiresAfterSeconds}\r\n`
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename=${quoted(file.staged.filename)}\r\nContent-Type: ${file.staged.contentType.replace(/[\r\n]/g, '')}\r\n\r\n`
  const headBytes = encoder.encode(head)
  const tailBytes = encoder.encode(`\r\n--${boundary}--\r\n`)
  // A fresh stream per attempt: a retry sends the whole form again.
  const body = () => {
    let phase: 'head' | 'file' | 'tail' = 'head'
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (phase === 'head') {
          phase = 'file'
          return controller.enqueue(headBytes)
        }
        if (phase === 'file') {
          if (!reader) {
            const staged = await blobs.get(file.staged.key)
            if (!staged) return controller.error(new Error('the staged upload is gone'))
            reader = staged.body.getReader()
          }
          const { value, done } = await reader.read()
          if (!done) return controller.enqueue(value)
          phase = 'tail'
        }
        controller.enqueue(tailBytes)
        controller.close()
      },
      cancel(reason) {
        return reader?.cancel(reason)
      },
    })
  }
  return { contentType: `multipart/form-data; boundary=${boundary}`, length: headBytes.length + file.staged.bytes + tailBytes.length, body }
}

const isFileObject = (value: unknown): value is FileObject => typeof value === 'object' && value !== null && typeof (value as FileObject).id === 'string'

/** `GET /files` query for the provider: the caller's paging, without the gateway's `provider`. */
function listQueryString(query: ListQuery): string {
  const out = new URLSearchParams()
  if (query.purpose !== undefined) out.set('purpose', query.purpose)
  if (query.limitGiven) out.set('limit', String(query.limit))
  out.set('order', query.order)
  if (query.after !== undefined) out.set('after', query.after)
  return `?${out}`
}

/**
 * The provider's own Files API (OpenAI, or an OpenAI-compatible provider mapped to `openai`):
 * every call forwarded with the provider's key, answers relayed as they are. The gateway records
 * which virtual key created which file, and shows a caller only its own.
 */
export function createOpenAITarget(env: FilesEnv): FilesTarget {
  const send = (provider: string, signal: AbortSignal, method: string, path: string, body?: { contentType: string; length: number; stream: () => ReadableStream<Uint8Array> }) =>
    env.send(provider, {
      signal,
      build(context, passthrough) {
        const target = passthrough(path)
        const headers = { ...target.headers }
        delete headers['content-type']
        if (body) {
          headers['content-type'] = body.contentType
          headers['content-length'] = String(body.length)
        }
        return { url: target.url, method, headers, body: body?.stream() }
      },
    })

  return {
    async create(file, call) {
      const form = uploadForm(env.blobs, file)
      const sent = await send(call.provider, call.signal, 'POST', '/files', { contentType: form.contentType, length: form.length, stream: form.body })
      const created = await jsonOf(sent)
      if (!isFileObject(created)) throw new GatewayError({ status: 502, code: 'upstream', provider: call.provider, message: `[${call.provider}] the Files API answered without a file id` })
      const record = recordOf(file, call, {
        id: created.id,
        location: { type: 'provider' },
        created_at: typeof created.created_at === 'number' ? created.created_at : undefined,
        expires_at: typeof created.expires_at === 'number' ? created.expires_at : undefined,
      })
      await env.records.put(recordKeyOf(call.provider, created.id, false), record)
      await env.blobs.delete(file.staged.key)
      return created
    },
    async list(query, call) {
      const sent = await send(call.provider, call.signal, 'GET', `/files${listQueryString(query)}`)
      const page = (await jsonOf(sent)) as Partial<FileList>
      const visible = await visibility(env, call.owner, call.provider)
      const data = (Array.isArray(page.data) ? page.data : []).filter((file) => isFileObject(file) && visible(recordKeyOf(call.provider, file.id, false)))
      return { ...page, object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.has_more === true }
    },
    async retrieve(ref, call) {
      return (await jsonOf(await send(call.provider, call.signal, 'GET', `/files/${ref.id}`))) as FileObject
    },
    async remove(ref, call) {
      const deleted = (await jsonOf(await send(call.provider, call.signal, 'DELETE', `/files/${ref.id}`))) as { id: string; object: 'file'; deleted: boolean }
      if (ref.record) await env.records.remove(ref.recordKey, ref.record)
      return deleted
    },
    async content(ref, call) {
      const sent = await send(call.provider, call.signal, 'GET', `/files/${ref.id}/content`)
      return { body: relayBody(sent), contentType: sent.response.headers.get('content-type') ?? 'application/octet-stream' }
    },
  }
}
