import { GatewayError, selectKey } from '@switchyard/core'
import { bedrockAuth } from '@switchyard/provider-bedrock'
import { noSuchFile } from '../ids.js'
import { pageOf, toFileObject } from '../file-object.js'
import type { FileRecord } from '../records.js'
import { checkBucketName, createS3Client, S3Error, type S3Client } from '../s3.js'
import { recordOf, recordsOf, type CallInfo, type FilesEnv, type FilesTarget } from '../target.js'

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Where an upload goes: bucket, key prefix, region (from `storage_config.s3`, else the plugin's `bedrock` options). */
interface S3Place {
  bucket: string
  prefix: string
  region: string | undefined
}

/** `storage_config.s3` of a request, checked (400 naming the bad field). */
export function s3PlaceOf(storageConfig: Record<string, unknown> | undefined, defaults: { bucket?: string; prefix?: string }, required: boolean): S3Place | undefined {
  const s3 = storageConfig?.s3
  if (storageConfig !== undefined && s3 !== undefined && !isObject(s3)) throw GatewayError.badRequest('storage_config.s3 must be an object: { bucket, region, prefix }', 'storage_config')
  const given = (s3 ?? {}) as Record<string, unknown>
  for (const name of ['bucket', 'region', 'prefix']) {
    if (given[name] !== undefined && typeof given[name] !== 'string') throw GatewayError.badRequest(`storage_config.s3.${name} must be a string`, 'storage_config')
  }
  let bucket = (given.bucket as string | undefined) || defaults.bucket
  let prefix = (given.prefix as string | undefined) ?? defaults.prefix ?? ''
  if (!bucket) {
    if (!required) return undefined
    throw GatewayError.badRequest('bedrock keeps files in S3: storage_config.s3.bucket is required (extra_body={"provider": "bedrock", "storage_config": {"s3": {"bucket": ..., "region": ..., "prefix": ...}}})', 'storage_config')
  }
  // `s3://bucket/prefix` is accepted for the bucket too.
  if (bucket.startsWith('s3://')) {
    const rest = bucket.slice(5)
    const slash = rest.indexOf('/')
    if (slash !== -1) prefix = `${rest.slice(slash + 1)}${prefix ? `/${prefix}` : ''}`
    bucket = slash === -1 ? rest : rest.slice(0, slash)
  }
  try {
    checkBucketName(bucket)
  } catch {
    throw GatewayError.badRequest(`storage_config.s3.bucket "${bucket}" is not a valid S3 bucket name`, 'storage_config')
  }
  prefix = prefix.replace(/^\/+|\/+$/g, '')
  if (prefix.length > 512 || prefix.split('/').some((segment) => prefix !== '' && (segment === '' || segment === '.' || segment === '..' || !/^[A-Za-z0-9._-]+$/.test(segment)))) {
    throw GatewayError.badRequest(`storage_config.s3.prefix "${prefix}" is not usable: "/"-separated segments of letters, digits, ".", "_" and "-"`, 'storage_config')
  }
  const region = given.region as string | undefined
  if (region !== undefined && !REGION.test(region)) throw GatewayError.badRequest(`storage_config.s3.region "${region}" is not an AWS region such as "us-west-2"`, 'storage_config')
  return { bucket, prefix, region }
}

/** A file name fit for an S3 key segment: anything outside `A-Z a-z 0-9 . _ -` becomes `_`. */
const safeName = (filename: string) => {
  const cleaned = filename.replace(/[^A-Za-z0-9._-]/g, '_').slice(-200)
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'file' : cleaned
}

/** An S3 failure as the caller's GatewayError (403, 404, 400, or a 502 for S3's own failures), naming bedrock. */
export const s3Failure = (error: unknown): GatewayError => {
  if (GatewayError.is(error)) return error
  if (error instanceof S3Error) {
    const status = error.status === 403 ? 403 : error.status === 404 ? 404 : error.status >= 500 ? 502 : 400
    return new GatewayError({ status, code: status === 403 ? 'permission' : status === 404 ? 'not_found' : status === 502 ? 'upstream' : 'invalid_request', type: status === 502 ? 'api_error' : 'invalid_request_error', provider: 'bedrock', retryable: status === 502, message: `[bedrock] ${error.message}`, cause: error })
  }
  return new GatewayError({ status: 502, code: 'upstream', provider: 'bedrock', message: `[bedrock] S3 request failed: ${(error as Error)?.message ?? error}`, cause: error })
}

/**
 * An S3 client with a Bedrock provider's AWS credentials (SigV4 for service `s3`), for `region`
 * (default: the credentials' region), at the plugin's `bedrock.endpoint` when set. 400 for a
 * provider whose key is a Bedrock API key: it cannot sign S3 requests.
 */
export function bedrockS3Client(env: Pick<FilesEnv, 'config' | 'options'>, provider: string, region: string | undefined): S3Client {
  const config = env.config.providers[provider]
  if (!config) throw GatewayError.badRequest(`provider "${provider}" is not configured`)
  const auth = bedrockAuth({ key: selectKey(config.keys, ''), config, providerId: provider })
  if (auth.type !== 'sigv4') {
    throw GatewayError.badRequest(`[${provider}] files in S3 need AWS credentials (access key id and secret); a Bedrock API key cannot sign S3 requests`)
  }
  const options = env.options.bedrock
  return createS3Client({ region: region ?? auth.region, credentials: auth.credentials, endpoint: options.endpoint, pathStyle: options.path_style })
}

/**
 * Bedrock's files: objects in the caller's S3 bucket (`storage_config.s3`), written and read
 * with the Bedrock provider's AWS credentials (SigV4 for service `s3`), under
 * `<prefix>/<file id>/<file name>`: where Bedrock batch jobs (model invocation jobs) read their input.
 */
export function createBedrockTarget(env: FilesEnv): FilesTarget {
  const options = env.options.bedrock
  const clientFor = (call: CallInfo, region: string | undefined) => bedrockS3Client(env, call.provider, region)

  const located = (record: FileRecord | undefined) => (record?.location.type === 's3' ? record.location : undefined)

  return {
    async create(file, call) {
      const place = s3PlaceOf(file.storageConfig, options, true)!
      if (options.allowed_buckets && !options.allowed_buckets.includes(place.bucket)) {
        throw new GatewayError({ status: 403, code: 'permission', type: 'permission_error', param: 'storage_config', retryable: false, message: `bucket "${place.bucket}" is not one this gateway writes to (bedrock.allowed_buckets)` })
      }
      const client = clientFor(call, place.region)
      const key = `${place.prefix ? `${place.prefix}/` : ''}${file.staged.id}/${safeName(file.staged.filename)}`
      const staged = await env.blobs.get(file.staged.key)
      if (!staged) throw new GatewayError({ status: 500, code: 'internal', message: 'the staged upload is gone', retryable: false })
      try {
        await client.upload(place.bucket, key, staged.body, { contentType: file.staged.contentType, signal: call.signal })
      } catch (error) {
        throw s3Failure(error)
      }
      const record = recordOf(file, call, { id: file.staged.id, location: { type: 's3', bucket: place.bucket, key, region: client.region } })
      await env.records.put(file.staged.id, record)
      await env.blobs.delete(file.staged.key)
      return toFileObject(record)
    },
    async list(query, call, storageConfig) {
      const place = s3PlaceOf(storageConfig, {}, false)
      const records = (await recordsOf(env, call.owner, call.provider)).filter((record) => {
        const location = located(record)
        if (!place || !location) return true
        return location.bucket === place.bucket && (place.prefix === '' || location.key.startsWith(`${place.prefix}/`))
      })
      return pageOf(records.map(toFileObject), query)
    },
    async retrieve(ref, call) {
      const location = located(ref.record)
      if (!location) throw noSuchFile(ref.id)
      const info = await clientFor(call, location.region).headObject(location.bucket, location.key, { signal: call.signal }).catch((error: unknown) => {
        throw s3Failure(error)
      })
      if (!info) throw noSuchFile(ref.id)
      return { ...toFileObject(ref.record!), bytes: info.size }
    },
    async remove(ref, call) {
      const location = located(ref.record)
      if (!location) throw noSuchFile(ref.id)
      await clientFor(call, location.region).deleteObject(location.bucket, location.key, { signal: call.signal }).catch((error: unknown) => {
        throw s3Failure(error)
      })
      await env.records.remove(ref.recordKey, ref.record!)
      return { id: ref.id, object: 'file', deleted: true }
    },
    async content(ref, call) {
      const location = located(ref.record)
      if (!location) throw noSuchFile(ref.id)
      const found = await clientFor(call, location.region).getObject(location.bucket, location.key, { signal: call.signal }).catch((error: unknown) => {
        throw s3Failure(error)
      })
      if (!found) throw noSuchFile(ref.id)
      return { body: found.body, contentType: ref.record!.content_type ?? found.info.contentType ?? 'application/octet-stream' }
    },
  }
}
