import { AwsV4Signer } from 'aws4fetch'
import { GatewayError, type UpstreamContext, type UpstreamRequest } from '@switchyard/core'
import { bedrockAuth, type AwsCredentials } from './credentials.js'

/** SigV4 signing name of the Bedrock runtime API. */
export const BEDROCK_SIGNING_NAME = 'bedrock'

/** What to sign: one HTTP request with a string (or absent) body. */
export interface SignableRequest {
  method: string
  url: string
  headers: Record<string, string>
  body?: string
}

export interface SignOptions {
  credentials: AwsCredentials
  region: string
  /** SigV4 service (signing name). Default `bedrock`. */
  service?: string
  /** `YYYYMMDDTHHMMSSZ`; default now. Pinned in tests. */
  datetime?: string
  /** Sign every header, `content-type` included (aws4fetch leaves a few out by default). Default false. */
  allHeaders?: boolean
  /** Encode the path once (S3 style) instead of twice as every other service expects. Default false. */
  singleEncode?: boolean
}

/**
 * Signs `request` with AWS Signature Version 4 (aws4fetch's `AwsV4Signer`, which signs without
 * sending) and returns the headers to send: the caller's, plus `x-amz-date`,
 * `x-amz-security-token` (with a session token) and `authorization`. Header names are lower-case.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
export async function signAwsRequest(request: SignableRequest, options: SignOptions): Promise<Record<string, string>> {
  const headers = { ...request.headers }
  // The signer computes `host` from the URL; a host header of our own would be signed twice.
  delete headers.host
  const signer = new AwsV4Signer({
    method: request.method,
    url: request.url,
    headers,
    body: request.body,
    accessKeyId: options.credentials.accessKeyId,
    secretAccessKey: options.credentials.secretAccessKey,
    sessionToken: options.credentials.sessionToken,
    service: options.service ?? BEDROCK_SIGNING_NAME,
    region: options.region,
    datetime: options.datetime,
    allHeaders: options.allHeaders,
    singleEncode: options.singleEncode,
  })
  const signed = await signer.sign()
  const out: Record<string, string> = {}
  signed.headers.forEach((value, name) => {
    out[name] = value
  })
  return out
}

/**
 * The provider's `upstream.sign` step: runs on every attempt, after the pure codec built the
 * request, so each retry carries a fresh signature and date. Bearer (API key) calls were
 * authorized by the codec and pass through unchanged.
 */
export async function signBedrockRequest(request: UpstreamRequest, context: UpstreamContext): Promise<UpstreamRequest> {
  const auth = bedrockAuth(context)
  if (auth.type === 'bearer') return request
  if (request.body !== undefined && typeof request.body !== 'string') {
    throw new GatewayError({ status: 500, code: 'internal', provider: context.providerId, retryable: false, message: `[${context.providerId}] only string bodies can be signed` })
  }
  const headers = await signAwsRequest({ method: request.method ?? 'POST', url: request.url, headers: request.headers, body: request.body }, { credentials: auth.credentials, region: auth.region })
  return { ...request, headers }
}
