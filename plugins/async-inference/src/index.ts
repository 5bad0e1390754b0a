import { definePlugin, type PluginSetupContext } from '@switchyard/core'
import { ASYNC_HEADER, ASYNC_ID_HEADER } from './job.js'
import { resolveOptions } from './options.js'
import { registerCapture, registerNativeRoutes, type NativeDeps } from './routes.js'
import { createAsyncService } from './service.js'
import { createJobStore } from './store.js'
import { createJobWorker } from './worker.js'

export type { AsyncInferenceOptions, ResolvedAsyncOptions } from './options.js'
export { resolveOptions, DEFAULT_RESULT_TTL_SECONDS } from './options.js'
export { ASYNC_HEADER, ASYNC_ID_HEADER, ASYNC_TTL_HEADER, ASYNC_STATUS_HEADER, createJobId, isJobId, mayRead } from './job.js'
export type { JobStatus, JobOwner, JobRecord, JobResult, JobState, JobSummary } from './job.js'
export { createJobStore, type JobStore } from './store.js'
export { createJobWorker, type JobWorker } from './worker.js'
export { VIRTUAL_KEY_STATE } from './service.js'

/**
 * Async inference for Switchyard (the reference docs' `x-bf-async` headers).
 *
 * ```json
 * { "plugins": [{ "name": "@switchyard/plugin-async-inference", "config": { "concurrency": 8 } }] }
 * ```
 *
 * A chat completion, Responses API or Anthropic messages request with `x-bf-async: true` is stored
 * as a job and answered at once with the dialect's pending object (its `id` is the job id); the
 * same request with `x-bf-async-id: <id>` polls it and gets the normal answer once the job is done.
 * `POST/GET/DELETE /v1/async/...` are the native endpoints. Jobs live in the gateway's storage and
 * are claimed through its atomic store, so they survive a crash and run once across instances
 * (docs/async-inference.md).
 *
 * Place it after the plugins that authenticate callers (governance): its `beforeUpstream` runs
 * after every `onRequest`, and the job belongs to the virtual key they identified.
 */
export function createAsyncInferencePlugin(input?: unknown) {
  const options = resolveOptions(input)
  let native: NativeDeps | undefined

  /** `routes` and `setup` both get the gateway's context; whichever runs first builds the parts. */
  const init = (context: PluginSetupContext) => {
    if (native) return native
    const store = createJobStore(context.storage, options.keyPrefix)
    const worker = createJobWorker({ store, atomic: context.atomic, dispatch: context.dispatch, log: context.log, options })
    const service = createAsyncService({ store, worker, options })
    return (native = { service, store, worker, dispatch: context.dispatch })
  }
  let started = false

  return definePlugin({
    name: '@switchyard/plugin-async-inference',
    routes(app, context) {
      const maxBodyBytes = context.config.client.max_request_body_size_mb * 1024 * 1024
      init(context)
      registerCapture(app, () => native?.service.captured, maxBodyBytes)
      registerNativeRoutes(app, () => (started ? native : undefined))
    },
    setup(context) {
      init(context).worker.start()
      started = true
    },
    hooks: {
      beforeUpstream(ctx) {
        // Two header lookups for every other request, and no promise.
        if (!native || (!ctx.headers.has(ASYNC_HEADER) && !ctx.headers.has(ASYNC_ID_HEADER))) return undefined
        return native.service.beforeUpstream(ctx)
      },
    },
    async close() {
      await native?.worker.close()
    },
  })
}

export default createAsyncInferencePlugin
