const marker = Symbol.for('switchyard.GatewayError')

/** Machine-readable error kinds; each surface maps them to its dialect's error types. */
export type ErrorCode =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'payload_too_large'
  | 'rate_limit'
  | 'budget_exceeded'
  | 'timeout'
  | 'upstream'
  | 'overloaded'
  | 'internal'
  | (string & {})

export interface GatewayErrorOptions {
  status: number
  code: ErrorCode
  message: string
  /** Provider id when the error came from (or concerns) an upstream. */
  provider?: string
  /** Whether the router may retry or fall back. Defaults to true for 408, 409, 429 and >= 500. */
  retryable?: boolean
  /** Dialect-specific error type/code to show the caller ("invalid_request_error", "model_not_found" ...). */
  type?: string
  /** Request field the error is about ("messages[0].content"). */
  param?: string
  cause?: unknown
  /** What the upstream answered: status, body text (keys removed) and headers worth keeping. */
  upstream?: { status: number; body?: string; headers?: Record<string, string> }
  /** Response headers for the caller (`retry-after` ...). */
  headers?: Record<string, string>
}

/** Decides the default retryability of an HTTP status. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500
}

/** The one error type of the gateway. Surfaces render it in the caller's dialect. */
export class GatewayError extends Error {
  readonly [marker] = true
  readonly status: number
  readonly code: ErrorCode
  readonly provider: string | undefined
  readonly retryable: boolean
  readonly type: string | undefined
  readonly param: string | undefined
  readonly upstream: GatewayErrorOptions['upstream']
  readonly headers: Record<string, string> | undefined

  constructor(options: GatewayErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GatewayError'
    this.status = options.status
    this.code = options.code
    this.provider = options.provider
    this.retryable = options.retryable ?? isRetryableStatus(options.status)
    this.type = options.type
    this.param = options.param
    this.upstream = options.upstream
    this.headers = options.headers
  }

  /** True for any GatewayError, also one made by another copy of this package. */
  static is(value: unknown): value is GatewayError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true
  }

  /** 400 for a malformed request. */
  static badRequest(message: string, param?: string): GatewayError {
    return new GatewayError({ status: 400, code: 'invalid_request', message, param, retryable: false })
  }
}

/** Turns anything thrown into a GatewayError; unknown errors become a 500 without details. */
export function toGatewayError(error: unknown, provider?: string): GatewayError {
  if (GatewayError.is(error)) return error
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    const timeout = error.name === 'TimeoutError'
    return new GatewayError({
      status: timeout ? 504 : 499,
      code: timeout ? 'timeout' : 'client_closed',
      message: provider ? `[${provider}] request ${timeout ? 'timed out' : 'was aborted'}` : 'request aborted',
      provider,
      retryable: timeout,
      cause: error,
    })
  }
  if (error instanceof TypeError && provider) {
    // fetch() rejects with TypeError for connection failures.
    return new GatewayError({
      status: 502,
      code: 'upstream',
      message: `[${provider}] connection failed: ${(error.cause as Error | undefined)?.message ?? error.message}`,
      provider,
      retryable: true,
      cause: error,
    })
  }
  return new GatewayError({ status: 500, code: 'internal', message: 'internal gateway error', cause: error, retryable: false })
}

/** Maps an HTTP status to the generic error code. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 400 || status === 422) return 'invalid_request'
  if (status === 401) return 'authentication'
  if (status === 402) return 'budget_exceeded'
  if (status === 403) return 'permission'
  if (status === 404) return 'not_found'
  if (status === 408 || status === 504) return 'timeout'
  if (status === 413) return 'payload_too_large'
  if (status === 429) return 'rate_limit'
  if (status === 503 || status === 529) return 'overloaded'
  return status >= 500 ? 'upstream' : 'invalid_request'
}
