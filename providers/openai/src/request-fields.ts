import { GatewayError } from '@switchyard/core'

/** Checks of request members shared by the `/openai` routes, made before anything is sent. */

/** The body's `model`: a non-empty string, or a 400 (`param: "model"`). */
export function modelOf(body: Record<string, unknown>): string {
  const model = body.model
  if (typeof model !== 'string' || model.length === 0) {
    throw new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param: 'model', message: 'you must provide a model parameter (a non-empty string)', retryable: false })
  }
  return model
}

/**
 * The members the OpenAI spec requires besides `model`, checked before anything is sent:
 * the passthrough path forwards the body without parsing it, and a body the upstream must
 * reject should get its 400 here, not cost an upstream call.
 */
export function requireMember(body: Record<string, unknown>, name: string, valid: (value: unknown) => boolean, expected: string): void {
  const value = body[name]
  if (value === undefined || value === null) throw GatewayError.badRequest(`Missing required parameter: '${name}'`, name)
  if (!valid(value)) throw GatewayError.badRequest(`Invalid '${name}': expected ${expected}`, name)
}

export const nonEmptyArray = (value: unknown) => Array.isArray(value) && value.length > 0

/** The body's `stream` flag: absent or null is false; anything but a boolean is a 400. */
export function streamOf(body: Record<string, unknown>): boolean {
  const stream = body.stream
  if (stream === undefined || stream === null) return false
  if (typeof stream !== 'boolean') throw GatewayError.badRequest(`stream must be a boolean, got ${typeof stream}`, 'stream')
  return stream
}
