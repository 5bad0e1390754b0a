import { describe, expect, it } from 'vitest'
import { parseConfig } from '@switchyard/core'
import { resolveFilesOptions } from './options.js'
import { s3PlaceOf } from './targets/bedrock.js'

const config = parseConfig({ client: { max_request_body_size_mb: 50 } })

describe('plugin options', () => {
  it('defaults the size limit to the body limit and maps providers to where their files go', () => {
    const options = resolveFilesOptions(undefined, config)
    expect(options.maxFileBytes).toBe(50 * 1024 * 1024)
    expect(options.targets).toEqual({ openai: 'openai', gemini: 'gemini', bedrock: 'bedrock' })
    expect(resolveFilesOptions({ max_file_size_mb: 0.5, targets: { groq: 'openai' } }, config)).toMatchObject({ maxFileBytes: 512 * 1024, targets: { groq: 'openai', openai: 'openai' } })
  })

  it('names the bad field', () => {
    expect(() => resolveFilesOptions({ max_file_size_mb: -1 }, config)).toThrow('config.max_file_size_mb: must be a positive number')
    expect(() => resolveFilesOptions({ targets: { groq: 'ftp' } }, config)).toThrow('config.targets.groq: must be "openai", "gemini", "bedrock" or "gateway"')
    expect(() => resolveFilesOptions({ bedrock: { endpoint: 'ftp://x' } }, config)).toThrow('config.bedrock.endpoint: must be an http(s) URL')
    expect(() => resolveFilesOptions({ bedrock: { allowed_buckets: 'b' } }, config)).toThrow('config.bedrock.allowed_buckets')
    expect(() => resolveFilesOptions('yes', config)).toThrow('must be an object')
  })
})

describe('storage_config.s3', () => {
  it('reads bucket, prefix and region, s3:// URIs included, with defaults', () => {
    expect(s3PlaceOf({ s3: { bucket: 'my-bucket', region: 'us-west-2', prefix: '/batch-input/' } }, {}, true)).toEqual({ bucket: 'my-bucket', prefix: 'batch-input', region: 'us-west-2' })
    expect(s3PlaceOf({ s3: { bucket: 's3://my-bucket/base', prefix: 'in' } }, {}, true)).toEqual({ bucket: 'my-bucket', prefix: 'base/in', region: undefined })
    expect(s3PlaceOf(undefined, { bucket: 'default-bucket', prefix: 'p' }, true)).toEqual({ bucket: 'default-bucket', prefix: 'p', region: undefined })
    expect(s3PlaceOf(undefined, {}, false)).toBeUndefined()
  })

  it('refuses what could not be a bucket, a prefix or a region', () => {
    expect(() => s3PlaceOf(undefined, {}, true)).toThrow('storage_config.s3.bucket is required')
    expect(() => s3PlaceOf({ s3: { bucket: 'Bad_Bucket' } }, {}, true)).toThrow('not a valid S3 bucket name')
    expect(() => s3PlaceOf({ s3: { bucket: 'ok-bucket', prefix: 'a/../b' } }, {}, true)).toThrow('storage_config.s3.prefix')
    expect(() => s3PlaceOf({ s3: { bucket: 'ok-bucket', region: 'x.evil.com' } }, {}, true)).toThrow('not an AWS region')
    expect(() => s3PlaceOf({ s3: 'ok-bucket' }, {}, true)).toThrow('storage_config.s3 must be an object')
    expect(() => s3PlaceOf({ s3: { bucket: 1 } }, {}, true)).toThrow('storage_config.s3.bucket must be a string')
  })
})
