import OpenAI from 'openai'
import { expect } from 'vitest'
import { createS3Client } from '@switchyard/plugin-s3-storage'
import { chatLines, createBatch, outputLines, pollBatch, uploadBatchInput } from './batch.js'
import { HELLO, type Evidence, type Proof, type ProofContext } from './capabilities-proofs.js'
import { fixtureText } from './fixtures.js'
import { startMockAnthropicBatches } from './mock-batch-anthropic.js'
import { startMockBedrockBatches } from './mock-batch-bedrock.js'
import { startMockGeminiBatches } from './mock-batch-gemini.js'
import { startMockOpenAIBatches } from './mock-batch-openai.js'
import { startFilesGateway, type FilesGateway } from './mock-files-harness.js'
import { startTestS3 } from './mock-files-s3.js'

/**
 * The `files` and `batch` proofs of the capability table, with the OpenAI SDK and the reference
 * page's calls (`files.create` with `purpose: "batch"`, `batches.create`, polling `retrieve`,
 * `files.content` of the output):
 * - providers with a batch API of their own (OpenAI, Anthropic's Message Batches, Gemini's batch
 *   mode, Bedrock's model invocation jobs on S3) run against the spec-following mocks of
 *   `mock-batch-*.ts` (no recording of batch traffic exists: evidence `spec`), each in a gateway of
 *   its own with the files plugin;
 * - every other provider gets a gateway-run batch on the capability gateway: its requests go
 *   through the gateway's routing to the provider's recorded answers, and the output line must hold
 *   what the same request answers directly (evidence: that of the provider's chat); its files are
 *   kept by the gateway (`in-process`).
 */

const line = (model: string) => JSON.stringify({ custom_id: 'capability', method: 'POST', url: '/v1/chat/completions', body: { model, messages: HELLO } })

/** Upload, retrieve, download and delete through the Files API, for `provider`. */
async function filesRoundTrip(client: OpenAI, provider: string, extra: Record<string, unknown> = {}): Promise<void> {
  const content = line('capability-model')
  const file = await uploadBatchInput(client, content, provider, extra)
  const query = { provider }
  expect(await client.files.retrieve(file.id, { query })).toMatchObject({ id: file.id, purpose: 'batch', bytes: Buffer.byteLength(content) })
  expect(await (await client.files.content(file.id, { query })).text()).toBe(content)
  expect((await client.files.list(query as OpenAI.FileListParams)).data.map((item) => item.id)).toContain(file.id)
  expect(await client.files.delete(file.id, { query })).toEqual({ id: file.id, object: 'file', deleted: true })
}

/** Files the gateway keeps itself (its blob store): no upstream is involved. */
export function gatewayFilesProof(provider: string): Proof {
  return { evidence: 'in-process', run: (context) => filesRoundTrip(context.openai, provider) }
}

/** A gateway-run batch of one request to `provider`'s `model`: its output line holds the provider's answer to that request. */
export function gatewayBatchProof(provider: string, model: string, evidence: Evidence): Proof {
  return {
    evidence,
    async run(context: ProofContext) {
      const client = context.openai
      const file = await uploadBatchInput(client, line(model), provider)
      const { batch } = await pollBatch(client, (await createBatch(client, file.id, { provider })).id, provider)
      expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 1, completed: 1, failed: 0 } })
      const [output] = await outputLines(client, batch.output_file_id, provider)
      const direct = await client.chat.completions.create({ model: `${provider}/${model}`, messages: HELLO })
      const message = direct.choices[0]!.message
      expect((message.content ?? '').length + (message.tool_calls ?? []).length).toBeGreaterThan(0)
      expect(output).toMatchObject({ custom_id: 'capability', response: { status_code: 200, body: { object: 'chat.completion' } } })
      expect(output!.response!.body.choices).toEqual(direct.choices)
    },
  }
}

/** Runs `work` with a gateway (the files plugin loaded) for `providers`, closing both after. */
async function withGateway(providers: Record<string, unknown>, options: Record<string, unknown>, work: (gateway: FilesGateway) => Promise<void>): Promise<void> {
  const gateway = await startFilesGateway({ providers }, options)
  try {
    await work(gateway)
  } finally {
    await gateway.close()
  }
}

const spec = (run: () => Promise<void>): Proof => ({ evidence: 'spec', run })

/** The reference workflow against a provider's own batch API: two requests, polled to `completed`, both answered with `text`. */
async function referenceBatch(client: OpenAI, provider: string, model: string, text: string, upload: Record<string, unknown>, create: Record<string, unknown>): Promise<void> {
  const file = await uploadBatchInput(client, chatLines(model, ['What is 2+2?', 'What is the capital of France?']), provider, upload)
  const { batch } = await pollBatch(client, (await createBatch(client, file.id, { provider, ...create })).id, provider)
  expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 2, failed: 0 } })
  const output = await outputLines(client, batch.output_file_id, provider)
  expect(output.map((item) => [item.custom_id, item.response?.body.choices[0].message.content])).toEqual([['req-1', text], ['req-2', text]])
}

/** `files` and `batch` of the providers whose own batch APIs the gateway speaks. */
export const NATIVE_FILES_AND_BATCH: Record<'openai' | 'anthropic' | 'gemini' | 'bedrock', { files: Proof; batch: Proof }> = {
  openai: {
    files: spec(async () => {
      const mock = await startMockOpenAIBatches()
      await withGateway({ openai: { keys: [{ value: mock.key }], network_config: { base_url: `${mock.url}/v1` } } }, {}, (gateway) => filesRoundTrip(gateway.client(), 'openai')).finally(() => mock.close())
    }),
    batch: spec(async () => {
      const mock = await startMockOpenAIBatches()
      const text = JSON.parse(fixtureText('openai/chat-text.json')).choices[0].message.content
      await withGateway({ openai: { keys: [{ value: mock.key }], network_config: { base_url: `${mock.url}/v1` } } }, {}, (gateway) => referenceBatch(gateway.client(), 'openai', 'gpt-4o-mini', text, {}, {})).finally(() => mock.close())
    }),
  },
  anthropic: {
    files: gatewayFilesProof('anthropic'),
    batch: spec(async () => {
      const mock = await startMockAnthropicBatches()
      const text = JSON.parse(fixtureText('anthropic/messages-text.json')).content[0].text
      await withGateway({ anthropic: { keys: [{ value: mock.key }], network_config: { base_url: `${mock.url}/v1` } } }, {}, (gateway) => referenceBatch(gateway.client(), 'anthropic', 'claude-3-sonnet-20240229', text, {}, {})).finally(() => mock.close())
    }),
  },
  gemini: {
    files: spec(async () => {
      const mock = await startMockGeminiBatches()
      await withGateway({ gemini: { keys: [{ value: mock.key }], network_config: { base_url: mock.baseURL } } }, {}, (gateway) => filesRoundTrip(gateway.client(), 'gemini')).finally(() => mock.close())
    }),
    batch: spec(async () => {
      const mock = await startMockGeminiBatches()
      const text = JSON.parse(fixtureText('google/generate-content-text.json')).candidates[0].content.parts[0].text
      await withGateway({ gemini: { keys: [{ value: mock.key }], network_config: { base_url: mock.baseURL } } }, {}, (gateway) => referenceBatch(gateway.client(), 'gemini', 'gemini-1.5-flash', text, {}, { model: 'gemini-1.5-flash' })).finally(() => mock.close())
    }),
  },
  bedrock: {
    files: spec(async () => {
      const s3 = await startTestS3(['capability-bucket'])
      const providers = { bedrock: { keys: [{ value: JSON.stringify({ ...s3.credentials, region: 'us-west-2' }) }] } }
      await withGateway(providers, { bedrock: { endpoint: s3.endpoint } }, async (gateway) => {
        await filesRoundTrip(gateway.client(), 'bedrock', { storage_config: { s3: { bucket: 'capability-bucket', prefix: 'in' } } })
        expect((await createS3Client({ region: 'us-west-2', credentials: s3.credentials, endpoint: s3.endpoint }).listObjects('capability-bucket')).objects).toEqual([])
      }).finally(() => s3.close())
    }),
    batch: spec(async () => {
      const s3 = await startTestS3(['capability-bucket'])
      const control = await startMockBedrockBatches(s3)
      const providers = { bedrock: { keys: [{ value: JSON.stringify({ ...s3.credentials, region: 'us-west-2' }) }] } }
      const options = { bedrock: { endpoint: s3.endpoint }, batches: { bedrock: { endpoint: control.url, role_arn: 'arn:aws:iam::123456789012:role/Batch' } } }
      const model = 'anthropic.claude-3-sonnet-20240229-v1:0'
      const text = JSON.parse(fixtureText('anthropic/messages-text.json')).content[0].text
      await withGateway(providers, options, (gateway) =>
        referenceBatch(gateway.client(), 'bedrock', model, text, { storage_config: { s3: { bucket: 'capability-bucket', prefix: 'in' } } }, { model, output_s3_uri: 's3://capability-bucket/out' }),
      ).finally(async () => {
        await control.close()
        await s3.close()
      })
    }),
  },
}
