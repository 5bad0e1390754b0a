import { checkBlobKey, type BlobBody, type BlobInfo, type BlobListOptions, type BlobStore, type StoredBlob } from './blob-store.js'
import { checkBucketName, type S3Client } from './client.js'

export interface S3BlobStoreOptions {
  client: S3Client
  bucket: string
  /** Key prefix inside the bucket (`switchyard/`); a `/` is added when missing. Default none. */
  prefix?: string
}

/**
 * A {@link BlobStore} in an S3 bucket: blob `files/abc` is object `<prefix>files/abc`. Puts of
 * any length stream through (multipart beyond one part), gets stream back, lists are
 * ListObjectsV2 pages. What several gateway instances store is shared through the bucket.
 */
export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  const { client, bucket } = options
  checkBucketName(bucket)
  const prefix = options.prefix ? options.prefix.replace(/^\/+/, '').replace(/\/*$/, '/') : ''
  const objectKey = (key: string) => {
    checkBlobKey(key)
    return `${prefix}${key}`
  }
  const blobKey = (key: string) => key.slice(prefix.length)

  return {
    async put(key: string, body: BlobBody, putOptions: { contentType?: string; signal?: AbortSignal } = {}): Promise<BlobInfo> {
      const { size } = await client.upload(bucket, objectKey(key), body, putOptions)
      return { key, size, contentType: putOptions.contentType, lastModified: Date.now() }
    },
    async get(key: string): Promise<StoredBlob | undefined> {
      const found = await client.getObject(bucket, objectKey(key))
      return found && { info: { key, size: found.info.size, contentType: found.info.contentType, lastModified: found.info.lastModified }, body: found.body }
    },
    async head(key: string): Promise<BlobInfo | undefined> {
      const info = await client.headObject(bucket, objectKey(key))
      return info && { key, size: info.size, contentType: info.contentType, lastModified: info.lastModified }
    },
    async delete(key: string): Promise<void> {
      await client.deleteObject(bucket, objectKey(key))
    },
    async list(listPrefix: string, listOptions: BlobListOptions = {}) {
      if (listPrefix !== '') checkBlobKey(listPrefix.replace(/\/$/, ''))
      const limit = Math.max(1, Math.min(listOptions.limit ?? 1000, 1000))
      const page = await client.listObjects(bucket, {
        prefix: `${prefix}${listPrefix}`,
        startAfter: listOptions.after === undefined ? undefined : `${prefix}${listOptions.after}`,
        maxKeys: limit,
      })
      const blobs = page.objects.map((object) => ({ key: blobKey(object.key), size: object.size, lastModified: object.lastModified }))
      return { blobs, next: page.isTruncated && blobs.length > 0 ? blobs.at(-1)!.key : undefined }
    },
  }
}
