import { AwsV4Signer } from 'aws4fetch'
import { describe, expect, it } from 'vitest'
import { testUpstreamContext } from '@switchyard/core/testing'
import { signAwsRequest, signBedrockRequest } from './sign.js'

/**
 * AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite, the `.authz` files):
 * credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1, service
 * `service`, 20150830T123600Z, host example.amazonaws.com. Each expected Authorization value below
 * is the suite's; aws4fetch's signer (the one Bedrock calls use) must reproduce it with the date pinned.
 */
const SUITE = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  region: 'us-east-1',
  service: 'service',
  datetime: '20150830T123600Z',
}
const CREDENTIAL = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request'
const STS_TOKEN = 'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=='

interface Vector {
  name: string
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
  sessionToken?: string
  /** The suite signs these headers too (aws4fetch leaves content-type out unless asked). */
  allHeaders?: boolean
  /** The suite's path is encoded once (its request line holds the raw characters). */
  singleEncode?: boolean
  authorization: string
}

const VECTORS: Vector[] = [
  { name: 'get-vanilla', method: 'GET', path: '/', authorization: `${CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31` },
  { name: 'get-vanilla-query-order-key-case', method: 'GET', path: '/?Param2=value2&Param1=value1', authorization: `${CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500` },
  { name: 'get-utf8', method: 'GET', path: '/%E1%88%B4', singleEncode: true, authorization: `${CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85` },
  { name: 'post-vanilla', method: 'POST', path: '/', authorization: `${CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b` },
  { name: 'post-vanilla-query', method: 'POST', path: '/?Param1=value1', authorization: `${CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11` },
  { name: 'post-header-key-sort', method: 'POST', path: '/', headers: { 'My-Header1': 'value1' }, authorization: `${CREDENTIAL}, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c` },
  { name: 'post-header-value-case', method: 'POST', path: '/', headers: { 'My-Header1': 'VALUE1' }, authorization: `${CREDENTIAL}, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d` },
  {
    name: 'post-x-www-form-urlencoded', method: 'POST', path: '/', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'Param1=value1', allHeaders: true,
    authorization: `${CREDENTIAL}, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a`,
  },
  {
    name: 'post-x-www-form-urlencoded-parameters', method: 'POST', path: '/', headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf8' }, body: 'Param1=value1', allHeaders: true,
    authorization: `${CREDENTIAL}, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe`,
  },
  {
    name: 'post-sts-header-before', method: 'POST', path: '/', sessionToken: STS_TOKEN,
    authorization: `${CREDENTIAL}, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead`,
  },
]

describe('SigV4 signatures match the AWS test suite (aws4fetch, date pinned)', () => {
  for (const vector of VECTORS) {
    it(vector.name, async () => {
      const headers = await signAwsRequest(
        { method: vector.method, url: `https://example.amazonaws.com${vector.path}`, headers: vector.headers ?? {}, body: vector.body },
        { ...SUITE, credentials: { ...SUITE.credentials, ...(vector.sessionToken && { sessionToken: vector.sessionToken }) }, allHeaders: vector.allHeaders, singleEncode: vector.singleEncode },
      )
      expect(headers.authorization).toBe(vector.authorization)
      expect(headers['x-amz-date']).toBe('20150830T123600Z')
      if (vector.sessionToken) expect(headers['x-amz-security-token']).toBe(vector.sessionToken)
    })
  }
})

describe('Bedrock request signing', () => {
  const model = 'us.anthropic.claude-sonnet-4-20250514-v1:0'
  const url = `https://bedrock-runtime.us-east-1.amazonaws.com/model/${encodeURIComponent(model)}/converse-stream`

  it('double-encodes the model id in the canonical path, as AWS does for every service but S3', async () => {
    const signer = new AwsV4Signer({ method: 'POST', url, body: '{}', ...SUITE.credentials, service: 'bedrock', region: 'us-east-1', datetime: SUITE.datetime })
    const canonical = await signer.canonicalString()
    expect(canonical.split('\n')[1]).toBe('/model/us.anthropic.claude-sonnet-4-20250514-v1%253A0/converse-stream')
  })

  it('signs with the key JSON credentials and region, service "bedrock", on each call afresh', async () => {
    const context = {
      ...testUpstreamContext('bedrock'),
      key: { value: JSON.stringify({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example-key', sessionToken: 'token-1', region: 'eu-west-3' }), models: [], weight: 1 },
    }
    const signed = await signBedrockRequest({ url: url.replace('us-east-1', 'eu-west-3'), method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/vnd.amazon.eventstream' }, body: '{"messages":[]}' }, context)
    expect(signed.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-3\/bedrock\/aws4_request, SignedHeaders=accept;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/)
    expect(signed.headers['x-amz-security-token']).toBe('token-1')
    expect(signed.headers['content-type']).toBe('application/json')
    expect(signed.body).toBe('{"messages":[]}')
  })

  it('falls back to options credentials (and options.region)', async () => {
    const context = { ...testUpstreamContext('bedrock'), key: undefined, config: { keys: [], options: { access_key_id: 'AKIDOPTIONS', secret_access_key: 'secret', region: 'ap-northeast-1' } } }
    const signed = await signBedrockRequest({ url, method: 'POST', headers: {}, body: '{}' }, context)
    expect(signed.headers.authorization).toContain('Credential=AKIDOPTIONS/')
    expect(signed.headers.authorization).toContain('/ap-northeast-1/bedrock/aws4_request')
    expect(signed.headers['x-amz-security-token']).toBeUndefined()
  })

  it('leaves a Bedrock API key (bearer) request as the codec built it', async () => {
    const context = { ...testUpstreamContext('bedrock'), key: { value: 'ABSKbedrock-api-key-example', models: [], weight: 1 } }
    const request = { url, method: 'POST', headers: { authorization: 'Bearer ABSKbedrock-api-key-example' }, body: '{}' }
    expect(await signBedrockRequest(request, context)).toBe(request)
  })

  it('fails with nothing sent when no credentials are configured', async () => {
    const context = { ...testUpstreamContext('bedrock'), key: undefined }
    await expect(signBedrockRequest({ url, headers: {}, body: '{}' }, context)).rejects.toMatchObject({ status: 500, message: expect.stringContaining('no credentials configured') })
  })
})
