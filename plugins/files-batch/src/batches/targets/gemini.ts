import { GatewayError, type SendResult, type Warning } from '@switchyard/core'
import { geminiModelPath } from '@switchyard/provider-gemini'
import { mintFileId } from '../../ids.js'
import { relayBody } from '../../target.js'
import { batchModelOf, fromGeminiResponse, toGeminiRequest } from '../convert.js'
import { readBatchInput } from '../input.js'
import { FINAL_STATUSES, withStatus, type BatchRecord, type BatchStatus } from '../record.js'
import { jsonLinesOf, unansweredLine, type ResultLine } from '../results.js'
import { finishWith, jsonOfSent, newRecord, saveNewRecord, saveRecord, type BatchCall, type BatchEnv, type BatchTarget } from '../target.js'

/** What a Gemini batch's record keeps: the batch's resource name and each request's key, by position. */
interface GeminiJob {
  name: string
  customIds: string[]
  /** The converted requests' file at Gemini, when they went as a file. */
  inputFile?: string
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Gemini's `BatchState` (`BATCH_STATE_*`, or the SDK's `JOB_STATE_*`) as OpenAI's status while the batch runs. */
function openStatusOf(state: string): BatchStatus | undefined {
  const name = state.replace(/^(BATCH|JOB)_STATE_/, '')
  return name === 'PENDING' || name === 'RUNNING' ? 'in_progress' : name === 'UNSPECIFIED' || name === '' ? 'validating' : undefined
}

/** How an ended Gemini batch ends for OpenAI. */
function endStatusOf(state: string): 'completed' | 'cancelled' | 'expired' | 'failed' | undefined {
  const name = state.replace(/^(BATCH|JOB)_STATE_/, '')
  return ({ SUCCEEDED: 'completed', CANCELLED: 'cancelled', EXPIRED: 'expired', FAILED: 'failed' } as const)[name as 'SUCCEEDED']
}

/** `batchStats` (int64 values as strings) as OpenAI's counts. */
function countsOf(metadata: Record<string, unknown>, total: number) {
  const stats = isObject(metadata.batchStats) ? metadata.batchStats : {}
  const number = (name: string) => {
    const value = Number(stats[name] ?? 0)
    return Number.isFinite(value) ? value : 0
  }
  return { total, completed: number('successfulRequestCount'), failed: number('failedRequestCount') }
}

const BATCH_NAME = /^batches\/[A-Za-z0-9_-]{1,128}$/

/**
 * Gemini's batch mode (https://ai.google.dev/gemini-api/docs/batch-mode): the input file's OpenAI
 * chat requests become `GenerateContentRequest`s through the IR, sent inline when they are small
 * (`batches.gemini.inline_max_bytes`) and as a JSONL file of `{ key, request }` lines uploaded to
 * Gemini's file API otherwise; `models/{model}:batchGenerateContent` runs them, and the responses
 * (inline, or a results file) come back through the IR as OpenAI's batch output.
 */
export function createGeminiBatchTarget(env: BatchEnv): BatchTarget {
  const send = (call: Pick<BatchCall, 'provider' | 'signal'>, method: string, path: string, body?: unknown): Promise<SendResult> =>
    env.send(call.provider, {
      signal: call.signal,
      build(context, passthrough) {
        const target = passthrough(path)
        const headers = { ...target.headers }
        if (body === undefined) delete headers['content-type']
        return { url: target.url, method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
      },
    })

  const jobOf = (record: BatchRecord) => record.upstream as unknown as GeminiJob

  /** Uploads the converted requests as a JSONL file through the Files API's Gemini path (staged, then resumable upload). */
  async function uploadRequests(text: string, count: number, record: BatchRecord, call: BatchCall): Promise<string> {
    const id = mintFileId()
    const key = `files/${id}`
    const info = await env.blobs.put(key, text, { contentType: 'application/jsonl' })
    const staged = { id, key, filename: `${record.id}_requests.jsonl`, contentType: 'application/jsonl', bytes: info.size, batchInput: { requests: count, problem: undefined } }
    const file = await env.files.create({ fields: new Map([['provider', call.provider], ['purpose', 'batch']]), file: staged }, call.owner, call.signal)
    return file.id
  }

  async function refreshWith(record: BatchRecord, operation: Record<string, unknown>, call: BatchCall): Promise<BatchRecord> {
    const metadata = isObject(operation.metadata) ? operation.metadata : {}
    const state = typeof metadata.state === 'string' ? metadata.state : ''
    const counts = countsOf(metadata, record.request_counts.total)
    const end = endStatusOf(state)
    if (!end) {
      const open = openStatusOf(state) ?? 'in_progress'
      const updated = withStatus({ ...record, request_counts: counts }, record.cancel_requested && open === 'in_progress' ? 'cancelling' : open)
      return updated.status === record.status ? updated : saveRecord(env, updated)
    }
    if (end === 'failed') {
      const error = isObject(operation.error) ? operation.error : {}
      const message = typeof error.message === 'string' ? error.message : 'the batch failed'
      return saveRecord(env, withStatus({ ...record, request_counts: counts, errors: [{ code: 'batch_failed', message: `[${call.provider}] ${message}` }] }, 'failed'))
    }
    const { customIds } = jobOf(record)
    const model = record.model ?? ''
    const output = isObject(operation.response) ? operation.response : isObject(metadata.output) ? metadata.output : {}
    return finishWith(
      env,
      record,
      end,
      async function* (): AsyncGenerator<ResultLine> {
        const seen = new Set<string>()
        const known = new Set(customIds)
        const lineOf = (value: Record<string, unknown>, fallback: string | undefined) => {
          const meta = isObject(value.metadata) ? value.metadata : {}
          const key = typeof value.key === 'string' ? value.key : typeof meta.key === 'string' ? meta.key : fallback
          if (key === undefined || !known.has(key) || seen.has(key)) return undefined
          seen.add(key)
          return fromGeminiResponse(value, key, model, call.provider)
        }
        const inlined = isObject(output.inlinedResponses) ? output.inlinedResponses.inlinedResponses : undefined
        if (Array.isArray(inlined)) {
          for (const [index, value] of inlined.entries()) {
            const line = isObject(value) ? lineOf(value, customIds[index]) : undefined
            if (line) yield line
          }
        } else if (typeof output.responsesFile === 'string' && /^files\/[a-z0-9-]+$/.test(output.responsesFile)) {
          const sent = await send(call, 'GET', `/${output.responsesFile}:download?alt=media`)
          for await (const value of jsonLinesOf(relayBody(sent), call.provider)) {
            const line = lineOf(value, undefined)
            if (line) yield line
          }
        }
        const code = end === 'cancelled' ? 'batch_cancelled' : end === 'expired' ? 'batch_expired' : 'not_processed'
        for (const customId of customIds) if (!seen.has(customId)) yield unansweredLine(customId, code, `[${call.provider}] the batch (${state}) returned no response for this request`)
      },
    )
  }

  return {
    async create(batch, call) {
      if (batch.endpoint !== '/v1/chat/completions') throw GatewayError.badRequest(`a Gemini batch runs chat completions: endpoint must be "/v1/chat/completions", got "${batch.endpoint}"`, 'endpoint')
      const lines = await readBatchInput(env.files, batch.input_file_id, call.provider, call.owner, call.signal, batch.endpoint, env.options.maxRequests)
      const model = batchModelOf(lines, call.provider, batch.model)
      const modelPath = geminiModelPath(model)
      const warnings: Warning[] = []
      const requests = lines.map((line) => ({ key: line.custom_id, request: toGeminiRequest(line, model, warnings) }))
      const pending = newRecord(batch, call, 'gemini', { status: 'validating', total: lines.length, model })
      const inline = requests.map(({ key, request }) => ({ request, metadata: { key } }))
      const inlineText = JSON.stringify(inline)
      let inputFile: string | undefined
      let inputConfig: Record<string, unknown>
      if (new TextEncoder().encode(inlineText).length <= env.options.geminiInlineMaxBytes) inputConfig = { requests: { requests: inline } }
      else {
        inputFile = await uploadRequests(`${requests.map((request) => JSON.stringify(request)).join('\n')}\n`, requests.length, pending, call)
        inputConfig = { fileName: inputFile }
      }
      const operation = await jsonOfSent(await send(call, 'POST', `/${modelPath}:batchGenerateContent`, { batch: { displayName: pending.id, inputConfig } }))
      const name = typeof operation.name === 'string' ? operation.name : ''
      if (!BATCH_NAME.test(name)) throw new GatewayError({ status: 502, code: 'upstream', provider: call.provider, message: `[${call.provider}] batchGenerateContent answered without a batch name` })
      const job: GeminiJob = { name, customIds: lines.map((line) => line.custom_id), ...(inputFile ? { inputFile } : {}) }
      const record = { ...pending, upstream_id: name.slice('batches/'.length), upstream: job as unknown as Record<string, unknown> }
      const metadata = isObject(operation.metadata) ? operation.metadata : {}
      const started = withStatus(record, openStatusOf(typeof metadata.state === 'string' ? metadata.state : '') ?? 'in_progress')
      await saveNewRecord(env, started)
      return { record: started, warnings }
    },
    async refresh(record, call) {
      if (FINAL_STATUSES.has(record.status)) return record
      return refreshWith(record, await jsonOfSent(await send(call, 'GET', `/${jobOf(record).name}`)), call)
    },
    async cancel(record, call) {
      if (FINAL_STATUSES.has(record.status)) return record
      const cancelled = await send(call, 'POST', `/${jobOf(record).name}:cancel`)
      await cancelled.response.arrayBuffer().catch(() => undefined)
      cancelled.settle()
      return saveRecord(env, withStatus({ ...record, cancel_requested: true }, 'cancelling'))
    },
  }
}
