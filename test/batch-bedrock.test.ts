import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createS3Client, type S3Client } from '@switchyard/plugin-s3-storage'
import { chatLines, createBatch, outputLines, pollBatch, uploadBatchInput } from './support/batch.js'
import { fixtureText } from './support/fixtures.js'
import { startMockBedrockBatches, type MockBedrockBatches } from './support/mock-batch-bedrock.js'
import { startTestS3, type TestS3 } from './support/mock-files-s3.js'
import { startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// The reference page's Bedrock workflow with the OpenAI Node SDK, against a real S3-compatible
// server (s3rver) and a mock of Bedrock's batch inference control plane that reads its input from
// and writes its output to that S3, as the real service does: upload with `storage_config.s3`,
// create with `model` and `output_s3_uri`, poll, download the output in OpenAI's format.

const BUCKET = 'your-s3-bucket'
const REGION = 'us-west-2'
const MODEL = 'anthropic.claude-3-sonnet-20240229-v1:0'
const ROLE = 'arn:aws:iam::123456789012:role/BedrockBatchRole'
let s3: TestS3
let bedrock: MockBedrockBatches
let gateway: FilesGateway
let bucket: S3Client
beforeAll(async () => {
  s3 = await startTestS3([BUCKET])
  bedrock = await startMockBedrockBatches(s3, REGION)
  gateway = await startFilesGateway(
    { providers: { bedrock: { keys: [{ value: JSON.stringify({ ...s3.credentials, region: REGION }) }] } } },
    { bedrock: { endpoint: s3.endpoint }, batches: { bedrock: { endpoint: bedrock.url, role_arn: ROLE } } },
  )
  bucket = createS3Client({ region: REGION, credentials: s3.credentials, endpoint: s3.endpoint })
})
afterAll(async () => {
  await gateway?.close()
  await bedrock?.close()
  await s3?.close()
})
afterEach(() => {
  expect([...bedrock.recordProblems.values()].flat()).toEqual([])
})

const provider = 'bedrock'
const storageConfig = { s3: { bucket: BUCKET, region: REGION, prefix: 'batch-input' } }
const recorded = JSON.parse(fixtureText('anthropic/messages-text.json'))
const text = async (body: ReadableStream<Uint8Array>) => new Response(body).text()

describe('Batch API, provider bedrock (model invocation jobs on S3)', () => {
  it('runs the reference workflow: records written to S3, the job run, its S3 output read back as OpenAI lines', async () => {
    const client = gateway.client()
    const jsonl = chatLines(MODEL, ['What is 2+2?', 'What is the capital of France?'])
    const uploaded = await uploadBatchInput(client, jsonl, provider, { storage_config: storageConfig })
    const batch = await createBatch(client, uploaded.id, { provider, model: MODEL, output_s3_uri: `s3://${BUCKET}/batch-output` })
    expect(batch).toMatchObject({ id: expect.stringMatching(/^batch_sy_/), status: 'validating', model: MODEL, request_counts: { total: 2 } })

    // The job request, signed for `bedrock` in the credentials' region.
    const created = bedrock.requests.find((request) => request.method === 'POST')!
    expect(created.json).toMatchObject({ roleArn: ROLE, modelId: MODEL, outputDataConfig: { s3OutputDataConfig: { s3Uri: `s3://${BUCKET}/batch-output` } }, inputDataConfig: { s3InputDataConfig: { s3InputFormat: 'JSONL' } } })
    // The records beside the input file: Claude's InvokeModel body for each request, in order.
    const inputUri: string = created.json.inputDataConfig.s3InputDataConfig.s3Uri
    expect(inputUri).toMatch(new RegExp(`^s3://${BUCKET}/batch-input/${uploaded.id}/batch-sy-[a-z2-7]{26}\\.records\\.jsonl$`))
    const records = (await text((await bucket.getObject(BUCKET, inputUri.slice(`s3://${BUCKET}/`.length)))!.body)).trim().split('\n').map((line) => JSON.parse(line))
    expect(records).toEqual([
      { recordId: 'CALL0000001', modelInput: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [expect.objectContaining({ role: 'user' })] } },
      { recordId: 'CALL0000002', modelInput: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [expect.objectContaining({ role: 'user' })] } },
    ])

    const { batch: done, seen } = await pollBatch(client, batch.id, provider)
    expect(seen).toEqual(['in_progress', 'completed'])
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 })
    const jobId = [...bedrock.jobs.keys()][0]!
    expect(await bucket.headObject(BUCKET, `batch-output/${jobId}/${inputUri.slice(inputUri.lastIndexOf('/') + 1)}.out`)).toBeDefined()
    const output = await outputLines(client, done.output_file_id, provider)
    expect(output.map((line) => line.custom_id)).toEqual(['req-1', 'req-2'])
    expect(output[1]!.response).toMatchObject({ status_code: 200, body: { object: 'chat.completion', choices: [{ message: { role: 'assistant', content: recorded.content[0].text }, finish_reason: 'stop' }] } })
  })

  it('cancels with StopModelInvocationJob: stopped jobs end cancelled, their requests in the error file', async () => {
    const client = gateway.client()
    const uploaded = await uploadBatchInput(client, chatLines(MODEL, ['one']), provider, { storage_config: storageConfig })
    const batch = await createBatch(client, uploaded.id, { provider, model: MODEL, output_s3_uri: `s3://${BUCKET}/batch-output` })
    expect((await client.batches.cancel(batch.id, { query: { provider } })).status).toBe('cancelling')
    expect(bedrock.requests.at(-1)).toMatchObject({ method: 'POST', path: expect.stringMatching(/\/stop$/) })
    const { batch: done } = await pollBatch(client, batch.id, provider)
    expect(done).toMatchObject({ status: 'cancelled', output_file_id: null, request_counts: { total: 1, completed: 0, failed: 1 } })
    expect((await outputLines(client, done.error_file_id, provider)).map((line) => line.error?.code)).toEqual(['batch_cancelled'])
  })

  it('refuses what a job cannot run with a 400 naming it, starting no job and writing nothing', async () => {
    const client = gateway.client()
    const uploaded = await uploadBatchInput(client, chatLines(MODEL, ['x']), provider, { storage_config: storageConfig })
    const llama = await uploadBatchInput(client, chatLines('meta.llama3-70b-instruct-v1:0', ['x']), provider, { storage_config: storageConfig })
    const jobs = bedrock.jobs.size
    const objects = (await bucket.listObjects(BUCKET)).objects.length
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [uploaded.id, { model: MODEL }, 'needs "output_s3_uri"'],
      [uploaded.id, { model: MODEL, output_s3_uri: 'https://example.com/out' }, 'output_s3_uri must be an s3:// URI'],
      [uploaded.id, { model: MODEL, output_s3_uri: `s3://${BUCKET}/out`, role_arn: 'not-an-arn' }, 'is not an IAM role ARN'],
      [llama.id, { output_s3_uri: `s3://${BUCKET}/out` }, 'translate requests for Claude models'],
      [uploaded.id, { model: 'anthropic.claude-3-haiku-20240307-v1:0', output_s3_uri: `s3://${BUCKET}/out` }, `model "${MODEL}" differs from the batch's model`],
    ]
    for (const [fileId, extra, problem] of cases) {
      const error = await createBatch(client, fileId, { provider, ...extra }).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain(problem)
    }
    expect(bedrock.jobs.size).toBe(jobs)
    expect((await bucket.listObjects(BUCKET)).objects.length).toBe(objects)
  })
})
