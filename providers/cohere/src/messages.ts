import type { ContentPart, FilePart, ImagePart, Message, TextPart, ToolResultPart, Warning } from '@switchyard/core'
import { defined, textOfBase64, type Json } from './wire.js'

/** Cohere messages and the documents the conversation attached (see {@link toCohereMessages}). */
export interface CohereMessages {
  messages: Json[]
  /** Top-level `documents` (`{ data: { text, title? } }`), in the order they appeared. */
  documents: Json[]
}

const TEXT_MEDIA = /^(text\/|application\/(json|xml|x-ndjson|yaml|x-yaml|markdown))/

const toDataURL = (source: { mediaType: string; data: string }) => `data:${source.mediaType};base64,${source.data}`

/**
 * IR messages -> Cohere v2 `messages` (https://docs.cohere.com/reference/chat), plus the
 * `documents` the conversation attached:
 * - `system`/`developer` -> `system` (text only);
 * - `user` -> `user` with `text` and `image_url` items; text documents (plain text, Markdown, JSON
 *   ... files) become top-level `documents` Cohere can cite; tool results in a user message
 *   (Anthropic's way) become `tool` messages before it;
 * - `assistant` -> `thinking` and `text` content items and `tool_calls`; with tool calls, the text is
 *   the `tool_plan` (Cohere's "what I'm about to do", which a reply decodes as text again);
 * - `tool` -> one `tool` message per result.
 * What Cohere cannot take (PDFs, audio, images in tool results, cache hints, names) is left out
 * and reported once per kind.
 */
export function toCohereMessages(messages: readonly Message[], warnings: Warning[]): CohereMessages {
  const reported = new Set<string>()
  const unsupported = (feature: string, details?: string) => {
    if (reported.has(feature)) return
    reported.add(feature)
    warnings.push({ type: 'unsupported', feature, details })
  }
  const documents: Json[] = []
  const out: Json[] = []

  const note = (part: ContentPart | Message) => {
    if ('cache' in part && part.cache) unsupported('cache_control', 'Cohere has no prompt-cache breakpoints')
  }

  const textOf = (part: TextPart) => ({ type: 'text', text: part.text })

  const image = (part: ImagePart): Json | undefined => {
    if (part.source.type === 'file-id') return void unsupported('image file id', 'Cohere takes images as URLs or data URLs')
    const url = part.source.type === 'url' ? part.source.url : toDataURL(part.source)
    return { type: 'image_url', image_url: defined({ url, detail: part.detail }) }
  }

  /** A text-like file becomes a document; anything else cannot be sent. */
  const document = (part: FilePart): void => {
    const mediaType = part.mediaType ?? (part.source.type === 'base64' ? part.source.mediaType : undefined)
    if (part.source.type !== 'base64' || !mediaType || !TEXT_MEDIA.test(mediaType)) {
      return unsupported(`file (${mediaType ?? part.source.type})`, 'Cohere takes text documents only')
    }
    documents.push({ data: defined({ text: textOfBase64(part.source.data), title: part.filename }) })
  }

  const toolMessage = (part: ToolResultPart): Json => {
    note(part)
    if (part.isError) unsupported('tool-result isError', 'Cohere tool results have no error flag')
    const content: Json[] = []
    for (const item of part.content) {
      note(item)
      if (item.type === 'text') content.push(textOf(item))
      else unsupported(`${item.type} in a tool result`, 'Cohere tool results carry text')
    }
    return { role: 'tool', tool_call_id: part.toolCallId, content: content.length === 0 ? '' : content }
  }

  for (const message of messages) {
    note(message)
    if (message.name !== undefined) unsupported('message name')
    switch (message.role) {
      case 'system':
      case 'developer': {
        const texts: Json[] = []
        for (const part of message.content) {
          note(part)
          if (part.type === 'text') texts.push(textOf(part))
          else unsupported(`${part.type} in a system message`)
        }
        out.push({ role: 'system', content: texts })
        break
      }
      case 'user': {
        const content: Json[] = []
        for (const part of message.content) {
          note(part)
          switch (part.type) {
            case 'text': content.push(textOf(part)); break
            case 'image': { const item = image(part); if (item) content.push(item); break }
            case 'file': document(part); break
            case 'tool-result': out.push(toolMessage(part)); break
            default: unsupported(`${part.type} in a user message`)
          }
        }
        if (content.length > 0) out.push({ role: 'user', content })
        break
      }
      case 'assistant': {
        const content: Json[] = []
        const text: string[] = []
        const calls: Json[] = []
        for (const part of message.content) {
          note(part)
          if (part.type === 'text') text.push(part.text)
          else if (part.type === 'reasoning') {
            if (part.signature || part.redacted) unsupported('reasoning signature')
            if (part.text) content.push({ type: 'thinking', thinking: part.text })
          } else if (part.type === 'tool-call') calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: part.arguments } })
          else if (part.type === 'refusal') text.push(part.text)
          else unsupported(`${part.type} in an assistant message`)
        }
        if (calls.length === 0) content.push(...text.map((item) => ({ type: 'text', text: item })))
        out.push(defined({
          role: 'assistant',
          content: content.length > 0 ? content : undefined,
          tool_plan: calls.length > 0 && text.length > 0 ? text.join('') : undefined,
          tool_calls: calls.length > 0 ? calls : undefined,
        }))
        break
      }
      case 'tool':
        for (const part of message.content) {
          if (part.type === 'tool-result') out.push(toolMessage(part))
          else unsupported('content outside a tool result in a tool message')
        }
        break
      default: {
        const unreachable: never = message.role
        return unreachable
      }
    }
  }
  return { messages: out, documents }
}
