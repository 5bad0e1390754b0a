import { usageFromOpenAI } from './usage.js'
import { replaceModel, type Usage } from '@switchyard/core'

/**
 * Builds the body forwarded on the passthrough path: the caller's bytes with only the
 * model replaced (and `stream_options.include_usage` added when the gateway needs usage
 * the caller did not ask for). The raw text is spliced, not re-serialized, so number
 * formatting, key order and unknown fields reach the upstream exactly as sent.
 */
export function passthroughBody(raw: string, body: Record<string, unknown>, model: string, injectUsage: boolean): string {
  if (!injectUsage) return replaceModel(raw, body, model)
  if (body.stream_options !== undefined) return reserialize(body, model)
  const text = replaceModel(raw, body, model)
  const open = text.indexOf('{')
  if (open === -1) return reserialize(body, model)
  return `${text.slice(0, open + 1)}"stream_options":{"include_usage":true},${text.slice(open + 1)}`
}

function reserialize(body: Record<string, unknown>, model: string): string {
  return JSON.stringify({ ...body, model, stream_options: { ...(body.stream_options as object | undefined), include_usage: true } })
}

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
