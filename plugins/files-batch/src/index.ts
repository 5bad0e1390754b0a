import { definePlugin, type PluginSetupContext } from '@switchyard/core'
import { resolveFilesOptions } from './options.js'
import { createFileRecords } from './records.js'
import { registerFileRoutes, type FilesRuntime } from './routes.js'
import { createBlobStore } from './s3.js'
import { createFilesService } from './service.js'
import { createBatches, type Batches } from './batches/index.js'
import { registerBatchRoutes } from './batches/routes.js'
import { registerNativeBatchRoutes } from './batches/native-routes.js'

export type { FilesBatchOptions, BedrockFilesOptions, TargetKind, ResolvedFilesOptions } from './options.js'
export { resolveFilesOptions } from './options.js'
export type { FileObject, FileList, ListQuery } from './file-object.js'
export { PURPOSES, toFileObject, pageOf } from './file-object.js'
export type { FileRecord, FileLocation, FileRecords } from './records.js'
export { createFileRecords, recordKeyOf } from './records.js'
export type { FilesService, ResolvedFile } from './service.js'
export { createFilesService } from './service.js'
export type { FilesEnv, FilesTarget, CallInfo, FileRef, NewFile, DeletedFile } from './target.js'
export { mintFileId, isMintedId, checkOpenAIId, checkGeminiId, noSuchFile, invalidFileId } from './ids.js'
export { createBatchInputChecker, MAX_LINE_BYTES, type BatchInputChecker, type BatchInputReport } from './jsonl.js'
export { readFormParts, readTextPart, formBoundary, dispositionParam, type FormPart, type MultipartLimits } from './multipart.js'
export { readUpload, nestedField, type StagedFile, type UploadForm } from './upload.js'
export { ownerOf, VIRTUAL_KEY_STATE } from './routes.js'
export { s3PlaceOf, bedrockS3Client } from './targets/bedrock.js'
export type { BatchesOptions, BatchKind, BedrockBatchOptions, GeminiBatchOptions, ResolvedBatchOptions } from './batches/options.js'
export { resolveBatchOptions, batchKindOf } from './batches/options.js'
export type { BatchObject, BatchRecord, BatchStatus, RequestCounts } from './batches/record.js'
export { createBatches, type Batches } from './batches/index.js'
export type { BatchService } from './batches/service.js'
export { createGatewayRunner, type GatewayRunner } from './batches/runner.js'
export { toOpenAIFile } from './targets/gemini.js'

/**
 * The OpenAI Files API across providers, on the `/openai` surface (`/openai/files` and
 * `/openai/v1/files`): `POST /files` (multipart; the bytes are stored or forwarded unchanged),
 * `GET /files`, `GET /files/{id}`, `DELETE /files/{id}`, `GET /files/{id}/content`. The
 * provider comes from the `provider` form field (the OpenAI SDK's `extra_body`) or query
 * parameter (`extra_query`); default `openai`.
 *
 * ```json
 * { "plugins": [{ "name": "@switchyard/plugin-files-batch", "config": { "bedrock": { "bucket": "my-batch-bucket" } } }] }
 * ```
 *
 * OpenAI keeps its files itself, Gemini in its file API, Bedrock in S3 (`storage_config.s3`),
 * every other provider in the gateway's blob store (`store`). A file belongs to the virtual key
 * that created it.
 *
 * The Batch API on the same files (`/openai/batches`, `/openai/v1/batches`: create, list,
 * retrieve, cancel): OpenAI's own, Anthropic Message Batches, Bedrock model invocation jobs on S3,
 * Gemini batch mode, and gateway-run batches (stored, leased, run through `dispatch`) for every
 * other provider; results as output and error files in OpenAI's batch output JSONL. Also the
 * batch routes of the `/anthropic` and `/genai` surfaces, forwarded to those providers
 * (`config.batches`: see `BatchesOptions`).
 */
export function createFilesBatchPlugin(input?: unknown) {
  let runtime: FilesRuntime | undefined
  let batches: Batches | undefined
  let started = false
  let failed: unknown
  /** `routes` and `setup` both get the context; whichever runs first builds the services. */
  const init = (context: PluginSetupContext): FilesRuntime | undefined => {
    if (runtime || failed) return runtime
    try {
      const config = input ?? context.options
      const options = resolveFilesOptions(config, context.config)
      const blobs = createBlobStore(options.store, context.storage, '@switchyard/plugin-files-batch config.store')
      const records = createFileRecords(context.storage)
      const service = createFilesService({ blobs, records, send: context.send, config: context.config, options, log: context.log })
      batches = createBatches(context, { service, records, blobs, options }, (config as { batches?: unknown } | undefined)?.batches)
      runtime = { service, blobs, maxFileBytes: options.maxFileBytes }
    } catch (error) {
      failed = error
    }
    return runtime
  }

  return definePlugin({
    name: '@switchyard/plugin-files-batch',
    setup(context) {
      init(context)
      // A bad config stops the start, naming the field.
      if (failed) throw failed
      // Gateway-run batches left open by a previous run (or another instance) resume once the gateway is ready.
      batches?.runner.start()
      started = true
    },
    routes(app, context) {
      init(context)
      registerFileRoutes(app, context, () => runtime, context.log)
      registerBatchRoutes(app, context, () => (started ? batches : undefined), context.log)
      registerNativeBatchRoutes(app, context, () => (started ? batches : undefined), context.log)
    },
    hooks: {},
    async close() {
      await batches?.runner.close()
    },
  })
}

export default createFilesBatchPlugin
