import type { GatewayError, Usage } from '@switchyard/core'
import { toGeminiErrorBody } from './errors.js'
import { usageFromGemini } from './usage.js'

/**
 * The same-dialect (passthrough) side of the `/genai` surface: the caller's bytes with only the
 * model names changed, usage read from what is relayed, and the frame that ends a broken stream.
 */

const isSpace = (code: number) => code === 32 || code === 9 || code === 10 || code === 13

/**
 * The caller's body with every `"model"` member that names the caller's model (`"models/<from>"`
 * or `"<from>"`) naming `to` instead: a `batchEmbedContents` request repeats the model in each of
 * its `requests`, a `countTokens` body may carry one in `generateContentRequest`. The text is
 * spliced, never re-serialized, so every other byte reaches the upstream as sent; a body with no
 * such member is returned as is.
 */
export function replaceModelNames(raw: string, from: string, to: string): string {
  if (from === to) return raw
  const names = new Map([[JSON.stringify(`models/${from}`), JSON.stringify(`models/${to}`)], [JSON.stringify(from), JSON.stringify(to)]])
  let out = ''
  let copied = 0
  for (let at = raw.indexOf('"model"'); at !== -1; at = raw.indexOf('"model"', at + 7)) {
    let i = at + 7
    while (isSpace(raw.charCodeAt(i))) i++
    if (raw.charCodeAt(i) !== 58) continue
    i++
    while (isSpace(raw.charCodeAt(i))) i++
    for (const [name, replacement] of names) {
      if (!raw.startsWith(name, i)) continue
      out += raw.slice(copied, i) + replacement
      copied = i + name.length
      break
    }
  }
  return copied === 0 ? raw : out + raw.slice(copied)
}

/**
 * Usage from a `GenerateContentResponse` (a whole body, or one SSE event's data): its
 * `usageMetadata`. Cheap when there is none. Gemini's stream counts are cumulative, so the last
 * event that has them holds the call's usage.
 */
export function usageFromGenerateContentData(data: string): Usage | undefined {
  if (!data.includes('"usageMetadata"')) return undefined
  try {
    return usageFromGemini((JSON.parse(data) as { usageMetadata?: unknown }).usageMetadata)
  } catch {
    return undefined
  }
}

/**
 * The SSE frame that tells a Gemini client its stream failed after it started: an event whose
 * data is the Google error body, framed as Gemini frames events (CRLF CRLF). `@google/genai`
 * throws an `ApiError` on it.
 */
export function geminiStreamErrorFrame(error: GatewayError): string {
  return `data: ${JSON.stringify(toGeminiErrorBody(error))}\r\n\r\n`
}
