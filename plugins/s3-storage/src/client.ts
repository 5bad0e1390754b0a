import { AwsV4Signer } from 'aws4fetch'
import { fixedChunks } from './chunks.js'
import { escapeXml, xmlElements, xmlText } from './xml.js'

/** AWS credentials for SigV4. */
export interface S3Credentials {
  accessKeyId: string
  secretAccessKey: string
  /** Temporary credentials (STS) carry a session token. */
  sessionToken?: string
}

export interface S3ClientOptions {
  /** Region the bucket lives in (`us-east-1` ...); part of every signature. */
  region: string
  credentials: S3Credentials
  /**
   * API root, e.g. `http://127.0.0.1:4568` for an S3-compatible server (MinIO, s3rver, R2).
   * Default `https://s3.<region>.amazonaws.com`.
   */
  endpoint?: string
  /**
   * Address buckets in the path (`<endpoint>/<bucket>/<key>`) instead of the host name
   * (`<bucket>.<endpoint host>/<key>`, "virtual-hosted"). Default: path-style for a custom
   * `endpoint`, virtual-hosted for AWS (path-style there too when the bucket name has a dot,
   * which TLS certificates cannot cover).
   */
  pathStyle?: boolean
  /** Transport (default: global fetch). */
  fetch?: typeof fetch
  /**
   * Part size of multipart uploads in bytes (S3's minimum is 5 MiB, except for the last part).
   * A body shorter than one part is sent with a single PUT. Default 8 MiB.
   */
  partSize?: number
}

/** One object as S3 describes it. */
export interface S3ObjectInfo {
  key: string
  /** Bytes. */
  size: number
  /** Entity tag, quotes removed. */
  etag: string | undefined
  /** Milliseconds since the epoch. */
  lastModified: number
  /** `content-type` stored with the object (HEAD and GET only). */
  contentType?: string
}

export interface ListObjectsOptions {
  prefix?: string
  /** Start after this key (first page). */
  startAfter?: string
  /** `NextContinuationToken` of the previous page. */
  continuationToken?: string
  /** At most this many keys (S3 caps at 1000). */
  maxKeys?: number
  signal?: AbortSignal
}

export interface ListObjectsResult {
  objects: S3ObjectInfo[]
  /** More keys follow: ask again with `nextContinuationToken`. */
  isTruncated: boolean
  nextContinuationToken: string | undefined
}

export interface PutOptions {
  contentType?: string
  signal?: AbortSignal
}

/** A body S3 can be sent: bytes, text, or a stream (read to the end; uploaded in parts when long). */
export type S3Body = Uint8Array | string | ReadableStream<Uint8Array>

/** An S3 answer that was not 2xx, with S3's own error code (`NoSuchKey`, `AccessDenied` ...). */
export class S3Error extends Error {
  override name = 'S3Error'
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly requestId: string | undefined,
  ) {
    super(message)
  }
}

/** A small S3 client: the calls Switchyard needs, each signed with SigV4 (aws4fetch). */
export interface S3Client {
  readonly region: string
  /** URL of a bucket (and key), with query parameters, as this client addresses it. */
  url(bucket: string, key?: string, query?: Record<string, string>): URL
  /** Signs a request (headers returned, lower-case); `datetime` (`YYYYMMDDTHHMMSSZ`) pins the clock in tests. */
  sign(request: { method: string; url: URL | string; headers?: Record<string, string>; body?: string | Uint8Array }, datetime?: string): Promise<Record<string, string>>
  /** PUT of a whole body. Resolves with the ETag. */
  putObject(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string | undefined }>
  /**
   * Stores a body of any length: a single PUT when it fits in one part, otherwise a multipart
   * upload of `partSize` parts (aborted when the body or a part fails, so nothing is left behind).
   */
  upload(bucket: string, key: string, body: S3Body, options?: PutOptions): Promise<{ etag: string | undefined; size: number }>
  /** GET, streamed; undefined when there is no such key. */
  getObject(bucket: string, key: string, options?: { signal?: AbortSignal }): Promise<{ info: S3ObjectInfo; body: ReadableStream<Uint8Array> } | undefined>
  /** HEAD; undefined when there is no such key. */
  headObject(bucket: string, key: string, options?: { signal?: AbortSignal }): Promise<S3ObjectInfo | undefined>
  /** DELETE (S3 answers the same whether or not the key existed). */
  deleteObject(bucket: string, key: string, options?: { signal?: AbortSignal }): Promise<void>
  /** One page of ListObjectsV2. */
  listObjects(bucket: string, options?: ListObjectsOptions): Promise<ListObjectsResult>
  createMultipartUpload(bucket: string, key: string, options?: PutOptions): Promise<string>
  uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array, options?: { signal?: AbortSignal }): Promise<string>
  completeMultipartUpload(bucket: string, key: string, uploadId: string, etags: readonly string[], options?: { signal?: AbortSignal }): Promise<{ etag: string | undefined }>
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>
}

const MIN_PART = 5 * 1024 * 1024
const DEFAULT_PART = 8 * 1024 * 1024
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/** S3's URI encoding of one path segment: everything but RFC 3986 unreserved characters. */
const encodeSegment = (segment: string) => encodeURIComponent(segment).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)

/** Throws for a bucket name S3 would refuse (before anything is sent). */
export function checkBucketName(bucket: string): void {
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw new S3Error(`invalid S3 bucket name "${bucket}"`, 400, 'InvalidBucketName', undefined)
}

/**
 * Throws for a key this client cannot address: empty, over 1024 bytes, or with a `.`/`..`
 * segment (URL parsing would collapse it, so the request would name another key).
 */
export function checkObjectKey(key: string): void {
  if (key.length === 0 || new TextEncoder().encode(key).length > 1024) throw new S3Error('S3 object keys are 1 to 1024 bytes long', 400, 'KeyTooLongError', undefined)
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) throw new S3Error(`S3 object key "${key}" has a "." or ".." segment`, 400, 'InvalidArgument', undefined)
}

const unquote = (etag: string | null | undefined) => (etag ? etag.replace(/^"|"$/g, '') : undefined)

/** Creates an S3 client (see {@link S3ClientOptions}). */
export function createS3Client(options: S3ClientOptions): S3Client {
  const { region, credentials } = options
  const endpoint = new URL(options.endpoint ?? `https://s3.${region}.amazonaws.com`)
  const custom = options.endpoint !== undefined
  const transport = options.fetch ?? ((input, init) => fetch(input, init))
  const partSize = Math.max(MIN_PART, options.partSize ?? DEFAULT_PART)
  const root = endpoint.pathname.replace(/\/+$/, '')

  function url(bucket: string, key?: string, query?: Record<string, string>): URL {
    checkBucketName(bucket)
    if (key !== undefined) checkObjectKey(key)
    const pathStyle = options.pathStyle ?? (custom || bucket.includes('.'))
    const keyPath = key === undefined ? '/' : `/${key.split('/').map(encodeSegment).join('/')}`
    const target = new URL(endpoint.href)
    if (pathStyle) target.pathname = `${root}/${bucket}${key === undefined ? '' : keyPath}`
    else {
      target.hostname = `${bucket}.${endpoint.hostname}`
      target.pathname = `${root}${keyPath}`
    }
    if (query) for (const [name, value] of Object.entries(query)) target.searchParams.set(name, value)
    return target
  }

  async function sign(request: { method: string; url: URL | string; headers?: Record<string, string>; body?: string | Uint8Array }, datetime?: string): Promise<Record<string, string>> {
    const signer = new AwsV4Signer({
      method: request.method,
      url: request.url.toString(),
      headers: request.headers ?? {},
      body: request.body as BodyInit | undefined,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      service: 's3',
      region,
      datetime,
    })
    const signed = await signer.sign()
    const out: Record<string, string> = {}
    signed.headers.forEach((value, name) => {
      out[name] = value
    })
    return out
  }

  /** Sends one signed request; a non-2xx answer throws an S3Error (404 too, unless `missingOk`). */
  async function call(method: string, target: URL, init: { headers?: Record<string, string>; body?: string | Uint8Array; signal?: AbortSignal; missingOk?: boolean } = {}): Promise<Response | undefined> {
    const headers = await sign({ method, url: target, headers: init.headers, body: init.body })
    const response = await transport(target, { method, headers, body: init.body as BodyInit | undefined, signal: init.signal })
    if (response.ok) return response
    const text = method === 'HEAD' ? '' : await response.text().catch(() => '')
    if (response.status === 404 && init.missingOk) return undefined
    const code = xmlText(text, 'Code') ?? undefined
    const message = xmlText(text, 'Message') ?? `status ${response.status}`
    const requestId = xmlText(text, 'RequestId') ?? response.headers.get('x-amz-request-id') ?? undefined
    throw new S3Error(`S3 ${method} ${target.pathname} failed: ${code ? `${code}: ` : ''}${message}`, response.status, code, requestId)
  }

  const infoOf = (key: string, response: Response): S3ObjectInfo => ({
    key,
    size: Number(response.headers.get('content-length') ?? 0),
    etag: unquote(response.headers.get('etag')),
    lastModified: Date.parse(response.headers.get('last-modified') ?? '') || Date.now(),
    contentType: response.headers.get('content-type') ?? undefined,
  })

  const typeHeader = (options?: PutOptions): Record<string, string> => (options?.contentType ? { 'content-type': options.contentType } : {})

  async function putObject(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions) {
    const response = await call('PUT', url(bucket, key), { headers: typeHeader(options), body, signal: options?.signal })
    return { etag: unquote(response!.headers.get('etag')) }
  }

  async function createMultipartUpload(bucket: string, key: string, options?: PutOptions): Promise<string> {
    const response = await call('POST', url(bucket, key, { uploads: '' }), { headers: typeHeader(options), signal: options?.signal })
    const uploadId = xmlText(await response!.text(), 'UploadId')
    if (!uploadId) throw new S3Error('S3 CreateMultipartUpload answered without an UploadId', 502, undefined, undefined)
    return uploadId
  }

  async function uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array, options?: { signal?: AbortSignal }): Promise<string> {
    const response = await call('PUT', url(bucket, key, { partNumber: String(partNumber), uploadId }), { body, signal: options?.signal })
    const etag = response!.headers.get('etag')
    if (!etag) throw new S3Error(`S3 UploadPart ${partNumber} answered without an ETag`, 502, undefined, undefined)
    return etag
  }

  async function completeMultipartUpload(bucket: string, key: string, uploadId: string, etags: readonly string[], options?: { signal?: AbortSignal }) {
    const parts = etags.map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`).join('')
    const body = `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts}</CompleteMultipartUpload>`
    const response = await call('POST', url(bucket, key, { uploadId }), { headers: { 'content-type': 'application/xml' }, body, signal: options?.signal })
    const text = await response!.text()
    // S3 may answer 200 with an <Error> body when the completion fails late.
    if (xmlElements(text, 'Error').length > 0) throw new S3Error(`S3 CompleteMultipartUpload failed: ${xmlText(text, 'Code')}: ${xmlText(text, 'Message')}`, 500, xmlText(text, 'Code'), xmlText(text, 'RequestId'))
    return { etag: unquote(xmlText(text, 'ETag')) }
  }

  async function abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await call('DELETE', url(bucket, key, { uploadId }), { missingOk: true })
  }

  async function upload(bucket: string, key: string, body: S3Body, options?: PutOptions) {
    if (!(body instanceof ReadableStream)) {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body
      if (bytes.length <= partSize) return { ...(await putObject(bucket, key, bytes, options)), size: bytes.length }
      body = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    }
    // A part is sent once the next one exists: a body that fits in one part is a single PUT.
    let pending: Uint8Array | undefined
    let size = 0
    let uploadId: string | undefined
    const etags: string[] = []
    try {
      for await (const part of fixedChunks(body, partSize)) {
        size += part.length
        if (pending) {
          uploadId ??= await createMultipartUpload(bucket, key, options)
          etags.push(await uploadPart(bucket, key, uploadId, etags.length + 1, pending, options))
        }
        pending = part
      }
      if (uploadId === undefined) return { ...(await putObject(bucket, key, pending ?? new Uint8Array(0), options)), size }
      etags.push(await uploadPart(bucket, key, uploadId, etags.length + 1, pending!, options))
      return { ...(await completeMultipartUpload(bucket, key, uploadId, etags, options)), size }
    } catch (error) {
      if (uploadId !== undefined) await abortMultipartUpload(bucket, key, uploadId).catch(() => {})
      throw error
    }
  }

  async function getObject(bucket: string, key: string, options?: { signal?: AbortSignal }) {
    const response = await call('GET', url(bucket, key), { signal: options?.signal, missingOk: true })
    if (!response) return undefined
    return { info: infoOf(key, response), body: response.body ?? new Blob([]).stream() }
  }

  async function headObject(bucket: string, key: string, options?: { signal?: AbortSignal }) {
    const response = await call('HEAD', url(bucket, key), { signal: options?.signal, missingOk: true })
    return response ? infoOf(key, response) : undefined
  }

  async function deleteObject(bucket: string, key: string, options?: { signal?: AbortSignal }) {
    await call('DELETE', url(bucket, key), { signal: options?.signal, missingOk: true })
  }

  async function listObjects(bucket: string, options: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    const query: Record<string, string> = { 'list-type': '2' }
    if (options.prefix) query.prefix = options.prefix
    if (options.startAfter) query['start-after'] = options.startAfter
    if (options.continuationToken) query['continuation-token'] = options.continuationToken
    if (options.maxKeys !== undefined) query['max-keys'] = String(options.maxKeys)
    const response = await call('GET', url(bucket, undefined, query), { signal: options.signal })
    const xml = await response!.text()
    const objects = xmlElements(xml, 'Contents').map((entry) => ({
      key: xmlText(entry, 'Key') ?? '',
      size: Number(xmlText(entry, 'Size') ?? 0),
      etag: unquote(xmlText(entry, 'ETag')),
      lastModified: Date.parse(xmlText(entry, 'LastModified') ?? '') || 0,
    }))
    return { objects, isTruncated: xmlText(xml, 'IsTruncated') === 'true', nextContinuationToken: xmlText(xml, 'NextContinuationToken') }
  }

  return { region, url, sign, putObject, upload, getObject, headObject, deleteObject, listObjects, createMultipartUpload, uploadPart, completeMultipartUpload, abortMultipartUpload }
}
