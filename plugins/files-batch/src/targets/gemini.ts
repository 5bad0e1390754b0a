import { GatewayError } from '@switchyard/core'
import { checkGeminiId, noSuchFile } from '../ids.js'
import { pageOf, type FileObject } from '../file-object.js'
import { recordKeyOf, type FileRecord } from '../records.js'
import { jsonOf, recordOf, relayBody, visibility, type CallInfo, type FilesEnv, type FilesTarget } from '../target.js'

/** Gemini's `File` resource (https://ai.google.dev/api/files#File), the fields read here. */
interface GeminiFile {
  name?: string
  displayName?: string
  mimeType?: string
  sizeBytes?: string
  createTime?: string
  expirationTime?: string
  state?: string
}

/** Pages of Gemini's `files.list` read for one `GET /files` (100 files each, Gemini's maximum). */
const MAX_LIST_PAGES = 10

const seconds = (time: string | undefined) => {
  const ms = time ? Date.parse(time) : Number.NaN
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}

/** Gemini's file state in OpenAI's (deprecated, still sent) `status`. */
const STATUS: Record<string, string> = { ACTIVE: 'processed', PROCESSING: 'uploaded', FAILED: 'error' }

/** A Gemini `File` as OpenAI's file object; the purpose (which Gemini does not keep) comes from the gateway's record. */
export function toOpenAIFile(file: GeminiFile, record: FileRecord | undefined): FileObject {
  const id = file.name ?? record?.id ?? ''
  return {
    id,
    object: 'file',
    bytes: Number(file.sizeBytes ?? record?.bytes ?? 0),
    created_at: seconds(file.createTime) ?? record?.created_at ?? 0,
    filename: file.displayName ?? record?.filename ?? id.replace(/^files\//, ''),
    purpose: record?.purpose ?? 'user_data',
    status: STATUS[file.state ?? 'ACTIVE'] ?? String(file.state).toLowerCase(),
    expires_at: seconds(file.expirationTime) ?? null,
  }
}

/**
 * Gemini answers 403 PERMISSION_DENIED for a file that is not in the key's project, whether it
 * never existed, expired or was deleted ("... or it may not exist"): for the caller that is a 404.
 */
function notFoundFor(id: string) {
  return (error: unknown): never => {
    if (GatewayError.is(error) && error.status === 403) {
      throw new GatewayError({ status: 404, code: 'not_found', type: 'invalid_request_error', param: 'file_id', provider: error.provider, retryable: false, message: `No such File object: ${id} (${error.message})` })
    }
    throw error
  }
}

const upstreamShape = (provider: string, what: string) => new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] ${what}` })

/**
 * Gemini's file API: the upload goes through its resumable protocol (start, then upload and
 * finalize: https://ai.google.dev/api/files#method:-media.upload), ids are Gemini's `files/<id>`.
 * Gemini cannot give back the bytes of an uploaded file (only generated ones), so the gateway
 * keeps its staged copy for `GET /files/{id}/content` and for turning the file into a batch later.
 */
export function createGeminiTarget(env: FilesEnv): FilesTarget {
  const call = (info: CallInfo, method: string, path: string, extra: { url?: string; headers?: Record<string, string>; body?: () => BodyInit | ReadableStream<Uint8Array> } = {}) =>
    env.send(info.provider, {
      signal: info.signal,
      build(context, passthrough) {
        const target = passthrough(path)
        return { url: extra.url ?? target.url, method, headers: { ...target.headers, ...extra.headers }, body: extra.body?.() as never }
      },
    })

  return {
    async create(file, info) {
      const bytes = String(file.staged.bytes)
      // Start: the upload URL comes back in a header; the API root is `<origin>/upload<base path>`.
      let uploadStart: string | undefined
      const started = await env.send(info.provider, {
        signal: info.signal,
        build(context, passthrough) {
          const target = new URL(passthrough('/files').url)
          target.pathname = `/upload${target.pathname}`
          uploadStart = target.href
          return {
            url: target.href,
            method: 'POST',
            headers: {
              ...passthrough('/files').headers,
              'content-type': 'application/json',
              'x-goog-upload-protocol': 'resumable',
              'x-goog-upload-command': 'start',
              'x-goog-upload-header-content-length': bytes,
              'x-goog-upload-header-content-type': file.staged.contentType,
            },
            body: JSON.stringify({ file: { displayName: file.staged.filename.slice(0, 512) } }),
          }
        },
      })
      const uploadUrl = started.response.headers.get('x-goog-upload-url')
      await started.response.arrayBuffer().catch(() => undefined)
      started.settle()
      // Only an upload URL on the configured host is followed (never one the answer points elsewhere).
      if (!uploadUrl || !URL.canParse(uploadUrl) || new URL(uploadUrl).origin !== new URL(uploadStart!).origin) {
        throw upstreamShape(info.provider, 'the upload start answered without an upload URL on the API host')
      }
      const finished = await call(info, 'POST', '/files', {
        url: uploadUrl,
        headers: { 'content-type': file.staged.contentType, 'content-length': bytes, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
        body: () => {
          let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
          return new ReadableStream<Uint8Array>({
            async pull(controller) {
              if (!reader) {
                const staged = await env.blobs.get(file.staged.key)
                if (!staged) return controller.error(new Error('the staged upload is gone'))
                reader = staged.body.getReader()
              }
              const { value, done } = await reader.read()
              if (done) controller.close()
              else controller.enqueue(value)
            },
            cancel: (reason) => reader?.cancel(reason),
          })
        },
      })
      const created = ((await jsonOf(finished)) as { file?: GeminiFile }).file
      if (!created?.name?.startsWith('files/')) throw upstreamShape(info.provider, 'the upload answered without a file name')
      const record = recordOf(file, info, { id: created.name, location: { type: 'provider' }, created_at: seconds(created.createTime), expires_at: seconds(created.expirationTime), copy: file.staged.key })
      await env.records.put(recordKeyOf(info.provider, created.name, false), record)
      return toOpenAIFile(created, record)
    },
    async list(query, info) {
      const visible = await visibility(env, info.owner, info.provider)
      const files: FileObject[] = []
      let pageToken: string | undefined
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const search = new URLSearchParams({ pageSize: '100' })
        if (pageToken) search.set('pageToken', pageToken)
        const answer = (await jsonOf(await call(info, 'GET', `/files?${search}`))) as { files?: GeminiFile[]; nextPageToken?: string }
        for (const file of answer.files ?? []) {
          if (!file.name?.startsWith('files/')) continue
          const recordKey = recordKeyOf(info.provider, file.name, false)
          if (!visible(recordKey)) continue
          files.push(toOpenAIFile(file, await env.records.get(recordKey)))
        }
        pageToken = answer.nextPageToken
        if (!pageToken) break
      }
      return pageOf(files, query)
    },
    async retrieve(ref, info) {
      const file = (await jsonOf(await call(info, 'GET', `/files/${checkGeminiId(ref.id)}`).catch(notFoundFor(ref.id)))) as GeminiFile
      return toOpenAIFile(file, ref.record)
    },
    async remove(ref, info) {
      await jsonOf(await call(info, 'DELETE', `/files/${checkGeminiId(ref.id)}`).catch(notFoundFor(ref.id)))
      if (ref.record) {
        await env.records.remove(ref.recordKey, ref.record)
        if (ref.record.copy) await env.blobs.delete(ref.record.copy)
      }
      return { id: ref.id, object: 'file', deleted: true }
    },
    async content(ref, info) {
      const copy = ref.record?.copy ? await env.blobs.get(ref.record.copy) : undefined
      if (copy) return { body: copy.body, contentType: ref.record!.content_type ?? copy.info.contentType ?? 'application/octet-stream' }
      if (ref.record?.copy) throw noSuchFile(ref.id)
      // A file the gateway did not upload (a batch's results): Gemini serves generated files itself.
      const sent = await call(info, 'GET', `/files/${checkGeminiId(ref.id)}:download?alt=media`).catch(notFoundFor(ref.id))
      return { body: relayBody(sent), contentType: sent.response.headers.get('content-type') ?? 'application/octet-stream' }
    },
  }
}
