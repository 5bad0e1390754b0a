import OpenAI, { toFile } from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startMockOpenAIFiles, type MockOpenAIFiles } from './support/mock-files-openai.js'
import { batchJsonl, openAIErrorOf, startFilesGateway, type FilesGateway } from './support/mock-files-harness.js'

// Bad input to the Files API: each is a 4xx in OpenAI's shape that names the problem, and
// nothing is written anywhere: not at the provider, not in the gateway's blob store, no record.

let mock: MockOpenAIFiles
let gateway: FilesGateway
beforeAll(async () => {
  mock = await startMockOpenAIFiles()
  gateway = await startFilesGateway(
    {
      providers: {
        openai: { keys: [{ value: mock.key }], network_config: { base_url: `${mock.url}/v1` } },
        anthropic: { keys: [{ value: 'sk-ant-test' }], network_config: { base_url: 'http://127.0.0.1:9' } },
        gemini: { keys: [{ value: 'g-key' }], network_config: { base_url: 'http://127.0.0.1:9/v1beta' } },
      },
    },
    { max_file_size_mb: 1 },
  )
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

/** Nothing of the refused request is stored, at the provider or in the gateway. */
async function expectNothingWritten(): Promise<void> {
  expect(mock.files.size).toBe(0)
  expect(mock.requests.filter((request) => request.method !== 'GET')).toEqual([])
  expect(await gateway.storage.getKeys('blobs')).toEqual([])
  expect(await gateway.storage.getKeys('files-batch')).toEqual([])
}
afterEach(() => {
  mock.requests.length = 0
})

async function refused(promise: Promise<unknown>, status: number): Promise<string> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to be refused')
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(OpenAI.APIError)
  expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(status)
  const body = (error as InstanceType<typeof OpenAI.APIError>).error as { message: string; type: string }
  expect(body).toMatchObject({ message: expect.any(String), type: expect.any(String) })
  return body.message
}

const upload = async (content: string | Buffer, provider = 'openai', purpose = 'batch', client = gateway.client()) =>
  client.files.create({ file: await toFile(Buffer.from(content), 'input.jsonl', { type: 'application/jsonl' }), purpose, provider } as OpenAI.FileCreateParams)

describe('Files API: bad batch input (purpose "batch")', () => {
  it.each(['openai', 'anthropic'])('refuses a malformed JSONL line, naming it (%s)', async (provider) => {
    const lines = batchJsonl('gpt-4o-mini').split('\n')
    const message = await refused(upload(`${lines[0]}\n{"custom_id": "req-2", "method": "POST",\n${lines[1]}`, provider), 400)
    expect(message).toMatch(/^invalid batch input file "input\.jsonl": line 2: not valid JSON/)
    await expectNothingWritten()
  })

  it.each(['openai', 'anthropic'])('refuses a duplicate custom_id, naming both lines (%s)', async (provider) => {
    const line = batchJsonl('gpt-4o-mini').split('\n')[0]!
    const message = await refused(upload(`${line}\n\n${line}\n`, provider), 400)
    expect(message).toContain('line 3: custom_id "req-1" is used twice (first on line 1)')
    await expectNothingWritten()
  })

  it('refuses lines that are not batch requests, and a file without any', async () => {
    const cases: Array<[string, string]> = [
      ['{"method":"POST","url":"/v1/chat/completions","body":{}}', 'line 1: has no custom_id'],
      ['{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{}}', 'line 1: method must be "POST"'],
      ['{"custom_id":"a","method":"POST","url":"/v1/chat/completions"}', 'line 1: body must be a JSON object'],
      ['[1,2]', 'line 1: is not a JSON object'],
      ['\n\n', 'the file has no requests'],
    ]
    for (const [content, problem] of cases) {
      expect(await refused(upload(content, 'anthropic'), 400)).toContain(problem)
    }
    await expectNothingWritten()
  })

  it('accepts any bytes for other purposes', async () => {
    const created = await upload(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]).toString('latin1'), 'anthropic', 'user_data')
    expect(created.purpose).toBe('user_data')
    await gateway.client().files.delete(created.id)
  })
})

describe('Files API: size limit (max_file_size_mb: 1)', () => {
  it('refuses a larger upload with 413 before anything is kept', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 'a')
    for (const provider of ['openai', 'anthropic']) {
      expect(await refused(upload(big.toString(), provider, 'user_data'), 413)).toContain('larger than the 1 MiB limit')
    }
    await expectNothingWritten()
  })

  it('cuts off a streamed upload of unannounced size at the limit, keeping nothing', async () => {
    const boundary = 'switchyardtestboundary'
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n--${boundary}\r\nContent-Disposition: form-data; name="provider"\r\n\r\nanthropic\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode(head))
        if (sent >= 3 * 1024 * 1024) {
          controller.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`))
          return controller.close()
        }
        controller.enqueue(new Uint8Array(64 * 1024).fill(98))
        sent += 64 * 1024
      },
    })
    const response = await fetch(`${gateway.url}/openai/files`, { method: 'POST', headers: { authorization: 'Bearer caller-key', 'content-type': `multipart/form-data; boundary=${boundary}` }, body, duplex: 'half' } as RequestInit)
    expect(response.status).toBe(413)
    expect((await openAIErrorOf(response)).message).toContain('larger than the 1 MiB limit')
    await expectNothingWritten()
  })
})

describe('Files API: ids', () => {
  it("answers 404 for another virtual key's file, exactly as for a file that does not exist", async () => {
    const created = await upload(batchJsonl('claude-3-haiku'), 'anthropic', 'batch', gateway.client('sk-bf-alice'))
    const theirs = await fetch(`${gateway.url}/openai/files/${created.id}?provider=anthropic`, { headers: { authorization: 'Bearer sk-bf-bob' } })
    const missing = await fetch(`${gateway.url}/openai/files/file-sy-aaaaaaaaaaaaaaaaaaaaaaaaaa?provider=anthropic`, { headers: { authorization: 'Bearer sk-bf-bob' } })
    expect(theirs.status).toBe(404)
    expect(missing.status).toBe(404)
    expect(await openAIErrorOf(theirs)).toEqual({ message: `No such File object: ${created.id}`, type: 'invalid_request_error', param: 'file_id', code: null })
    expect((await openAIErrorOf(missing)).message).toBe('No such File object: file-sy-aaaaaaaaaaaaaaaaaaaaaaaaaa')
    await gateway.client('sk-bf-alice').files.delete(created.id)
  })

  it('refuses path-traversal and other non-ids with 400 naming them, before any storage or upstream', async () => {
    const attempts = [
      ['GET', '/openai/files/..%2F..%2Fetc%2Fpasswd?provider=anthropic'],
      ['GET', '/openai/v1/files/..%2Fblobs%2Fmeta/content?provider=openai'],
      ['DELETE', '/openai/files/file-abc%2F..%2F..%2Fv1%2Fmodels?provider=openai'],
      ['GET', '/openai/files/files%2F..%2F..%2Fmodels?provider=gemini'],
      ['GET', '/openai/files/a%00b?provider=anthropic'],
      ['GET', '/openai/files/%20file-sy-x?provider=bedrock'],
    ] as const
    for (const [method, path] of attempts) {
      const response = await fetch(`${gateway.url}${path}`, { method, headers: { authorization: 'Bearer caller-key' } })
      expect(response.status, path).toBe(400)
      const error = await openAIErrorOf(response)
      expect(error.message, path).toMatch(/^invalid file id ".*": file ids are letters, digits/)
      expect(error.param).toBe('file_id')
    }
    expect(mock.requests).toEqual([])
    await expectNothingWritten()
  })
})

describe('Files API: malformed requests', () => {
  const post = (body: BodyInit, contentType?: string) => fetch(`${gateway.url}/openai/files`, { method: 'POST', headers: { authorization: 'Bearer caller-key', ...(contentType ? { 'content-type': contentType } : {}) }, body })

  it('names each problem', async () => {
    const form = (fields: Record<string, string>, file = true) => {
      const data = new FormData()
      for (const [name, value] of Object.entries(fields)) data.append(name, value)
      if (file) data.append('file', new Blob([batchJsonl('m')]), 'a.jsonl')
      return data
    }
    const cases: Array<[Promise<Response>, number, string]> = [
      [post(form({ purpose: 'batch', provider: 'nope' })), 400, 'unknown provider "nope" for files'],
      [post(form({ provider: 'openai' })), 400, "Missing required parameter: 'purpose'"],
      [post(form({ purpose: 'lunch' })), 400, "Invalid 'purpose'"],
      [post(form({ purpose: 'batch' }, false)), 400, "Missing required parameter: 'file'"],
      [post(JSON.stringify({ purpose: 'batch' }), 'application/json'), 400, 'expected a multipart/form-data body'],
      [post('--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch', 'multipart/form-data; boundary=b'), 400, 'malformed multipart/form-data body'],
      [post(form({ purpose: 'batch', storage_config: '{not json', provider: 'anthropic' })), 400, 'storage_config must be a JSON object'],
      [post(form({ purpose: 'batch', provider: 'anthropic', 'storage_config[s3][__proto__]': 'x' })), 400, 'malformed form field "storage_config[s3][__proto__]"'],
      [post(form({ purpose: 'batch', provider: 'anthropic', 'expires_after[anchor]': 'created_at', 'expires_after[seconds]': '60' })), 400, 'expires_after[seconds] must be an integer from 3600 to 2592000'],
    ]
    for (const [request, status, message] of cases) {
      const response = await request
      expect(response.status, message).toBe(status)
      expect((await openAIErrorOf(response)).message, message).toContain(message)
    }
    const twoFiles = new FormData()
    twoFiles.append('purpose', 'user_data')
    twoFiles.append('file', new Blob(['a']), 'a.txt')
    twoFiles.append('file', new Blob(['b']), 'b.txt')
    const response = await post(twoFiles)
    expect(response.status).toBe(400)
    expect((await openAIErrorOf(response)).message).toBe('only one file per upload')
    await expectNothingWritten()
  })

  it('checks list parameters', async () => {
    for (const [query, message] of [
      ['limit=0', "Invalid 'limit'"],
      ['limit=abc', "Invalid 'limit'"],
      ['order=sideways', "Invalid 'order'"],
    ]) {
      const response = await fetch(`${gateway.url}/openai/files?provider=anthropic&${query}`, { headers: { authorization: 'Bearer caller-key' } })
      expect(response.status).toBe(400)
      expect((await openAIErrorOf(response)).message).toContain(message)
    }
  })
})
