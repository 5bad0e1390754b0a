import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchGateway, type LaunchedGateway } from './support/gateway.js'
import { batchJsonl } from './support/mock-files-harness.js'

// The Files API behind the real governance plugin (virtual keys from the config's `governance`
// block), both plugins loaded by package name as a user's gateway loads them: the files calls
// run governance's `onRequest`, and a file belongs to the virtual key that uploaded it.

const KEYS = { alice: 'sk-bf-files-alice-0000000001', bob: 'sk-bf-files-bob-00000000001', off: 'sk-bf-files-off-00000000001' }
const providerConfigs = [{ provider: 'anthropic', allowed_models: ['claude-sonnet-4-5'], weight: 1 }]

let gateway: LaunchedGateway
const client = (apiKey: string) => new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey, maxRetries: 0 })
const upload = async (apiKey: string) =>
  client(apiKey).files.create({ file: await toFile(Buffer.from(batchJsonl('claude-sonnet-4-5')), 'requests.jsonl', { type: 'application/jsonl' }), purpose: 'batch', provider: 'anthropic' } as OpenAI.FileCreateParams)

beforeAll(async () => {
  gateway = await launchGateway({
    providers: { anthropic: { keys: [{ value: 'sk-ant-upstream', models: [], weight: 1 }], network_config: { base_url: 'http://127.0.0.1:9' } } },
    plugins: [{ name: '@switchyard/plugin-files-batch' }],
    governance: {
      virtual_keys: [
        { id: 'vk-alice', name: 'alice', value: KEYS.alice, provider_configs: providerConfigs },
        { id: 'vk-bob', name: 'bob', value: KEYS.bob, provider_configs: providerConfigs },
        { id: 'vk-off', name: 'off', value: KEYS.off, is_active: false, provider_configs: providerConfigs },
      ],
    },
  })
})
afterAll(async () => {
  await gateway?.close()
})

describe('Files API with governance', () => {
  it("gives each virtual key its own files: another key's are a 404 and absent from its list", async () => {
    const created = await upload(KEYS.alice)
    const query = { provider: 'anthropic' }
    expect((await client(KEYS.alice).files.retrieve(created.id, { query })).id).toBe(created.id)
    expect((await client(KEYS.alice).files.list(query as OpenAI.FileListParams)).data.map((file) => file.id)).toEqual([created.id])
    await expect(client(KEYS.bob).files.retrieve(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client(KEYS.bob).files.content(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(client(KEYS.bob).files.delete(created.id, { query })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    expect((await client(KEYS.bob).files.list(query as OpenAI.FileListParams)).data).toEqual([])
    expect(await (await client(KEYS.alice).files.content(created.id, { query })).text()).toBe(batchJsonl('claude-sonnet-4-5'))
  })

  it("refuses unknown and inactive virtual keys with governance's 401, in OpenAI's shape, before anything is stored", async () => {
    for (const key of ['sk-bf-files-nobody-000000001', KEYS.off]) {
      const error = await upload(key).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
      expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ message: expect.stringMatching(/virtual key/), type: expect.any(String) })
      await expect(client(key).files.list({ provider: 'anthropic' } as OpenAI.FileListParams)).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    }
    expect((await client(KEYS.bob).files.list({ provider: 'anthropic' } as OpenAI.FileListParams)).data).toEqual([])
  })
})
