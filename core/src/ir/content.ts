/**
 * Content parts: the superset of what the dialects can put in a message.
 * Each part may carry `extra`, the provider-specific fields that must survive a
 * same-dialect round trip.
 */

/** Anthropic-style prompt-cache breakpoint. */
export interface CacheHint {
  type: 'ephemeral'
  /** Cache lifetime as the provider spells it ("5m", "1h"). */
  ttl?: string
}

/** Where binary content comes from. */
export type Source =
  | { type: 'url'; url: string }
  | { type: 'base64'; mediaType: string; data: string }
  | { type: 'file-id'; id: string }

interface PartBase {
  cache?: CacheHint
  extra?: Record<string, unknown>
}

export interface TextPart extends PartBase {
  type: 'text'
  text: string
}

export interface ImagePart extends PartBase {
  type: 'image'
  source: Source
  /** OpenAI's `detail` ("auto" | "low" | "high"). */
  detail?: string
}

export interface AudioPart extends PartBase {
  type: 'audio'
  /** Base64 audio. */
  data: string
  /** Container format ("wav", "mp3" ...). */
  format: string
}

/** A document (PDF, plain text ...) attached to a message. */
export interface FilePart extends PartBase {
  type: 'file'
  source: Source
  mediaType?: string
  filename?: string
}

/** A call the model made. `arguments` is the JSON text exactly as the model wrote it. */
export interface ToolCallPart extends PartBase {
  type: 'tool-call'
  id: string
  name: string
  arguments: string
}

/** The caller's answer to a tool call. */
export interface ToolResultPart extends PartBase {
  type: 'tool-result'
  toolCallId: string
  content: Array<TextPart | ImagePart | FilePart>
  isError?: boolean
}

/**
 * Model reasoning. `signature` (Anthropic) must be sent back unchanged; a redacted
 * block carries only its opaque `redacted` data.
 */
export interface ReasoningPart extends PartBase {
  type: 'reasoning'
  text: string
  signature?: string
  redacted?: string
}

export interface RefusalPart extends PartBase {
  type: 'refusal'
  text: string
}

export type ContentPart =
  | TextPart
  | ImagePart
  | AudioPart
  | FilePart
  | ToolCallPart
  | ToolResultPart
  | ReasoningPart
  | RefusalPart

/** Joins the text parts of a message. */
export function textOf(parts: readonly ContentPart[]): string {
  let text = ''
  for (const part of parts) if (part.type === 'text') text += part.text
  return text
}
