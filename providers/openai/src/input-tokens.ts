import * as v from 'valibot'
import type { ChatRequest, OperationCodec, TokenCount, UpstreamContext } from '@switchyard/core'
import { toResponsesBody } from './responses.js'
import { validateWire } from './wire.js'

/**
 * OpenAI's input token count, `POST /responses/input_tokens`
 * (https://platform.openai.com/docs/api-reference/responses/input-tokens): the body of a Responses
 * call without its generation settings -> `{"object": "response.input_tokens", "input_tokens": n}`.
 */

/** The members of a Responses body the endpoint takes (the spec's `TokenCountsBody`). */
const COUNTED = ['model', 'input', 'instructions', 'tools', 'tool_choice', 'parallel_tool_calls', 'text', 'reasoning', 'previous_response_id', 'conversation', 'truncation'] as const

/**
 * IR chat request -> `/responses/input_tokens` body. Settings that shape the output, not the prompt
 * (sampling, stop sequences, output limits, a thinking budget, `n`), are not part of the count and
 * are left out before encoding, so a request the Responses API could not generate with can still be
 * counted.
 */
export function toInputTokensBody(request: ChatRequest): Record<string, unknown> {
  const prompt: ChatRequest = {
    ...request,
    stream: undefined, n: undefined, maxTokens: undefined, temperature: undefined, topP: undefined, topK: undefined, seed: undefined,
    stop: undefined, presencePenalty: undefined, frequencyPenalty: undefined,
    reasoning: request.reasoning?.effort === undefined ? undefined : { effort: request.reasoning.effort },
  }
  const body = toResponsesBody(prompt)
  const out: Record<string, unknown> = {}
  for (const key of COUNTED) if (body[key] !== undefined) out[key] = body[key]
  // The Responses API takes a function tool without `strict` as strict, and refuses a schema strict
  // mode cannot take: a tool from a dialect without strict mode is counted as the non-strict tool it is.
  if (Array.isArray(out.tools)) out.tools = out.tools.map((tool: Record<string, unknown>) => (tool.type === 'function' && tool.strict === undefined ? { ...tool, strict: false } : tool))
  return out
}

const CountSchema = v.looseObject({ input_tokens: v.pipe(v.number('input_tokens must be a number'), v.integer(), v.minValue(0)) })

/** `/responses/input_tokens` answer -> the count; anything else is a 502. */
export function parseInputTokensResponse(json: unknown): TokenCount {
  return { inputTokens: validateWire(CountSchema, json, '', 'response').input_tokens }
}

/** The `upstream.countTokens` codec of an OpenAI Responses API upstream at `context.baseURL`. */
export function inputTokensCodec(headers: (context: UpstreamContext) => Record<string, string>): OperationCodec<ChatRequest, TokenCount> {
  return {
    request: (request, context) => ({ url: `${context.baseURL}/responses/input_tokens`, headers: headers(context), body: JSON.stringify(toInputTokensBody(request)) }),
    response: (json) => parseInputTokensResponse(json),
  }
}
