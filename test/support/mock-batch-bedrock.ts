import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createS3Client, type S3Client } from '@switchyard/plugin-s3-storage'
import { validateMessagesRequest } from './anthropic-spec.js'
import { fixtureText } from './fixtures.js'
import { closeServer, headersOf, listenLocal, readBody } from './mock-http.js'

/**
 * A stand-in for Amazon Bedrock's batch inference control plane (`bedrock.<region>.amazonaws.com`,
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CreateModelInvocationJob.html):
 * `POST /model-invocation-job`, `GET /model-invocation-job/{jobIdentifier}` (ARN or id),
 * `POST /model-invocation-job/{jobIdentifier}/stop` and `GET /model-invocation-jobs`, with SigV4
 * `Authorization` required for signing name `bedrock`. Like the real service it works on S3 (the
 * s3rver of `mock-files-s3.ts`): when a job completes it reads the input records
 * (`{ recordId, modelInput }` JSONL) from `s3InputDataConfig.s3Uri` and writes
 * `<s3OutputDataConfig.s3Uri>/<job id>/<input file name>.out` (one `{ recordId, modelInput,
 * modelOutput | error }` per record) and `manifest.json.out` (record and token counts).
 *
 * No recording of batch traffic exists in /work/shared/fixtures: the shapes follow the API
 * reference and the user guide's output format. Claude's `modelInput` (its InvokeModel body) is
 * checked with the Messages API rules of `anthropic-spec.ts` plus `anthropic_version:
 * "bedrock-2023-05-31"`; a record that breaks them gets an `error` (code 400) instead of output, as
 * Bedrock reports invalid records. Each `modelOutput` is the recorded Claude message
 * (`anthropic/messages-text.json`: InvokeModel answers Claude in the Messages API's format). A job
 * moves one step per `GET`: `Submitted` -> `InProgress` -> `Completed`; a stop moves it to
 * `Stopping`, and the next `GET` to `Stopped` with nothing written.
 */
export interface MockInvocationJob {
  jobArn: string
  jobName: string
  modelId: string
  roleArn: string
  clientRequestToken?: string
  status: 'Submitted' | 'InProgress' | 'Completed' | 'Stopping' | 'Stopped' | 'Failed'
  message?: string
  submitTime: string
  lastModifiedTime: string
  endTime?: string
  inputDataConfig: { s3InputDataConfig: { s3Uri: string; s3InputFormat?: string } }
  outputDataConfig: { s3OutputDataConfig: { s3Uri: string } }
  timeoutDurationInHours?: number
  jobExpirationTime: string
}

export interface BedrockControlRequest {
  method: string
  path: string
  headers: Record<string, string>
  json: any
}

export interface MockBedrockBatches {
  /** `http://127.0.0.1:<port>`: the plugin option `batches.bedrock.endpoint`. */
  url: string
  jobs: Map<string, MockInvocationJob>
  requests: BedrockControlRequest[]
  /** Problems found in the records of each job (invalid `modelInput`s), by job id. */
  recordProblems: Map<string, string[]>
  close(): Promise<void>
}

const ACCOUNT = '123456789012'
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789'
const newJobId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (byte) => LOWER[byte % LOWER.length]).join('')
const SIGV4 = /^AWS4-HMAC-SHA256 Credential=[A-Z0-9]+\/\d{8}\/([a-z0-9-]+)\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/
const JOB_NAME = /^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$/
const ROLE_ARN = /^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role\/.+$/
const TOKEN = /^[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}$/

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': crypto.randomUUID() })
  response.end(JSON.stringify(body))
}
/** AWS's JSON error: the type in `x-amzn-ErrorType`, the words in `message`. */
function fail(response: ServerResponse, status: number, type: string, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, 'x-amzn-requestid': crypto.randomUUID() })
  response.end(JSON.stringify({ message }))
}

const parseS3 = (uri: string) => {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri)
  return match ? { bucket: match[1]!, key: match[2]!.replace(/\/+$/, '') } : undefined
}

export async function startMockBedrockBatches(s3: { endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } }, region = 'us-west-2'): Promise<MockBedrockBatches> {
  const jobs = new Map<string, MockInvocationJob>()
  const requests: BedrockControlRequest[] = []
  const recordProblems = new Map<string, string[]>()
  const client: S3Client = createS3Client({ region, credentials: s3.credentials, endpoint: s3.endpoint })
  const recordedMessage = JSON.parse(fixtureText('anthropic/messages-text.json'))
  let clock = Date.parse('2026-01-01T00:00:00Z')
  const now = () => new Date((clock += 1000)).toISOString()
  const idOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1)

  /** Runs the job as Bedrock would: reads its records from S3, answers each, writes the output and the manifest. */
  async function run(job: MockInvocationJob): Promise<void> {
    const input = parseS3(job.inputDataConfig.s3InputDataConfig.s3Uri)!
    const output = parseS3(job.outputDataConfig.s3OutputDataConfig.s3Uri)!
    const found = await client.getObject(input.bucket, input.key)
    if (!found) {
      Object.assign(job, { status: 'Failed', message: `The input file ${job.inputDataConfig.s3InputDataConfig.s3Uri} was not found.` })
      return
    }
    const text = await new Response(found.body).text()
    const problems: string[] = []
    const out: string[] = []
    let success = 0
    let errors = 0
    for (const line of text.split('\n')) {
      if (!line.trim()) continue
      const record = JSON.parse(line) as { recordId?: string; modelInput?: Record<string, unknown> }
      const { anthropic_version: version, ...rest } = record.modelInput ?? {}
      const issues = [...(version === 'bedrock-2023-05-31' ? [] : ['anthropic_version must be "bedrock-2023-05-31"']), ...('model' in rest ? ['model: Extra inputs are not permitted'] : []), ...validateMessagesRequest({ ...rest, model: job.modelId })]
      if (issues.length > 0) {
        problems.push(...issues.map((issue) => `${record.recordId}: ${issue}`))
        out.push(JSON.stringify({ recordId: record.recordId, modelInput: record.modelInput, error: { errorCode: 400, errorMessage: `Malformed input request: ${issues.join('; ')}` } }))
        errors++
      } else {
        out.push(JSON.stringify({ recordId: record.recordId, modelInput: record.modelInput, modelOutput: recordedMessage }))
        success++
      }
    }
    recordProblems.set(idOf(job.jobArn), problems)
    const prefix = `${output.key ? `${output.key}/` : ''}${idOf(job.jobArn)}`
    const name = input.key.slice(input.key.lastIndexOf('/') + 1)
    await client.putObject(output.bucket, `${prefix}/${name}.out`, `${out.join('\n')}\n`)
    const manifest = { totalRecordCount: success + errors, processedRecordCount: success + errors, successRecordCount: success, errorRecordCount: errors, inputTokenCount: success * recordedMessage.usage.input_tokens, outputTokenCount: success * recordedMessage.usage.output_tokens }
    await client.putObject(output.bucket, `${prefix}/manifest.json.out`, JSON.stringify(manifest))
    Object.assign(job, { status: 'Completed', endTime: now() })
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://mock')
    const method = request.method ?? 'GET'
    const raw = await readBody(request)
    const json = raw ? JSON.parse(raw) : undefined
    const headers = headersOf(request)
    requests.push({ method, path: url.pathname, headers, json })
    const signature = SIGV4.exec(headers.authorization ?? '')
    if (!signature) return fail(response, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
    if (signature[1] !== region) return fail(response, 403, 'InvalidSignatureException', `Credential should be scoped to a valid region: ${region}.`)

    if (method === 'POST' && url.pathname === '/model-invocation-job') {
      const input = json?.inputDataConfig?.s3InputDataConfig
      const output = json?.outputDataConfig?.s3OutputDataConfig
      if (typeof json?.jobName !== 'string' || !JOB_NAME.test(json.jobName)) return fail(response, 400, 'ValidationException', "1 validation error detected: Value at 'jobName' failed to satisfy constraint")
      if (typeof json.roleArn !== 'string' || !ROLE_ARN.test(json.roleArn)) return fail(response, 400, 'ValidationException', "1 validation error detected: Value at 'roleArn' failed to satisfy constraint")
      if (json.clientRequestToken !== undefined && !TOKEN.test(json.clientRequestToken)) return fail(response, 400, 'ValidationException', "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint")
      if (typeof json.modelId !== 'string' || !json.modelId) return fail(response, 400, 'ValidationException', "1 validation error detected: Value at 'modelId' failed to satisfy constraint")
      if (!input || !parseS3(String(input.s3Uri)) || (input.s3InputFormat !== undefined && input.s3InputFormat !== 'JSONL')) return fail(response, 400, 'ValidationException', 'inputDataConfig.s3InputDataConfig.s3Uri must be an S3 URI')
      if (!output || !parseS3(String(output.s3Uri))) return fail(response, 400, 'ValidationException', 'outputDataConfig.s3OutputDataConfig.s3Uri must be an S3 URI')
      const located = parseS3(input.s3Uri)!
      if (!(await client.headObject(located.bucket, located.key))) return fail(response, 400, 'ValidationException', `The provided S3 input location ${input.s3Uri} does not exist.`)
      const id = newJobId()
      const submitted = now()
      const job: MockInvocationJob = {
        jobArn: `arn:aws:bedrock:${region}:${ACCOUNT}:model-invocation-job/${id}`, jobName: json.jobName, modelId: json.modelId, roleArn: json.roleArn,
        ...(json.clientRequestToken ? { clientRequestToken: json.clientRequestToken } : {}), status: 'Submitted', submitTime: submitted, lastModifiedTime: submitted,
        inputDataConfig: { s3InputDataConfig: { s3Uri: input.s3Uri, s3InputFormat: 'JSONL' } }, outputDataConfig: { s3OutputDataConfig: { s3Uri: output.s3Uri } },
        timeoutDurationInHours: json.timeoutDurationInHours ?? 168, jobExpirationTime: new Date(Date.parse(submitted) + (json.timeoutDurationInHours ?? 168) * 3_600_000).toISOString(),
      }
      jobs.set(id, job)
      return send(response, 200, { jobArn: job.jobArn })
    }
    if (method === 'GET' && url.pathname === '/model-invocation-jobs') {
      return send(response, 200, { invocationJobSummaries: [...jobs.values()].reverse() })
    }
    const match = /^\/model-invocation-job\/([^/]+)(\/stop)?$/.exec(url.pathname)
    if (!match) return fail(response, 404, 'UnknownOperationException', `no route for ${method} ${url.pathname}`)
    const identifier = decodeURIComponent(match[1]!)
    const job = jobs.get(identifier.startsWith('arn:') ? idOf(identifier) : identifier)
    if (!job) return fail(response, 404, 'ResourceNotFoundException', `Could not find model invocation job ${identifier}.`)
    if (method === 'GET' && !match[2]) {
      if (job.status === 'Submitted') Object.assign(job, { status: 'InProgress', lastModifiedTime: now() })
      else if (job.status === 'InProgress') await run(job)
      else if (job.status === 'Stopping') Object.assign(job, { status: 'Stopped', lastModifiedTime: now(), endTime: now() })
      return send(response, 200, job)
    }
    if (method === 'POST' && match[2]) {
      if (job.status !== 'Submitted' && job.status !== 'InProgress') return fail(response, 400, 'ValidationException', `Job ${job.jobArn} cannot be stopped in status ${job.status}.`)
      Object.assign(job, { status: 'Stopping', lastModifiedTime: now() })
      return send(response, 200, {})
    }
    return fail(response, 405, 'UnknownOperationException', `Method ${method} is not allowed here`)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((caught: unknown) => {
      if (!response.headersSent) fail(response, 500, 'InternalServerException', `mock failure: ${(caught as Error).message}`)
      else response.destroy()
    })
  })
  const url = await listenLocal(server)
  return { url, jobs, requests, recordProblems, close: () => closeServer(server) }
}
