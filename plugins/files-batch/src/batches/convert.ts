import { GatewayError, type ChatRequest, type ChatResponse, type Warning } from '@switchyard/core'
import { parseMessagesResponse, toMessagesBody } from '@switchyard/provider-anthropic'
import { isClaude } from '@switchyard/provider-bedrock'
import { parseGenerateContentResponse, toGenerateContentBody } from '@switchyard/provider-gemini'
import { parseChatRequest, renderChatResponse } from '@switchyard/provider-openai'
import type { BatchInputLine } from './input.js'
import { answeredLine, openAIErrorBody, unansweredLine, type ResultLine } from './results.js'

/**
 * The translations of a batch: each OpenAI chat-completions request of the input goes through the
 * IR to the provider's request format (the same codecs as a synchronous call), and each provider
 * result comes back through the IR as OpenAI's `chat.completion`, in OpenAI's batch output lines.
 */

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The model a request names, without the provider prefix the gateway's routing would take off (`anthropic/claude-…`). */
export function modelOfLine(line: BatchInputLine, provider: string): string | undefined {
  const model = line.body.model
  if (typeof model !== 'string' || model === '') return undefined
  return model.startsWith(`${provider}/`) ? model.slice(provider.length + 1) : model
}

/**
 * The one model of a batch whose provider runs a single model per job (Bedrock, Gemini): `model`
 * from `extra_body`, else the requests' own; every request naming a model must name that one.
 */
export function batchModelOf(lines: readonly BatchInputLine[], provider: string, given: string | undefined): string {
  let model = given ? (given.startsWith(`${provider}/`) ? given.slice(provider.length + 1) : given) : undefined
  for (const line of lines) {
    const own = modelOfLine(line, provider)
    if (own === undefined) continue
    model ??= own
    if (own !== model) throw GatewayError.badRequest(`line ${line.line}: model "${own}" differs from the batch's model "${model}"; a ${provider} batch runs one model (name it with "model" in extra_body)`, 'model')
  }
  if (!model) throw GatewayError.badRequest(`a ${provider} batch needs a model: "model" in extra_body, or in the requests`, 'model')
  return model
}

/** A request line as IR, with a 400 naming the line when it is not a valid chat-completions request. */
export function chatOfLine(line: BatchInputLine, model: string): ChatRequest {
  try {
    const request = parseChatRequest(line.body, model)
    request.stream = false
    return request
  } catch (error) {
    if (GatewayError.is(error) && error.status < 500) {
      throw new GatewayError({ status: error.status, code: error.code, type: error.type, param: error.param, retryable: false, message: `line ${line.line} (custom_id ${JSON.stringify(line.custom_id)}): ${error.message}` })
    }
    throw error
  }
}

/** Warnings of one line, noted with the line, for the create answer's `x-switchyard-warnings`. */
export function noteWarnings(into: Warning[], line: BatchInputLine, found: readonly Warning[]): void {
  for (const warning of found) {
    const text = warning.type === 'unsupported' ? `${warning.feature}${warning.details ? ` (${warning.details})` : ''} is not supported` : warning.message
    if (into.length < 20) into.push({ type: 'other', message: `line ${line.line}: ${text}` })
  }
}

/** Anthropic's rule for `custom_id` in Message Batches. */
export const ANTHROPIC_CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/

/** An OpenAI chat request line -> the `params` of an Anthropic Message Batches request. */
export function toAnthropicParams(line: BatchInputLine, provider: string, warnings: Warning[]): Record<string, unknown> {
  const model = modelOfLine(line, provider)
  if (!model) throw GatewayError.badRequest(`line ${line.line} (custom_id ${JSON.stringify(line.custom_id)}): body.model is required`, 'model')
  const found: Warning[] = []
  const params = toMessagesBody(chatOfLine(line, model), found)
  delete params.stream
  noteWarnings(warnings, line, found)
  return params
}

/** The `anthropic_version` of Claude's InvokeModel bodies on Bedrock (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html). */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31'

/**
 * An OpenAI chat request line -> the `modelInput` of a Bedrock batch record: the model's
 * InvokeModel body. Claude models take the Anthropic Messages body (without `model`, with
 * Bedrock's `anthropic_version`); other model families have bodies of their own, not translated here.
 */
export function toBedrockModelInput(line: BatchInputLine, model: string, warnings: Warning[]): Record<string, unknown> {
  if (!isClaude(model)) throw GatewayError.badRequest(`bedrock batches translate requests for Claude models (anthropic.claude-…); "${model}" takes another InvokeModel body`, 'model')
  const found: Warning[] = []
  const body = toMessagesBody(chatOfLine(line, model), found)
  delete body.model
  delete body.stream
  noteWarnings(warnings, line, found)
  return { anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...body }
}

/** An OpenAI chat request line -> a Gemini `GenerateContentRequest`. */
export function toGeminiRequest(line: BatchInputLine, model: string, warnings: Warning[]): Record<string, unknown> {
  const found: Warning[] = []
  const body = toGenerateContentBody(chatOfLine(line, model), found)
  noteWarnings(warnings, line, found)
  return body
}

/** A provider's message, as the caller's `chat.completion` (through the IR). */
function chatCompletionOf(response: ChatResponse, model: string): Record<string, unknown> {
  return renderChatResponse(response, response.model || model)
}

/** HTTP statuses of Anthropic's error types (https://docs.anthropic.com/en/api/errors). */
const ANTHROPIC_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
}

/** A result that could not be read as the provider's message: an error line naming the provider, not a lost request. */
function unreadable(customId: string, provider: string, error: unknown): ResultLine {
  return answeredLine(customId, 502, null, openAIErrorBody(`[${provider}] the result could not be read: ${(error as Error)?.message ?? error}`, 'api_error'))
}

/** An Anthropic error object (`{ type, message }`) as an OpenAI error line. */
function anthropicErrorLine(customId: string, error: unknown, provider: string): ResultLine {
  const inner = isObject(error) && isObject(error.error) ? error.error : isObject(error) ? error : {}
  const type = typeof inner.type === 'string' ? inner.type : 'api_error'
  const message = typeof inner.message === 'string' ? inner.message : 'the request failed'
  return answeredLine(customId, ANTHROPIC_STATUS[type] ?? 500, null, openAIErrorBody(`[${provider}] ${message}`, type.endsWith('_error') ? type : 'api_error'))
}

/**
 * One line of Anthropic's batch results (`{ custom_id, result: { type: succeeded | errored |
 * canceled | expired, ... } }`) as OpenAI's batch output line.
 */
export function fromAnthropicResult(value: Record<string, unknown>, model: string, provider: string): ResultLine {
  const customId = typeof value.custom_id === 'string' ? value.custom_id : ''
  const result = isObject(value.result) ? value.result : {}
  switch (result.type) {
    case 'succeeded': {
      const message = isObject(result.message) ? result.message : {}
      try {
        return answeredLine(customId, 200, typeof message.id === 'string' ? message.id : null, chatCompletionOf(parseMessagesResponse(message), model))
      } catch (error) {
        return unreadable(customId, provider, error)
      }
    }
    case 'errored':
      return anthropicErrorLine(customId, result.error, provider)
    case 'canceled':
      return unansweredLine(customId, 'batch_cancelled', 'the batch was cancelled before this request ran')
    case 'expired':
      return unansweredLine(customId, 'batch_expired', 'the batch expired before this request ran')
    default:
      return unansweredLine(customId, 'unknown_result', `[${provider}] unknown result type ${JSON.stringify(result.type ?? null)}`)
  }
}

/**
 * One record of a Bedrock job's output (`{ recordId, modelInput, modelOutput }` or `{ recordId,
 * modelInput, error: { errorCode, errorMessage } }`) as OpenAI's batch output line.
 */
export function fromBedrockRecord(value: Record<string, unknown>, customId: string, model: string, provider: string): ResultLine {
  if (isObject(value.modelOutput)) {
    try {
      return answeredLine(customId, 200, typeof value.modelOutput.id === 'string' ? value.modelOutput.id : null, chatCompletionOf(parseMessagesResponse(value.modelOutput), model))
    } catch (error) {
      return unreadable(customId, provider, error)
    }
  }
  const error = isObject(value.error) ? value.error : {}
  const code = typeof error.errorCode === 'number' && error.errorCode >= 400 && error.errorCode < 600 ? error.errorCode : 500
  const message = typeof error.errorMessage === 'string' ? error.errorMessage : 'the record was not processed'
  return answeredLine(customId, code, null, openAIErrorBody(`[${provider}] ${message}`, code < 500 ? 'invalid_request_error' : 'api_error'))
}

/** HTTP statuses of google.rpc.Code values (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto). */
const RPC_STATUS: Record<number, number> = { 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401 }

/**
 * One Gemini batch response (inlined `{ response | error, metadata }`, or a results-file line
 * `{ key, response | error }`) as OpenAI's batch output line.
 */
export function fromGeminiResponse(value: Record<string, unknown>, customId: string, model: string, provider: string): ResultLine {
  if (isObject(value.response)) {
    try {
      const response = value.response
      return answeredLine(customId, 200, typeof response.responseId === 'string' ? response.responseId : null, chatCompletionOf(parseGenerateContentResponse(response), model))
    } catch (error) {
      return unreadable(customId, provider, error)
    }
  }
  const error = isObject(value.error) ? value.error : isObject(value.status) ? value.status : {}
  const code = typeof error.code === 'number' ? (error.code >= 400 && error.code < 600 ? error.code : (RPC_STATUS[error.code] ?? 500)) : 500
  const message = typeof error.message === 'string' ? error.message : 'the request failed'
  return answeredLine(customId, code, null, openAIErrorBody(`[${provider}] ${message}`, code < 500 ? 'invalid_request_error' : 'api_error'))
}
