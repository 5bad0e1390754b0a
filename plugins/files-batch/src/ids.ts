import { GatewayError } from '@switchyard/core'

/**
 * File ids. The gateway mints its own for files it stores (its blob store, S3 for Bedrock):
 * `file-sy-` and 26 base32 characters (130 random bits, unguessable). Files kept by a provider
 * keep that provider's id (`file-abc123` at OpenAI, `files/abc-123` at Gemini), so they still
 * work in calls passed through to it. Every id from a URL is checked against its shape before it
 * reaches a storage key or an upstream path: nothing else is ever used.
 */

const MINTED = /^file-sy-[a-z2-7]{26}$/
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

/** A new gateway file id. */
export function mintFileId(): string {
  const random = crypto.getRandomValues(new Uint8Array(26))
  let id = 'file-sy-'
  for (const byte of random) id += ALPHABET[byte & 31]
  return id
}

/** True for an id the gateway minted. */
export const isMintedId = (id: string) => MINTED.test(id)

/** An OpenAI-style id: letters, digits, `-` and `_` (what OpenAI and OpenAI-compatible APIs issue). */
const OPENAI_ID = /^[A-Za-z0-9_-]{1,128}$/
/** A Gemini file id: lower-case letters, digits and dashes, at most 40, not starting or ending with a dash. */
const GEMINI_ID = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/

/** The 400 for an id that cannot be a file id (a path, `..`, a slash where none belongs ...). */
export function invalidFileId(id: string): GatewayError {
  const shown = id.length > 80 ? `${id.slice(0, 80)}…` : id
  return new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param: 'file_id', retryable: false, message: `invalid file id ${JSON.stringify(shown)}: file ids are letters, digits, "-" and "_" (Gemini's "files/<id>"); paths are not accepted` })
}

/** The 404 for a file that does not exist, or that the caller may not see (the same answer, so ids cannot be probed). */
export function noSuchFile(id: string): GatewayError {
  return new GatewayError({ status: 404, code: 'not_found', type: 'invalid_request_error', param: 'file_id', retryable: false, message: `No such File object: ${id}` })
}

/** The checked OpenAI-style id, or a 400. */
export function checkOpenAIId(id: string): string {
  if (!OPENAI_ID.test(id)) throw invalidFileId(id)
  return id
}

/** The bare Gemini id of `files/<id>` or `<id>`, or a 400. */
export function checkGeminiId(id: string): string {
  const bare = id.startsWith('files/') ? id.slice(6) : id
  if (!GEMINI_ID.test(bare)) throw invalidFileId(id)
  return bare
}
