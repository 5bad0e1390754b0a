/**
 * The bodies the fault upstream (`fault-upstream.ts`) writes: valid OpenAI chat completions and
 * Anthropic messages (whole, or as SSE events), and error bodies in each dialect's shape. All
 * synthesized: the text says which upstream answered (`<name>:<i> ` per delta).
 */

export type Dialect = 'openai' | 'anthropic'

/** Deltas in a default `ok` stream. */
export const DEFAULT_CHUNKS = 3
/** `prompt_tokens` / `input_tokens` every `ok` answer reports. */
export const INPUT_TOKENS = 11

export const JSON_TYPE = { 'content-type': 'application/json' }
export const SSE_TYPE = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }

/** The text deltas of an `ok` answer of upstream `name`. */
export function pieces(name: string, chunks: number): string[] {
  return Array.from({ length: chunks }, (_, index) => `${name}:${index} `)
}

function openAIErrorType(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' }
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' }
  if (status >= 500) return { type: 'server_error', code: null }
  return { type: 'invalid_request_error', code: null }
}

function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error'
    case 401:
      return 'authentication_error'
    case 403:
      return 'permission_error'
    case 404:
      return 'not_found_error'
    case 413:
      return 'request_too_large'
    case 429:
      return 'rate_limit_error'
    case 529:
      return 'overloaded_error'
    default:
      return 'api_error'
  }
}

/** An error body in `dialect`'s shape. */
export function errorBody(dialect: Dialect, status: number, message = `fault upstream answered ${status}`): string {
  if (dialect === 'anthropic') return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(status), message } })
  const { type, code } = openAIErrorType(status)
  return JSON.stringify({ error: { message, type, param: null, code } })
}

/** One answer, whole and as a stream. */
export interface Answer {
  /** Complete JSON body. */
  json: string
  /** SSE events, one write each. */
  events: string[]
}

/** A chat.completion and its chunk stream (with the usage chunk when `includeUsage`). */
export function openAIAnswer(id: string, model: string, texts: string[], includeUsage: boolean): Answer {
  const created = Math.floor(Date.now() / 1000)
  const usage = { prompt_tokens: INPUT_TOKENS, completion_tokens: texts.length, total_tokens: INPUT_TOKENS + texts.length }
  const json = JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: texts.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage,
    system_fingerprint: null,
  })
  const chunk = (delta: object, finish: string | null) => ({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })
  const frames: object[] = [chunk({ role: 'assistant', content: '', refusal: null }, null), ...texts.map((text) => chunk({ content: text }, null)), chunk({}, 'stop')]
  if (includeUsage) frames.push({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices: [], usage })
  return { json, events: [...frames.map((frame) => `data: ${JSON.stringify(frame)}\n\n`), 'data: [DONE]\n\n'] }
}

/** A Messages API message and its event stream. */
export function anthropicAnswer(id: string, model: string, texts: string[]): Answer {
  const json = JSON.stringify({
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: texts.join('') }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: INPUT_TOKENS, output_tokens: texts.length },
  })
  const event = (data: { type: string }) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`
  const events = [
    event({ type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: INPUT_TOKENS, output_tokens: 1 } } } as { type: string }),
    event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as { type: string }),
    ...texts.map((text) => event({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } } as { type: string })),
    event({ type: 'content_block_stop', index: 0 } as { type: string }),
    event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: texts.length } } as { type: string }),
    event({ type: 'message_stop' }),
  ]
  return { json, events }
}
