import type { GatewayError } from '../errors.js'
import type { FinishReason } from './finish-reason.js'
import type { Usage } from './usage.js'

/**
 * Events of a streamed answer. Each content block is `*-start`, `*-delta`..., `*-end`;
 * `choice` (default 0) says which choice a block belongs to when `n > 1`. The stream ends
 * with exactly one `finish` (or an `error`).
 */
export type StreamEvent =
  /** `dialect`: the wire the stream was decoded from; its `extra` (and usage extras) belong to it. */
  | { type: 'response-start'; id: string; model: string; created?: number; dialect?: string; extra?: Record<string, unknown> }
  | { type: 'text-start'; id: string; choice?: number }
  | { type: 'text-delta'; id: string; delta: string; choice?: number }
  | { type: 'text-end'; id: string; choice?: number }
  | { type: 'reasoning-start'; id: string; choice?: number; redacted?: string }
  | { type: 'reasoning-delta'; id: string; delta: string; choice?: number }
  | { type: 'reasoning-signature'; id: string; signature: string; choice?: number }
  | { type: 'reasoning-end'; id: string; choice?: number }
  | { type: 'tool-call-start'; id: string; toolCallId: string; name: string; choice?: number }
  | { type: 'tool-call-delta'; id: string; argumentsDelta: string; choice?: number }
  | { type: 'tool-call-end'; id: string; choice?: number }
  | { type: 'refusal-delta'; id: string; delta: string; choice?: number }
  /** One choice is done (several per stream when `n > 1`). */
  | { type: 'choice-end'; choice: number; finishReason: FinishReason }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; finishReason: FinishReason; usage: Usage | undefined }
  | { type: 'error'; error: GatewayError }

export type StreamEventType = StreamEvent['type']
