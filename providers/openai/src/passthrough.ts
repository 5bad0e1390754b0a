import { usageFromOpenAI } from './usage.js'
import type { Usage } from '@switchyard/core'

/**
 * Builds the body forwarded on the passthrough path: the caller's bytes with only the
 * model replaced (and `stream_options.include_usage` added when the gateway needs usage
 * the caller did not ask for). The raw text is spliced, not re-serialized, so number
 * formatting, key order and unknown fields reach the upstream exactly as sent.
 */
export function passthroughBody(raw: string, body: Record<string, unknown>, model: string, injectUsage: boolean): string {
  const original = body.model
  let text = raw
  if (original !== model) {
    const spliced = typeof original === 'string' ? spliceModel(text, original, model) : undefined
    if (spliced === undefined) return reserialize(body, model, injectUsage)
    text = spliced
  }
  if (!injectUsage) return text
  if (body.stream_options !== undefined) return reserialize(body, model, injectUsage)
  const open = text.indexOf('{')
  if (open === -1) return reserialize(body, model, injectUsage)
  return `${text.slice(0, open + 1)}"stream_options":{"include_usage":true},${text.slice(open + 1)}`
}

function reserialize(body: Record<string, unknown>, model: string, injectUsage: boolean): string {
  const copy: Record<string, unknown> = { ...body, model }
  if (injectUsage) copy.stream_options = { ...(body.stream_options as object | undefined), include_usage: true }
  return JSON.stringify(copy)
}

/** Replaces the value of the top-level `"model"` member when it appears exactly once; else undefined. */
function spliceModel(text: string, original: string, model: string): string | undefined {
  const value = JSON.stringify(original)
  let found = -1
  let from = 0
  for (;;) {
    const at = text.indexOf('"model"', from)
    if (at === -1) break
    let i = at + 7
    while (isSpace(text.charCodeAt(i))) i++
    if (text.charCodeAt(i) === 58) {
      i++
      while (isSpace(text.charCodeAt(i))) i++
      if (text.startsWith(value, i)) {
        if (found !== -1) return undefined
        found = i
      }
    }
    from = at + 7
  }
  if (found === -1) return undefined
  return text.slice(0, found) + JSON.stringify(model) + text.slice(found + value.length)
}

const isSpace = (code: number) => code === 32 || code === 9 || code === 10 || code === 13

/** Usage from a chat/completions/embeddings body or stream chunk; cheap when there is none. */
export function usageFromChatData(data: string): Usage | undefined {
  if (!data.includes('"usage":{') && !data.includes('"usage": {')) return undefined
  try {
    return usageFromOpenAI((JSON.parse(data) as { usage?: unknown }).usage)
  } catch {
    return undefined
  }
}

/** Usage from a Responses API body or `response.completed` event. */
export function usageFromResponsesData(data: string): Usage | undefined {
  if (!data.includes('"usage":{') && !data.includes('"usage": {')) return undefined
  try {
    const json = JSON.parse(data) as { usage?: unknown; response?: { usage?: unknown } }
    return usageFromOpenAI(json.response?.usage ?? json.usage)
  } catch {
    return undefined
  }
}

/** The usage-only chunk OpenAI sends last when `include_usage` is on: `choices: []` plus usage. */
export function isUsageOnlyChunk(data: string): boolean {
  return data.includes('"choices":[]') && data.includes('"usage":{')
}
