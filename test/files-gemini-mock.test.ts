import { GoogleGenAI } from '@google/genai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockGeminiFiles, type MockGeminiFiles } from './support/mock-gemini-files.js'

// The mock upstream for Gemini's file API must speak what the official SDK speaks: the SDK runs
// against it here, so a test of the gateway against the mock is a test against that protocol.
let mock: MockGeminiFiles
let ai: GoogleGenAI
beforeAll(async () => {
  mock = await startMockGeminiFiles()
  ai = new GoogleGenAI({ apiKey: mock.key, httpOptions: { baseUrl: mock.url, apiVersion: 'v1beta' } })
})
afterAll(async () => {
  await mock?.close()
})

describe('mock Gemini file API with @google/genai', () => {
  it('uploads (resumable), gets, lists and deletes files', async () => {
    const content = '{"key":"a","request":{"contents":[{"parts":[{"text":"hi"}]}]}}\n'
    const uploaded = await ai.files.upload({ file: new Blob([content], { type: 'application/jsonl' }), config: { mimeType: 'application/jsonl', displayName: 'batch.jsonl' } })
    expect(uploaded).toMatchObject({ name: expect.stringMatching(/^files\/[a-z0-9]+$/), displayName: 'batch.jsonl', mimeType: 'application/jsonl', sizeBytes: String(content.length), state: 'ACTIVE' })
    expect(new TextDecoder().decode(mock.files.get(uploaded.name!.slice(6))!.content)).toBe(content)
    const start = mock.requests.find((request) => request.headers['x-goog-upload-command'] === 'start')!
    expect(start).toMatchObject({ path: '/upload/v1beta/files', headers: { 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-header-content-length': String(content.length) } })

    expect(await ai.files.get({ name: uploaded.name! })).toMatchObject({ name: uploaded.name, sizeBytes: String(content.length) })
    const second = await ai.files.upload({ file: new Blob(['x'], { type: 'text/plain' }), config: { mimeType: 'text/plain' } })
    const listed: string[] = []
    for await (const file of await ai.files.list({ config: { pageSize: 1 } })) listed.push(file.name!)
    expect(listed.sort()).toEqual([uploaded.name, second.name].sort())

    await ai.files.delete({ name: uploaded.name! })
    await expect(ai.files.get({ name: uploaded.name! })).rejects.toThrow(/permission|not exist/i)
  })

  it('refuses a wrong key the way the API does', async () => {
    const wrong = new GoogleGenAI({ apiKey: 'not-the-key', httpOptions: { baseUrl: mock.url, apiVersion: 'v1beta' } })
    await expect(wrong.files.get({ name: 'files/abc' })).rejects.toThrow(/API key not valid/)
  })
})
