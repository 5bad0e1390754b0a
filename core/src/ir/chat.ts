import type { ContentPart } from './content.js'
import type { FinishReason } from './finish-reason.js'
import type { Usage } from './usage.js'

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool'

export interface Message {
  role: Role
  content: ContentPart[]
  /** Participant name (OpenAI `name`). */
  name?: string
  extra?: Record<string, unknown>
}

/** A function the model may call. `parameters` is JSON Schema. */
export interface ToolDefinition {
  type: 'function'
  name: string
  description?: string
  parameters?: Record<string, unknown>
  strict?: boolean
  cache?: import('./content.js').CacheHint
  extra?: Record<string, unknown>
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'tool'; name: string }

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json' }
  | { type: 'json-schema'; name: string; schema: Record<string, unknown>; strict?: boolean; description?: string }

/** A chat request in the gateway's terms. Fields are optional where the dialects differ. */
export interface ChatRequest {
  /** The model as the target provider names it (prefix already removed). */
  model: string
  messages: Message[]
  tools?: ToolDefinition[]
  toolChoice?: ToolChoice
  parallelToolCalls?: boolean
  maxTokens?: number
  temperature?: number
  topP?: number
  topK?: number
  stop?: string[]
  seed?: number
  /** Number of choices (OpenAI `n`). */
  n?: number
  presencePenalty?: number
  frequencyPenalty?: number
  responseFormat?: ResponseFormat
  reasoning?: { effort?: 'minimal' | 'low' | 'medium' | 'high'; budgetTokens?: number }
  /** End-user id for abuse monitoring. */
  user?: string
  metadata?: Record<string, string>
  stream?: boolean
  /** The caller wants usage reported in the stream. */
  streamUsage?: boolean
  /**
   * Dialect the request was parsed from ("openai", "openai-responses", "anthropic" ...).
   * `extra` holds that dialect's fields: only an encoder of the same dialect copies them back;
   * others report them as warnings (see `extraFor`).
   */
  dialect?: string
  /** Source-dialect fields the IR does not model; same-dialect encoders copy them back. */
  extra: Record<string, unknown>
}

export interface ChatChoice {
  index: number
  message: Message
  finishReason: FinishReason
  logprobs?: unknown
}

export interface ChatResponse {
  id: string
  model: string
  /** Unix seconds. */
  created: number
  choices: ChatChoice[]
  usage: Usage | undefined
  /** Dialect the response was decoded from; its `extra` bags belong to it (see `localizeResponse`). */
  dialect?: string
  extra?: Record<string, unknown>
}
