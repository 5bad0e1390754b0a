import { definePlugin, GatewayError } from '@switchyard/core'

/**
 * A stand-in for the governance plugin in the async inference tests, loaded by file path from the
 * config: it identifies the caller's virtual key from `x-bf-vk` (the reference docs' virtual key
 * header) as `ctx.state['switchyard:virtual_key']` = `{ id, name }`, as governance does, refuses `x-bf-vk: blocked` with a 403, and records per
 * virtual key what every model request did: which kind it was (a submit, a poll, or a job's run)
 * and the usage `afterUpstream` saw. `GET /test-vk/records` returns the records.
 */
export interface VkRecord {
  vk: string | null
  kind: 'submit' | 'poll' | 'run'
  model: string
  status: number | undefined
  inputTokens: number | undefined
  outputTokens: number | undefined
}

export default function createVkPlugin() {
  const records: VkRecord[] = []
  const byRequest = new WeakMap<Headers, VkRecord>()
  return definePlugin({
    name: 'test-vk',
    routes(app) {
      app.get('/test-vk/records', (c) => c.json(records))
    },
    hooks: {
      onRequest(ctx) {
        const vk = ctx.headers.get('x-bf-vk')
        if (vk === 'blocked') throw new GatewayError({ status: 403, code: 'permission', message: 'virtual key blocked', retryable: false })
        if (vk) ctx.state.set('switchyard:virtual_key', { id: vk, name: `key ${vk}` })
        const kind = ctx.headers.has('x-bf-async') ? 'submit' : ctx.headers.has('x-bf-async-id') ? 'poll' : 'run'
        const record: VkRecord = { vk, kind, model: ctx.requestedModel, status: undefined, inputTokens: undefined, outputTokens: undefined }
        records.push(record)
        byRequest.set(ctx.headers, record)
      },
      afterUpstream(ctx, outcome) {
        const record = byRequest.get(ctx.headers)
        if (!record) return
        record.status = outcome.ok ? outcome.status : outcome.error.status
        if (outcome.ok) {
          record.inputTokens = outcome.usage?.inputTokens
          record.outputTokens = outcome.usage?.outputTokens
        }
      },
      onFinish(ctx, summary) {
        const record = byRequest.get(ctx.headers)
        if (record && record.status === undefined) record.status = summary.status
      },
    },
  })
}
