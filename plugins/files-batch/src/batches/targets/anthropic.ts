import { GatewayError, type SendResult, type Warning } from '@switchyard/core'
import { ANTHROPIC_CUSTOM_ID, fromAnthropicResult, toAnthropicParams } from '../convert.js'
import { readBatchInput } from '../input.js'
import { FINAL_STATUSES, nowSeconds, withStatus, type BatchRecord, type BatchStatus } from '../record.js'
import { jsonLinesOf, type ResultLine } from '../results.js'
import { relayBody } from '../../target.js'
import { finishWith, jsonOfSent, newRecord, saveNewRecord, saveRecord, secondsOf, type BatchCall, type BatchEnv, type BatchTarget } from '../target.js'

/** Anthropic's most requests per Message Batch (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing). */
const MAX_REQUESTS = 100_000

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** One request of a Message Batch: `{ custom_id, params }` (params: a Messages API body). */
interface MessageBatchRequest {
  custom_id: string
  params: Record<string, unknown>
}

/** The inline `requests` of `extra_body` (already in Anthropic's format, as the reference shows), checked. */
function inlineRequests(value: unknown): MessageBatchRequest[] {
  if (!Array.isArray(value) || value.length === 0) throw GatewayError.badRequest('requests must be a non-empty array of { custom_id, params }', 'requests')
  if (value.length > MAX_REQUESTS) throw GatewayError.badRequest(`requests has ${value.length} entries; an Anthropic batch takes at most ${MAX_REQUESTS}`, 'requests')
  const seen = new Map<string, number>()
  return value.map((entry, index) => {
    const at = `requests[${index}]`
    if (!isObject(entry)) throw GatewayError.badRequest(`${at} must be an object { custom_id, params }`, 'requests')
    const id = entry.custom_id
    if (typeof id !== 'string' || !ANTHROPIC_CUSTOM_ID.test(id)) throw GatewayError.badRequest(`${at}.custom_id must be 1 to 64 letters, digits, "_" or "-" (Anthropic's rule), got ${JSON.stringify(id ?? null)}`, 'requests')
    const first = seen.get(id)
    if (first !== undefined) throw GatewayError.badRequest(`${at}.custom_id ${JSON.stringify(id)} is used twice (first in requests[${first}]); each request needs its own`, 'requests')
    seen.set(id, index)
    if (!isObject(entry.params) || typeof entry.params.model !== 'string' || entry.params.model === '') throw GatewayError.badRequest(`${at}.params must be a Messages API body with a model`, 'requests')
    if (entry.params.stream === true) throw GatewayError.badRequest(`${at}.params: batch requests cannot stream`, 'requests')
    return { custom_id: id, params: entry.params }
  })
}

/** Anthropic's `processing_status` (and whether a cancel began) as OpenAI's status, before the batch ended. */
function openStatusOf(batch: Record<string, unknown>): BatchStatus {
  return batch.processing_status === 'canceling' ? 'cancelling' : 'in_progress'
}

/** OpenAI's counts from Anthropic's (`succeeded` completed; `errored`, `canceled` and `expired` failed). */
function countsOf(batch: Record<string, unknown>, total: number) {
  const counts = isObject(batch.request_counts) ? batch.request_counts : {}
  const number = (name: string) => (typeof counts[name] === 'number' ? (counts[name] as number) : 0)
  return { total, completed: number('succeeded'), failed: number('errored') + number('canceled') + number('expired') }
}

/** How an ended batch ends for OpenAI: cancelled when a cancel began, expired when every request expired, else completed. */
function endStatusOf(batch: Record<string, unknown>, total: number): 'completed' | 'cancelled' | 'expired' {
  if (typeof batch.cancel_initiated_at === 'string') return 'cancelled'
  const counts = isObject(batch.request_counts) ? batch.request_counts : {}
  return total > 0 && counts.expired === total ? 'expired' : 'completed'
}

/**
 * Anthropic's Message Batches (https://docs.anthropic.com/en/api/creating-message-batches): the
 * requests go inline, either as given in `extra_body.requests` (Anthropic's own format) or
 * converted from the input file's OpenAI chat requests through the IR; the results (JSONL) come
 * back through the IR as OpenAI's batch output.
 */
export function createAnthropicBatchTarget(env: BatchEnv): BatchTarget {
  const send = (call: Pick<BatchCall, 'provider' | 'signal'>, method: string, path: string, body?: unknown, accept?: string): Promise<SendResult> =>
    env.send(call.provider, {
      signal: call.signal,
      build(context, passthrough) {
        const target = passthrough(path)
        const headers: Record<string, string> = { ...target.headers, ...(accept ? { accept } : {}) }
        if (body === undefined) delete headers['content-type']
        return { url: target.url, method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
      },
    })

  async function refreshWith(record: BatchRecord, batch: Record<string, unknown>, call: BatchCall): Promise<BatchRecord> {
    const counts = countsOf(batch, record.request_counts.total)
    if (batch.processing_status !== 'ended') {
      const status = record.cancel_requested && openStatusOf(batch) === 'in_progress' ? 'cancelling' : openStatusOf(batch)
      const updated = withStatus({ ...record, request_counts: counts }, status, secondsOf(batch.cancel_initiated_at) ?? nowSeconds())
      return updated.status === record.status ? updated : saveRecord(env, updated)
    }
    const model = record.model ?? ''
    return finishWith(env, record, endStatusOf(batch, record.request_counts.total), async function* (): AsyncGenerator<ResultLine> {
      const sent = await send(call, 'GET', `/messages/batches/${record.upstream_id}/results`, undefined, 'application/binary')
      for await (const value of jsonLinesOf(relayBody(sent), call.provider)) yield fromAnthropicResult(value, model, call.provider)
    }, counts)
  }

  return {
    async create(batch, call) {
      const warnings: Warning[] = []
      if (batch.endpoint !== '/v1/chat/completions') throw GatewayError.badRequest(`an Anthropic batch runs chat completions: endpoint must be "/v1/chat/completions", got "${batch.endpoint}"`, 'endpoint')
      let requests: MessageBatchRequest[]
      if (batch.body.requests !== undefined) {
        if (batch.input_file_id !== '') throw GatewayError.badRequest('give input_file_id or inline requests, not both', 'requests')
        requests = inlineRequests(batch.body.requests)
      } else {
        const lines = await readBatchInput(env.files, batch.input_file_id, call.provider, call.owner, call.signal, batch.endpoint, Math.min(env.options.maxRequests, MAX_REQUESTS))
        requests = lines.map((line) => {
          if (!ANTHROPIC_CUSTOM_ID.test(line.custom_id)) throw GatewayError.badRequest(`line ${line.line}: custom_id ${JSON.stringify(line.custom_id)} does not fit Anthropic's rule (1 to 64 letters, digits, "_" or "-")`, 'input_file_id')
          return { custom_id: line.custom_id, params: toAnthropicParams(line, call.provider, warnings) }
        })
      }
      const models = new Set(requests.map((request) => String(request.params.model)))
      const created = await jsonOfSent(await send(call, 'POST', '/messages/batches', { requests }))
      if (typeof created.id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(created.id)) throw new GatewayError({ status: 502, code: 'upstream', provider: call.provider, message: `[${call.provider}] the Message Batches API answered without a batch id` })
      const record = newRecord(batch, call, 'anthropic', { status: openStatusOf(created), total: requests.length, upstream_id: created.id, ...(models.size === 1 ? { model: [...models][0] } : {}) })
      await saveNewRecord(env, record)
      return { record, warnings }
    },
    async refresh(record, call) {
      if (FINAL_STATUSES.has(record.status)) return record
      return refreshWith(record, await jsonOfSent(await send(call, 'GET', `/messages/batches/${record.upstream_id}`)), call)
    },
    async cancel(record, call) {
      if (FINAL_STATUSES.has(record.status)) return record
      const batch = await jsonOfSent(await send(call, 'POST', `/messages/batches/${record.upstream_id}/cancel`))
      return refreshWith(await saveRecord(env, { ...record, cancel_requested: true }), batch, call)
    },
  }
}
