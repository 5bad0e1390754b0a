import { GatewayError, type Warning } from '@switchyard/core'
import { readBatchInput } from '../input.js'
import { FINAL_STATUSES, type BatchRecord } from '../record.js'
import { answeredLine, unansweredLine, type ResultLine } from '../results.js'
import type { RunMeta, RunStore } from '../run-store.js'
import type { GatewayRunner, RunOutcome } from '../runner.js'
import { COMPLETION_WINDOW_SECONDS, finishWith, newRecord, saveNewRecord, saveRecord, type BatchEnv, type BatchTarget } from '../target.js'

/** The endpoints a gateway-run batch sends its requests to (below `/openai`). */
export const GATEWAY_ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/moderations'] as const

/** Requests per stored chunk of a gateway-run batch. */
const CHUNK_SIZE = 256

/** Headers never replayed with a batch's requests: one hop's own, the body's, and async inference's (a batch request is never an async job). */
const NOT_REPLAYED = new Set(['host', 'connection', 'keep-alive', 'content-length', 'content-type', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'expect', 'accept-encoding', 'x-bf-async', 'x-bf-async-id', 'x-bf-async-job-result-ttl', 'x-bf-async-native'])

/** The caller's headers each request of its batch is sent with: its credentials and the gateway's `x-bf-*` routing headers. */
export function replayedHeaders(headers: Headers): Array<[string, string]> {
  const out: Array<[string, string]> = [['content-type', 'application/json']]
  for (const [name, value] of headers) if (!NOT_REPLAYED.has(name)) out.push([name, value])
  return out
}

/** The body with its model routed to `provider` (`groq/llama-3.3-70b`), as the gateway's routing reads it. */
function routedBody(body: Record<string, unknown>, provider: string, line: number): string {
  const model = body.model
  if (typeof model !== 'string' || model === '') throw GatewayError.badRequest(`line ${line}: body.model is required`, 'input_file_id')
  return JSON.stringify({ ...body, model: model.startsWith(`${provider}/`) ? model : `${provider}/${model}` })
}

/**
 * Batches the gateway runs itself, for providers without a batch API: the requests are stored
 * durably in the gateway's storage and run by the {@link GatewayRunner} through the gateway's own
 * routing path; their answers become the output and error files.
 */
export function createGatewayBatchTarget(env: BatchEnv, runs: RunStore, runner: () => GatewayRunner | undefined): BatchTarget & { finish(id: string, meta: RunMeta, outcome: RunOutcome): Promise<boolean> } {
  const notStarted = () => new GatewayError({ status: 503, code: 'overloaded', type: 'server_error', retryable: true, message: 'gateway-run batches are starting; retry shortly' })

  async function finish(id: string, meta: RunMeta, outcome: RunOutcome): Promise<boolean> {
    const record = await env.store.batches.get(id)
    if (!record || FINAL_STATUSES.has(record.status)) {
      // Finished before a crash cut the clean-up short, or a create torn before its record.
      await runs.clear(id, meta)
      return true
    }
    if (outcome === 'completed') {
      // An answer cut off mid-write does not count: the request runs again.
      const torn: number[] = []
      for (let index = 0; index < meta.total; index++) if (!(await runs.result(id, index))) torn.push(index)
      for (const index of torn) await runs.forgetResult(id, index)
      if (torn.length > 0) return false
    }
    const lines = async function* (): AsyncGenerator<ResultLine> {
      for (let n = 0; n * meta.chunkSize < meta.total; n++) {
        const chunk = (await runs.chunk(id, n)) ?? []
        for (const [offset, line] of chunk.entries()) {
          const result = await runs.result(id, n * meta.chunkSize + offset)
          if (!result) {
            yield outcome === 'expired'
              ? unansweredLine(line.custom_id, 'batch_expired', 'the batch expired before this request ran')
              : unansweredLine(line.custom_id, 'batch_cancelled', 'the batch was cancelled before this request ran')
            continue
          }
          let body: unknown = result.body
          try {
            body = JSON.parse(result.body)
          } catch {
            // Not JSON: kept as text.
          }
          yield answeredLine(line.custom_id, result.status, result.requestId, body)
        }
      }
    }
    const finished = await finishWith(env, record, outcome, lines)
    if (finished.status === 'finalizing') return false
    await runs.clear(id, meta)
    return true
  }

  return {
    finish,
    async create(batch, call) {
      const active = runner()
      if (!active) throw notStarted()
      if (!(GATEWAY_ENDPOINTS as readonly string[]).includes(batch.endpoint)) {
        throw GatewayError.badRequest(`endpoint "${batch.endpoint}" is not available for gateway-run batches (provider "${call.provider}"); use one of ${GATEWAY_ENDPOINTS.join(', ')}`, 'endpoint')
      }
      const input = await readBatchInput(env.files, batch.input_file_id, call.provider, call.owner, call.signal, batch.endpoint, env.options.maxRequests)
      const lines = input.map((line) => ({ custom_id: line.custom_id, body: routedBody(line.body, call.provider, line.line) }))
      const record = newRecord(batch, call, 'gateway', { status: 'in_progress', total: lines.length })
      const meta: RunMeta = { v: 1, id: record.id, total: lines.length, chunkSize: CHUNK_SIZE, path: `/openai${batch.endpoint}`, headers: replayedHeaders(call.headers), expiresAt: (record.created_at + COMPLETION_WINDOW_SECONDS) * 1000 }
      try {
        // Durable before the caller hears of it: the requests, how to send them, the record, then the open marker the scan finds.
        await runs.create(meta, lines)
        await saveNewRecord(env, record)
        await runs.markOpen(record.id)
      } catch (error) {
        await Promise.allSettled([runs.clear(record.id, meta), env.store.batches.remove(record.id, record)])
        throw error
      }
      await active.announce(record.id)
      return { record, warnings: [] as Warning[] }
    },
    async refresh(record) {
      if (FINAL_STATUSES.has(record.status)) return record
      const [done, failed] = await Promise.all([runs.doneIndices(record.id), runs.failedCount(record.id)])
      return { ...record, request_counts: { total: record.request_counts.total, completed: Math.max(0, done.size - failed), failed } }
    },
    async cancel(record) {
      if (FINAL_STATUSES.has(record.status) || record.cancel_requested) return record
      const active = runner()
      if (!active) throw notStarted()
      const saved = await saveRecord(env, { ...withCancel(record) })
      await active.cancel(record.id)
      return saved
    },
  }
}

function withCancel(record: BatchRecord): BatchRecord {
  const at = Math.floor(Date.now() / 1000)
  return { ...record, cancel_requested: true, status: 'cancelling', times: { ...record.times, cancelling_at: record.times.cancelling_at ?? at } }
}
