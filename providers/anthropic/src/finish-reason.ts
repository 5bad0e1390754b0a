import { mapFinishReason, type FinishReason, type UnifiedFinishReason } from '@switchyard/core'

const STOP_REASONS: Readonly<Record<string, UnifiedFinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool-calls',
  refusal: 'content-filter',
  pause_turn: 'other',
}

/** Anthropic `stop_reason` -> IR finish reason (unknown values -> `other`, raw kept). */
export function mapAnthropicStopReason(raw: string | null | undefined): FinishReason {
  return mapFinishReason(raw, STOP_REASONS)
}

/** IR finish reason -> Anthropic `stop_reason`: the raw value when it is Anthropic's own, else mapped from `unified`. */
export function toAnthropicStopReason(reason: FinishReason): string {
  if (reason.raw !== undefined && Object.hasOwn(STOP_REASONS, reason.raw)) return reason.raw
  switch (reason.unified) {
    case 'length':
      return 'max_tokens'
    case 'tool-calls':
      return 'tool_use'
    case 'content-filter':
      return 'refusal'
    case 'stop':
    case 'error':
    case 'other':
      return 'end_turn'
  }
}
