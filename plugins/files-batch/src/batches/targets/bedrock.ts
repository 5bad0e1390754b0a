import { GatewayError, type SendResult, type Warning } from '@switchyard/core'
import { bedrockAuth } from '@switchyard/provider-bedrock'
import { checkBucketName } from '../../s3.js'
import { bedrockS3Client, s3Failure } from '../../targets/bedrock.js'
import { batchModelOf, fromBedrockRecord, toBedrockModelInput } from '../convert.js'
import { readBatchInput } from '../input.js'
import { FINAL_STATUSES, withStatus, type BatchRecord, type BatchStatus } from '../record.js'
import { jsonLinesOf, unansweredLine, type ResultLine } from '../results.js'
import { finishWith, jsonOfSent, newRecord, saveNewRecord, saveRecord, type BatchCall, type BatchEnv, type BatchTarget } from '../target.js'

/** What a Bedrock batch's record keeps to follow and finish its job. */
interface BedrockJob {
  jobArn: string
  /** Region of the buckets and the job. */
  region: string | undefined
  /** Where the job reads its records (`s3://bucket/key`), which the gateway wrote. */
  inputUri: string
  /** Where the job writes (`s3://bucket/prefix`): results at `<prefix>/<job id>/<input file name>.out`. */
  outputUri: string
  /** `custom_id` of each record, by position (`recordId` `CALL0000001` is the first). */
  customIds: string[]
}

const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@\-/]{1,512}$/

/** `s3://bucket/prefix` -> bucket and prefix (no leading or trailing slash), checked. */
function parseS3Uri(uri: string, param: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri)
  if (!match) throw GatewayError.badRequest(`${param} must be an s3:// URI such as "s3://my-bucket/batch-output", got ${JSON.stringify(uri.slice(0, 200))}`, param)
  const bucket = match[1]!
  const prefix = match[2]!.replace(/^\/+|\/+$/g, '')
  try {
    checkBucketName(bucket)
  } catch {
    throw GatewayError.badRequest(`${param}: "${bucket}" is not a valid S3 bucket name`, param)
  }
  if (prefix.split('/').some((segment) => prefix !== '' && (segment === '' || segment === '.' || segment === '..' || !/^[A-Za-z0-9._=+-]+$/.test(segment)))) {
    throw GatewayError.badRequest(`${param}: the prefix "${prefix}" is not usable ("/"-separated segments of letters, digits, ".", "_", "-")`, param)
  }
  return { bucket, prefix }
}

/** `recordId` of the request at `index` (Bedrock's examples: 11 characters, `CALL0000001`). */
export const recordIdOf = (index: number) => `CALL${String(index + 1).padStart(7, '0')}`

/** Bedrock's job statuses (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetModelInvocationJob.html) as OpenAI's, while the job runs. */
const OPEN_STATUS: Record<string, BatchStatus> = { Submitted: 'validating', Validating: 'validating', Scheduled: 'in_progress', InProgress: 'in_progress', Stopping: 'cancelling' }
/** Final job statuses and how the batch ends. */
const END_STATUS: Record<string, 'completed' | 'cancelled' | 'expired' | 'failed'> = { Completed: 'completed', PartiallyCompleted: 'completed', Stopped: 'cancelled', Expired: 'expired', Failed: 'failed' }

/** The job id of an ARN (`arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/abc123` -> `abc123`). */
const jobIdOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1)

/**
 * Bedrock batch inference (model invocation jobs,
 * https://docs.aws.amazon.com/bedrock/latest/userguide/batch-inference.html): the input file's
 * OpenAI chat requests become `{ recordId, modelInput }` records (Claude's InvokeModel body, through
 * the IR) that the gateway writes to S3 beside the input; `CreateModelInvocationJob` reads them and
 * writes its results under `output_s3_uri`, from where the gateway reads them back when the job ends.
 */
export function createBedrockBatchTarget(env: BatchEnv): BatchTarget {
  /** A call to Bedrock's control plane (`bedrock.<region>.amazonaws.com`), signed by the provider like its runtime calls. */
  const control = (call: Pick<BatchCall, 'provider' | 'signal'>, method: string, path: string, body?: unknown): Promise<SendResult> =>
    env.send(call.provider, {
      signal: call.signal,
      build(context) {
        const auth = bedrockAuth(context)
        const base = (env.options.bedrock.endpoint ?? `https://bedrock.${auth.region}.amazonaws.com`).replace(/\/+$/, '')
        const headers: Record<string, string> = { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }
        if (auth.type === 'bearer') headers.authorization = `Bearer ${auth.token}`
        return { url: `${base}${path}`, method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
      },
    })

  const jobOf = (record: BatchRecord) => record.upstream as unknown as BedrockJob

  async function refreshWith(record: BatchRecord, job: Record<string, unknown>, call: BatchCall): Promise<BatchRecord> {
    const status = typeof job.status === 'string' ? job.status : ''
    const end = END_STATUS[status]
    if (!end) {
      const open = OPEN_STATUS[status] ?? 'in_progress'
      const updated = withStatus(record, record.cancel_requested && open === 'in_progress' ? 'cancelling' : open)
      return updated.status === record.status ? updated : saveRecord(env, updated)
    }
    const { region, outputUri, inputUri, customIds } = jobOf(record)
    const model = record.model ?? ''
    if (end === 'failed') {
      const message = typeof job.message === 'string' ? job.message : 'the model invocation job failed'
      return saveRecord(env, withStatus({ ...record, errors: [{ code: 'job_failed', message: `[${call.provider}] ${message}` }], request_counts: { ...record.request_counts, failed: record.request_counts.total } }, 'failed'))
    }
    return finishWith(env, record, end, async function* (): AsyncGenerator<ResultLine> {
      const output = parseS3Uri(outputUri, 'output_s3_uri')
      const inputName = inputUri.slice(inputUri.lastIndexOf('/') + 1)
      const key = `${output.prefix ? `${output.prefix}/` : ''}${jobIdOf(jobOf(record).jobArn)}/${inputName}.out`
      const client = bedrockS3Client({ config: env.config, options: env.filesOptions }, call.provider, region)
      const found = await client.getObject(output.bucket, key, { signal: call.signal }).catch((error: unknown) => {
        throw s3Failure(error)
      })
      const seen = new Set<number>()
      if (found) {
        for await (const value of jsonLinesOf(found.body, call.provider)) {
          const match = typeof value.recordId === 'string' ? /^CALL(\d{7})$/.exec(value.recordId) : null
          const index = match ? Number(match[1]) - 1 : -1
          const customId = customIds[index]
          if (customId === undefined || seen.has(index)) continue
          seen.add(index)
          yield fromBedrockRecord(value, customId, model, call.provider)
        }
      }
      // Records the job did not get to (stopped, expired, partially completed).
      const code = end === 'cancelled' ? 'batch_cancelled' : end === 'expired' ? 'batch_expired' : 'not_processed'
      for (const [index, customId] of customIds.entries()) if (!seen.has(index)) yield unansweredLine(customId, code, `[${call.provider}] the job (${status}) did not process this request`)
    })
  }

  return {
    async create(batch, call) {
      if (batch.endpoint !== '/v1/chat/completions') throw GatewayError.badRequest(`a Bedrock batch runs chat completions: endpoint must be "/v1/chat/completions", got "${batch.endpoint}"`, 'endpoint')
      const roleArn = typeof batch.body.role_arn === 'string' && batch.body.role_arn ? batch.body.role_arn : env.options.bedrock.role_arn
      if (!roleArn) throw GatewayError.badRequest('a Bedrock batch needs the IAM service role Bedrock runs it with: "role_arn" in extra_body, or the plugin option batches.bedrock.role_arn', 'role_arn')
      if (!ROLE_ARN.test(roleArn)) throw GatewayError.badRequest(`role_arn "${roleArn.slice(0, 200)}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`, 'role_arn')
      const outputGiven = batch.body.output_s3_uri ?? env.options.bedrock.output_s3_uri
      if (typeof outputGiven !== 'string' || outputGiven === '') throw GatewayError.badRequest('a Bedrock batch needs "output_s3_uri" (s3://bucket/prefix) in extra_body, or the plugin option batches.bedrock.output_s3_uri', 'output_s3_uri')
      const output = parseS3Uri(outputGiven, 'output_s3_uri')
      const allowed = env.filesOptions.bedrock.allowed_buckets
      if (allowed && !allowed.includes(output.bucket)) {
        throw new GatewayError({ status: 403, code: 'permission', type: 'permission_error', param: 'output_s3_uri', retryable: false, message: `bucket "${output.bucket}" is not one this gateway writes to (bedrock.allowed_buckets)` })
      }
      const lines = await readBatchInput(env.files, batch.input_file_id, call.provider, call.owner, call.signal, batch.endpoint, env.options.maxRequests)
      const location = lines.file ? env.files.record(lines.file)?.location : undefined
      if (location?.type !== 's3') throw GatewayError.badRequest(`input file ${batch.input_file_id} is not in S3: upload it with provider "${call.provider}" and storage_config.s3`, 'input_file_id')
      const model = batchModelOf(lines, call.provider, batch.model)
      const warnings: Warning[] = []
      const records = lines.map((line, index) => JSON.stringify({ recordId: recordIdOf(index), modelInput: toBedrockModelInput(line, model, warnings) }))
      // The records go beside the input file, where the caller's bucket already holds the batch's data.
      const directory = location.key.slice(0, location.key.lastIndexOf('/'))
      const pending = newRecord(batch, call, 'bedrock', { status: 'validating', total: lines.length, model })
      const suffix = pending.id.slice('batch_sy_'.length)
      const inputKey = `${directory}/batch-sy-${suffix}.records.jsonl`
      const client = bedrockS3Client({ config: env.config, options: env.filesOptions }, call.provider, location.region)
      await client.upload(location.bucket, inputKey, `${records.join('\n')}\n`, { contentType: 'application/jsonl', signal: call.signal }).catch((error: unknown) => {
        throw s3Failure(error)
      })
      const inputUri = `s3://${location.bucket}/${inputKey}`
      const outputUri = `s3://${output.bucket}${output.prefix ? `/${output.prefix}` : ''}`
      let created: Record<string, unknown>
      try {
        created = await jsonOfSent(
          await control(call, 'POST', '/model-invocation-job', {
            jobName: `switchyard-batch-${suffix}`,
            roleArn,
            clientRequestToken: `switchyard${suffix}`,
            modelId: model,
            inputDataConfig: { s3InputDataConfig: { s3Uri: inputUri, s3InputFormat: 'JSONL' } },
            outputDataConfig: { s3OutputDataConfig: { s3Uri: outputUri } },
            timeoutDurationInHours: 24,
          }),
        )
      } catch (error) {
        // Nothing of a refused batch is kept.
        await client.deleteObject(location.bucket, inputKey).catch(() => {})
        throw error
      }
      const jobArn = created.jobArn
      if (typeof jobArn !== 'string' || !/^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:model-invocation-job\/[a-z0-9]{1,64}$/.test(jobArn)) {
        throw new GatewayError({ status: 502, code: 'upstream', provider: call.provider, message: `[${call.provider}] CreateModelInvocationJob answered without a job ARN` })
      }
      const job: BedrockJob = { jobArn, region: location.region, inputUri, outputUri, customIds: lines.map((line) => line.custom_id) }
      const record = { ...pending, upstream_id: jobIdOf(jobArn), upstream: job as unknown as Record<string, unknown> }
      await saveNewRecord(env, record)
      return { record, warnings }
    },
    async refresh(record, call) {
      if (FINAL_STATUSES.has(record.status)) return record
      return refreshWith(record, await jsonOfSent(await control(call, 'GET', `/model-invocation-job/${encodeURIComponent(jobOf(record).jobArn)}`)), call)
    },
    async cancel(record, call) {
      if (FINAL_STATUSES.has(record.status)) return record
      const stopped = await control(call, 'POST', `/model-invocation-job/${encodeURIComponent(jobOf(record).jobArn)}/stop`)
      await stopped.response.arrayBuffer().catch(() => undefined)
      stopped.settle()
      const saved = await saveRecord(env, withStatus({ ...record, cancel_requested: true }, 'cancelling'))
      return saved
    },
  }
}
