import type { ChatRequest, ChatResponse, Message } from './chat.js'
import type { ContentPart } from './content.js'
import type { Usage } from './usage.js'
import type { Warning } from './warning.js'

/**
 * Every `extra` bag in the IR (request, message, part, tool, response, usage) holds fields of
 * the dialect the value was decoded from. Only an encoder or renderer of that same dialect may
 * copy them onto its wire; for any other dialect they are foreign. These helpers give an
 * encoder a view without foreign extras, reporting what was left out, so no field leaks into
 * another provider's body and nothing is dropped silently. Same-dialect calls cost nothing.
 */

/** True when fields from `source` belong on the wire of `dialect` (undefined = built in process). */
export function isLocalDialect(dialect: string, source: string | undefined): boolean {
  return source === undefined || source === dialect
}

type WithExtra = { extra?: Record<string, unknown> }

function stripExtra<T extends WithExtra>(value: T, where: string, seen: Set<string>): T {
  if (value.extra === undefined) return value
  for (const name of Object.keys(value.extra)) seen.add(`${where}.${name}`)
  const { extra: _, ...rest } = value
  return rest as T
}

function stripPart(part: ContentPart, seen: Set<string>): ContentPart {
  if (part.type === 'tool-result') {
    const stripped = stripExtra(part, 'tool-result', seen)
    return { ...stripped, content: stripped.content.map((item) => stripExtra(item, item.type, seen)) }
  }
  return stripExtra(part, part.type, seen)
}

function stripMessage(message: Message, seen: Set<string>): Message {
  const stripped = stripExtra(message, 'message', seen)
  return { ...stripped, content: message.content.map((part) => stripPart(part, seen)) }
}

/**
 * The request as an encoder for `dialect` may see it: nested extras of another dialect removed
 * (each reported once in `warnings`). The top-level `extra` is left for `extraFor`.
 */
export function localizeRequest<T extends ChatRequest>(request: T, dialect: string, warnings?: Warning[]): T {
  if (isLocalDialect(dialect, request.dialect)) return request
  const seen = new Set<string>()
  const localized: T = {
    ...request,
    messages: request.messages.map((message) => stripMessage(message, seen)),
    ...(request.tools && { tools: request.tools.map((tool) => stripExtra(tool, 'tool', seen)) }),
  }
  if (warnings) {
    for (const field of seen) warnings.push({ type: 'unsupported', feature: field, details: `${request.dialect} field has no ${dialect} equivalent` })
  }
  return localized
}

/** Usage without another dialect's extra fields. */
export function localizeUsage(usage: Usage | undefined, dialect: string, source: string | undefined): Usage | undefined {
  if (!usage || usage.extra === undefined || isLocalDialect(dialect, source)) return usage
  const { extra: _, ...rest } = usage
  return rest
}

/** The response as a renderer for `dialect` may see it: another dialect's extras removed at every level. */
export function localizeResponse(response: ChatResponse, dialect: string): ChatResponse {
  if (isLocalDialect(dialect, response.dialect)) return response
  const seen = new Set<string>()
  const { extra: _, ...rest } = response
  return {
    ...rest,
    choices: response.choices.map((choice) => ({ ...choice, message: stripMessage(choice.message, seen) })),
    usage: localizeUsage(response.usage, dialect, response.dialect),
  }
}
