import { describe, expect, it } from 'vitest'
import { checkObjectKey, createS3Client, S3Error } from './client.js'
import { xmlElements, xmlText } from './xml.js'

// The example credentials of AWS's "Signature Calculations for the Authorization Header" page
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html): the expected
// signatures below are the ones that page publishes.
const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const client = createS3Client({ region: 'us-east-1', credentials, endpoint: 'https://s3.amazonaws.com', pathStyle: false })

describe('SigV4 signing (AWS documentation examples)', () => {
  it('signs GET Bucket (list objects) as the documentation does', async () => {
    const url = client.url('examplebucket', undefined, { 'max-keys': '2', prefix: 'J' })
    expect(url.href).toBe('https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J')
    const headers = await client.sign({ method: 'GET', url, headers: { 'x-amz-content-sha256': EMPTY_SHA256 } }, '20130524T000000Z')
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    )
  })

  it('signs PUT Object with a key that needs encoding as the documentation does', async () => {
    const url = client.url('examplebucket', 'test$file.text')
    expect(url.pathname).toBe('/test%24file.text')
    const headers = await client.sign(
      {
        method: 'PUT',
        url,
        headers: { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY', 'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072' },
        body: 'Welcome to Amazon S3.',
      },
      '20130524T000000Z',
    )
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    )
  })

  it('sends payloads unsigned and carries a session token', async () => {
    const temporary = createS3Client({ region: 'eu-west-1', credentials: { ...credentials, sessionToken: 'token-1' } })
    const headers = await temporary.sign({ method: 'GET', url: temporary.url('bucket-a', 'k') })
    expect(headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD')
    expect(headers['x-amz-security-token']).toBe('token-1')
    expect(headers.authorization).toContain('/eu-west-1/s3/aws4_request')
  })
})

describe('addressing', () => {
  it('uses virtual-hosted URLs on AWS and path-style for a custom endpoint', () => {
    const aws = createS3Client({ region: 'us-west-2', credentials })
    expect(aws.url('my-bucket', 'a/b c.jsonl').href).toBe('https://my-bucket.s3.us-west-2.amazonaws.com/a/b%20c.jsonl')
    // A dotted bucket name cannot be a TLS host name: path-style.
    expect(aws.url('my.bucket', 'k').href).toBe('https://s3.us-west-2.amazonaws.com/my.bucket/k')
    const local = createS3Client({ region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:4568' })
    expect(local.url('bucket', 'x/y').href).toBe('http://127.0.0.1:4568/bucket/x/y')
    const vhost = createS3Client({ region: 'us-east-1', credentials, endpoint: 'http://s3.localhost:4568', pathStyle: false })
    expect(vhost.url('bucket', 'x').href).toBe('http://bucket.s3.localhost:4568/x')
  })

  it('refuses bucket names and keys it cannot address, before sending anything', () => {
    expect(() => client.url('Bad_Bucket')).toThrow(S3Error)
    expect(() => client.url('ab')).toThrow(S3Error)
    expect(() => client.url('abc')).not.toThrow()
    expect(() => checkObjectKey('a/../b')).toThrow(/"\." or "\.\." segment/)
    expect(() => checkObjectKey('')).toThrow(S3Error)
    expect(() => checkObjectKey('x'.repeat(1025))).toThrow(/1024/)
  })
})

describe('S3 XML', () => {
  it('reads elements without confusing names that share a prefix', () => {
    const xml = '<ListBucketResult><KeyCount>2</KeyCount><Contents><Key>a&amp;b</Key><Size>3</Size></Contents><Contents><Key>c</Key><Size>0</Size></Contents><IsTruncated>false</IsTruncated></ListBucketResult>'
    expect(xmlElements(xml, 'Contents').map((entry) => xmlText(entry, 'Key'))).toEqual(['a&b', 'c'])
    expect(xmlText(xml, 'KeyCount')).toBe('2')
    expect(xmlText(xml, 'NextContinuationToken')).toBeUndefined()
  })
})

describe('errors', () => {
  it("turns S3's XML error into an S3Error with its code, and never echoes credentials", async () => {
    const failing = createS3Client({
      region: 'us-east-1',
      credentials,
      endpoint: 'http://s3.test',
      fetch: async () => new Response('<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R1</RequestId></Error>', { status: 403 }),
    })
    const error = await failing.putObject('bucket', 'k', 'x').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(S3Error)
    expect(error).toMatchObject({ status: 403, code: 'AccessDenied', requestId: 'R1' })
    expect(String((error as Error).message)).not.toContain(credentials.secretAccessKey)
  })

  it('answers undefined for a missing object on GET and HEAD', async () => {
    const missing = createS3Client({ region: 'us-east-1', credentials, endpoint: 'http://s3.test', fetch: async () => new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404 }) })
    expect(await missing.getObject('bucket', 'k')).toBeUndefined()
    expect(await missing.headObject('bucket', 'k')).toBeUndefined()
  })
})
