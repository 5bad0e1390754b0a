import OpenAI from 'openai'
import { createStorage, type Storage } from 'unstorage'
import { definePlugin, GatewayError, parseConfig, silentLogger } from '@switchyard/core'
import { buildGateway, stopServer } from '@switchyard/core/serve'
import { listenNode } from '../../runtimes/node/src/index.js'

/**
 * The real gateway, in process on a random port, with the files plugin (loaded by package name
 * from the config, as a user's gateway loads it) and a stand-in for the governance plugin's
 * authentication, for the Files API tests.
 */

/** Virtual keys of the stand-in: the caller's bearer token -> virtual key id. */
export const VIRTUAL_KEYS: Readonly<Record<string, string>> = { 'sk-bf-alice': 'vk-alice', 'sk-bf-bob': 'vk-bob' }

/**
 * What the governance plugin does in `onRequest` for a virtual key, reduced to that: a known
 * `sk-bf-` token puts `{ id }` under `switchyard:virtual_key` in `ctx.state`; an unknown one is a
 * 401. Any other token passes without a virtual key.
 */
/** What `afterUpstream` and `onFinish` saw, per request id, in order (the stand-in records them). */
export const hookLog: Array<{ hook: 'afterUpstream' | 'onFinish'; id: string; operation: string; status: number }> = []

export const testVirtualKeys = definePlugin({
  name: 'test-virtual-keys',
  hooks: {
    afterUpstream(ctx, outcome) {
      hookLog.push({ hook: 'afterUpstream', id: ctx.id, operation: ctx.operation, status: outcome.ok ? outcome.status : outcome.error.status })
    },
    onFinish(ctx, summary) {
      hookLog.push({ hook: 'onFinish', id: ctx.id, operation: ctx.operation, status: summary.status })
    },
    onRequest(ctx) {
      const token = (ctx.headers.get('authorization') ?? '').replace(/^Bearer\s+/i, '')
      if (!token.startsWith('sk-bf-')) return
      const id = VIRTUAL_KEYS[token]
      if (!id) throw new GatewayError({ status: 401, code: 'authentication', type: 'authentication_error', message: 'virtual key not found', retryable: false })
      ctx.state.set('switchyard:virtual_key', { id })
      ctx.responseHeaders.set('x-test-virtual-key', id)
    },
  },
})

export interface FilesGateway {
  url: string
  /** The gateway's storage (file records, blobs), to check what was written. */
  storage: Storage
  /** The OpenAI SDK on the gateway's `/openai` surface (`v1`: on `/openai/v1`). */
  client(apiKey?: string, options?: { v1?: boolean }): OpenAI
  close(): Promise<void>
}

const FILES_PACKAGE = '@switchyard/plugin-files-batch'

/** Starts the gateway with `config` (its `plugins` get the files plugin, after the virtual keys, unless given). */
export async function startFilesGateway(config: Record<string, unknown>, filesOptions: unknown = {}): Promise<FilesGateway> {
  const storage = createStorage()
  const parsed = parseConfig({ ...config, plugins: [{ name: 'test-virtual-keys' }, { name: FILES_PACKAGE, config: filesOptions }] }, {})
  const gateway = await buildGateway({
    config: parsed,
    storage,
    logger: silentLogger,
    importModule: async (name) => (name === 'test-virtual-keys' ? { default: testVirtualKeys } : import(name)),
  })
  await gateway.ready
  const server = await listenNode(gateway.fetch, { port: 0, host: '127.0.0.1' })
  return {
    url: server.url,
    storage,
    client: (apiKey = 'caller-key', options = {}) => new OpenAI({ baseURL: `${server.url}/openai${options.v1 ? '/v1' : ''}`, apiKey, maxRetries: 0 }),
    async close() {
      await stopServer(server, 1_000)
      await gateway.close()
    },
  }
}

/** Keys of the gateway's storage under `prefix` (what a refused upload must not have left). */
export async function storedKeys(storage: Storage, prefix: string): Promise<string[]> {
  return storage.getKeys(prefix)
}

/** An OpenAI-shaped error answer: `{ error: { message, type, param, code } }`. */
export async function openAIErrorOf(response: Response): Promise<{ message: string; type: string; param: string | null; code: string | null }> {
  const body = (await response.json()) as { error?: { message: string; type: string; param: string | null; code: string | null } }
  if (!body.error || typeof body.error.message !== 'string' || typeof body.error.type !== 'string') throw new Error(`not an OpenAI error body: ${JSON.stringify(body)}`)
  return body.error
}

/** Two requests of the Batch API input format (OpenAI-style JSONL, as the reference page writes them). */
export function batchJsonl(model: string, prompts = ['What is 2+2?', 'What is the capital of France?']): string {
  return prompts.map((content, index) => JSON.stringify({ custom_id: `req-${index + 1}`, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content }], max_tokens: 100 } })).join('\n')
}
