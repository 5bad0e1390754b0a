import { noSuchFile } from '../ids.js'
import { pageOf, toFileObject } from '../file-object.js'
import type { FileRecord } from '../records.js'
import { recordOf, recordsOf, type FilesEnv, type FilesTarget } from '../target.js'

/**
 * Files kept in the gateway's own blob store, for providers without file storage (Anthropic,
 * whose Message Batches take their requests inline, and every other provider): the staged upload
 * simply becomes the file.
 */
export function createGatewayTarget(env: FilesEnv): FilesTarget {
  const blobKeyOf = (record: FileRecord | undefined) => (record?.location.type === 'blob' ? record.location.key : undefined)

  return {
    async create(file, call) {
      const record = recordOf(file, call, { id: file.staged.id, location: { type: 'blob', key: file.staged.key } })
      await env.records.put(file.staged.id, record)
      return toFileObject(record)
    },
    async list(query, call) {
      return pageOf((await recordsOf(env, call.owner, call.provider)).map(toFileObject), query)
    },
    async retrieve(ref) {
      const key = blobKeyOf(ref.record)
      if (!key || !(await env.blobs.head(key))) throw noSuchFile(ref.id)
      return toFileObject(ref.record!)
    },
    async remove(ref) {
      const key = blobKeyOf(ref.record)
      if (!key) throw noSuchFile(ref.id)
      await env.records.remove(ref.recordKey, ref.record!)
      await env.blobs.delete(key)
      return { id: ref.id, object: 'file', deleted: true }
    },
    async content(ref) {
      const key = blobKeyOf(ref.record)
      const stored = key ? await env.blobs.get(key) : undefined
      if (!stored) throw noSuchFile(ref.id)
      return { body: stored.body, contentType: ref.record!.content_type ?? stored.info.contentType ?? 'application/octet-stream' }
    },
  }
}
