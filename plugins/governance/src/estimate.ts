import type { Operation } from '@switchyard/core'

/**
 * What a request is expected to use, before it runs: the amount its reservation holds against
 * budgets and token limits until the real usage replaces it.
 *
 * - Input: about one token per four characters of the request's text (every string of the body
 *   but `model`); an inline image or file (a `data:` URL or a long base64 string) counts as
 *   {@link ATTACHMENT_TOKENS}. An estimate: the real count settles the reservation.
 * - Output: the request's own cap (`max_tokens`, `max_completion_tokens`, `max_output_tokens`,
 *   `generationConfig.maxOutputTokens`) times `n`, else `defaultOutputTokens`. Operations that
 *   produce no tokens (embeddings, moderations, images, audio) reserve none.
 */

/** Tokens counted for one inline image or file. */
export const ATTACHMENT_TOKENS = 1_500
/** A string this long with no whitespace is taken for base64 data, not text. */
const BASE64_LENGTH = 4_096
const MAX_DEPTH = 64

const TOKENLESS_OUTPUT: ReadonlySet<string> = new Set(['embeddings', 'moderations', 'rerank', 'imageGenerations', 'imageEdits', 'imageVariations', 'speech', 'transcriptions', 'translations'])
const IMAGE_OPERATIONS: ReadonlySet<string> = new Set(['imageGenerations', 'imageEdits', 'imageVariations'])

export interface Estimate {
  inputTokens: number
  outputTokens: number
  /** Images an image request asks for (`n`, default 1). */
  images: number | undefined
}

const isAttachment = (text: string) => text.startsWith('data:') || (text.length >= BASE64_LENGTH && !/\s/.test(text.slice(0, BASE64_LENGTH)))

/** Characters of text and attachments under `value`. */
function measure(value: unknown, depth: number, into: { chars: number; attachments: number }): void {
  if (depth > MAX_DEPTH) return
  if (typeof value === 'string') {
    if (isAttachment(value)) into.attachments++
    else into.chars += value.length
    return
  }
  if (Array.isArray(value)) {
    for (const item of value) measure(item, depth + 1, into)
    return
  }
  if (typeof value === 'object' && value !== null) {
    for (const [name, item] of Object.entries(value)) if (name !== 'model') measure(item, depth + 1, into)
  }
}

const positive = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined)

/** The request's own output cap, if it set one. */
export function outputCapOf(body: Record<string, unknown>): number | undefined {
  const generation = body.generationConfig as Record<string, unknown> | undefined
  return positive(body.max_completion_tokens) ?? positive(body.max_tokens) ?? positive(body.max_output_tokens) ?? positive(generation?.maxOutputTokens)
}

/** Images an image request asks for (`n`, default 1); undefined for other operations. Cheap: no body walk. */
export function imagesOf(operation: Operation | string, body: Record<string, unknown>): number | undefined {
  return IMAGE_OPERATIONS.has(operation) ? (positive(body.n) ?? 1) : undefined
}

export function estimateRequest(operation: Operation | string, body: Record<string, unknown>, defaultOutputTokens: number): Estimate {
  const measured = { chars: 0, attachments: 0 }
  measure(body, 0, measured)
  const inputTokens = Math.ceil(measured.chars / 4) + measured.attachments * ATTACHMENT_TOKENS
  const choices = positive(body.n) ?? 1
  const images = imagesOf(operation, body)
  const outputTokens = TOKENLESS_OUTPUT.has(operation) ? 0 : (outputCapOf(body) ?? defaultOutputTokens) * choices
  return { inputTokens, outputTokens, images }
}
