import { GatewayError, type SendResult } from '@switchyard/core'
import { recordKeyOf } from '../../records.js'
import { checkBatchId, noSuchBatch, nowSeconds, upstreamKeyOf, type BatchObject } from '../record.js'
import { jsonOfSent, type BatchCall, type BatchEnv, type NewBatch } from '../target.js'

/** An OpenAI list page of batches. */
export interface BatchList {
  object: 'list'
  data: BatchObject[]
  first_id: string | null
  last_id: string | null
  has_more: boolean
}

/** `GET /batches` query: OpenAI's `limit` (1 to 100) and `after`. */
export interface BatchListQuery {
  limit: number
  /** The caller gave `limit` (else the provider's default applies upstream). */
  limitGiven: boolean
  after: string | undefined
}

/** The fields of `POST /batches` OpenAI knows: the gateway's own (`provider` ...) never reach it. */
const OPENAI_FIELDS = ['input_file_id', 'endpoint', 'completion_window', 'metadata', 'output_expires_after'] as const

const isBatch = (value: unknown): value is BatchObject => typeof value === 'object' && value !== null && typeof (value as BatchObject).id === 'string'

/**
 * The provider's own Batch API (OpenAI, or an OpenAI-compatible provider with one): every call
 * forwarded with the provider's key and answered with the provider's batch object. The gateway
 * records which virtual key created which batch (and its output files, once they exist), and
 * shows a caller only its own.
 */
export function createOpenAIBatchTarget(env: BatchEnv) {
  const send = (call: Pick<BatchCall, 'provider' | 'signal'>, method: string, path: string, body?: unknown): Promise<SendResult> =>
    env.send(call.provider, {
      signal: call.signal,
      build(context, passthrough) {
        const target = passthrough(path)
        const headers = { ...target.headers }
        if (body === undefined) delete headers['content-type']
        else headers['content-type'] = 'application/json'
        return { url: target.url, method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
      },
    })

  /** The batch's ownership, checked: another key's batch (or, for a caller with a key, one the gateway did not record) is a 404. */
  async function owned(id: string, call: BatchCall): Promise<void> {
    const record = await env.store.upstream.get(upstreamKeyOf(call.provider, checkBatchId(id)))
    if (record ? record.owner !== call.owner : call.owner !== '') throw noSuchBatch(id)
  }

  /** Records the batch's output and error files as the owner's, so the Files API lets it download them. */
  async function adoptFiles(batch: BatchObject, call: BatchCall): Promise<void> {
    for (const [which, id] of [['output', batch.output_file_id], ['error', batch.error_file_id]] as const) {
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(id)) continue
      const key = recordKeyOf(call.provider, id, false)
      if (await env.fileRecords.get(key)) continue
      await env.fileRecords.put(key, { v: 1, id, provider: call.provider, owner: call.owner, filename: `${batch.id}_${which}.jsonl`, purpose: 'batch_output', bytes: 0, created_at: nowSeconds(), location: { type: 'provider' } })
    }
  }

  const answered = async (sent: SendResult) => {
    const batch = await jsonOfSent(sent)
    if (!isBatch(batch)) throw new GatewayError({ status: 502, code: 'upstream', provider: sent.context.providerId, message: `[${sent.context.providerId}] the Batch API answered without a batch` })
    return batch
  }

  return {
    async create(batch: NewBatch, call: BatchCall): Promise<BatchObject> {
      // The input must be the caller's own file at this provider (another key's is the same 404 as a missing one).
      const file = await env.files.resolve(batch.input_file_id, call.provider, call.owner, call.signal)
      if (file.provider !== call.provider) throw GatewayError.badRequest(`input file ${batch.input_file_id} was uploaded for provider "${file.provider}", not "${call.provider}"`, 'input_file_id')
      const body: Record<string, unknown> = {}
      for (const name of OPENAI_FIELDS) if (batch.body[name] !== undefined) body[name] = batch.body[name]
      const created = await answered(await send(call, 'POST', '/batches', body))
      checkBatchId(created.id)
      await env.store.upstream.put(upstreamKeyOf(call.provider, created.id), { v: 1, provider: call.provider, owner: call.owner, created_at: typeof created.created_at === 'number' ? created.created_at : nowSeconds(), id: created.id })
      return created
    },
    async list(query: BatchListQuery, call: BatchCall): Promise<BatchList> {
      const search = new URLSearchParams()
      if (query.limitGiven) search.set('limit', String(query.limit))
      if (query.after !== undefined) search.set('after', query.after)
      const page = (await jsonOfSent(await send(call, 'GET', `/batches${search.size > 0 ? `?${search}` : ''}`))) as Partial<BatchList>
      let visible: (key: string) => boolean
      if (call.owner !== '') {
        const mine = new Set(await env.store.upstream.keysOf(call.owner, call.provider))
        visible = (key) => mine.has(key)
      } else {
        const hidden = await env.store.upstream.ownedByKeys(call.provider)
        visible = (key) => !hidden.has(key)
      }
      const data = (Array.isArray(page.data) ? page.data : []).filter((batch) => isBatch(batch) && /^[A-Za-z0-9_-]{1,128}$/.test(batch.id) && visible(upstreamKeyOf(call.provider, batch.id)))
      return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.has_more === true }
    },
    async retrieve(id: string, call: BatchCall): Promise<BatchObject> {
      await owned(id, call)
      const batch = await answered(await send(call, 'GET', `/batches/${id}`))
      await adoptFiles(batch, call)
      return batch
    },
    async cancel(id: string, call: BatchCall): Promise<BatchObject> {
      await owned(id, call)
      return answered(await send(call, 'POST', `/batches/${id}/cancel`))
    },
  }
}

export type OpenAIBatchTarget = ReturnType<typeof createOpenAIBatchTarget>
