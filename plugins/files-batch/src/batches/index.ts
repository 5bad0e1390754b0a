import type { PluginSetupContext } from '@switchyard/core'
import type { ResolvedFilesOptions } from '../options.js'
import type { FileRecords } from '../records.js'
import type { BlobStore } from '../s3.js'
import type { FilesService } from '../service.js'
import { resolveBatchOptions } from './options.js'
import { createBatchStore, type BatchStore } from './record.js'
import type { BatchesRuntime } from './routes.js'
import { createRunStore } from './run-store.js'
import { createGatewayRunner, type GatewayRunner } from './runner.js'
import { createBatchService } from './service.js'
import type { BatchEnv } from './target.js'
import { createAnthropicBatchTarget } from './targets/anthropic.js'
import { createBedrockBatchTarget } from './targets/bedrock.js'
import { createGatewayBatchTarget } from './targets/gateway.js'
import { createGeminiBatchTarget } from './targets/gemini.js'
import { createOpenAIBatchTarget } from './targets/openai.js'

/** The Batch API's parts, built once per gateway. */
export interface Batches extends BatchesRuntime {
  store: BatchStore
  runner: GatewayRunner
}

/** Builds the Batch API over the Files API's parts; `input` is the plugin's `config.batches` (checked here: a bad value throws naming it). */
export function createBatches(context: PluginSetupContext, files: { service: FilesService; records: FileRecords; blobs: BlobStore; options: ResolvedFilesOptions }, input: unknown): Batches {
  const options = resolveBatchOptions(input)
  const store = createBatchStore(context.storage)
  const env: BatchEnv = {
    files: files.service,
    fileRecords: files.records,
    blobs: files.blobs,
    store,
    send: context.send,
    atomic: context.atomic,
    config: context.config,
    options,
    filesOptions: files.options,
    log: context.log,
  }
  const runs = createRunStore(context.storage)
  let runner: GatewayRunner | undefined
  const gateway = createGatewayBatchTarget(env, runs, () => runner)
  runner = createGatewayRunner({
    store: runs,
    atomic: context.atomic,
    dispatch: context.dispatch,
    log: context.log,
    options,
    cancelRequested: async (id) => (await store.batches.get(id))?.cancel_requested === true,
    finish: gateway.finish,
    forget: (id) => runs.clear(id, undefined),
  })
  const service = createBatchService(
    env,
    { anthropic: createAnthropicBatchTarget(env), bedrock: createBedrockBatchTarget(env), gemini: createGeminiBatchTarget(env), gateway },
    createOpenAIBatchTarget(env),
  )
  return { service, store, runner, maxBodyBytes: Math.floor(context.config.client.max_request_body_size_mb * 1024 * 1024) }
}
