import type { FinishReason } from './finish-reason.js'
import type { Usage } from './usage.js'

/** Legacy text completion (`/v1/completions`). */
export interface CompletionRequest {
  model: string
  prompt: string | string[]
  maxTokens?: number
  temperature?: number
  topP?: number
  stop?: string[]
  n?: number
  seed?: number
  stream?: boolean
  streamUsage?: boolean
  /** Dialect `extra` belongs to (see `ChatRequest.dialect`). */
  dialect?: string
  extra: Record<string, unknown>
}

export interface CompletionResponse {
  id: string
  model: string
  created: number
  choices: Array<{ index: number; text: string; finishReason: FinishReason; logprobs?: unknown }>
  usage: Usage | undefined
  /** Dialect the response was decoded from (see `ChatResponse.dialect`). */
  dialect?: string
  extra?: Record<string, unknown>
}
