import OpenAI, { toFile } from 'openai'

/**
 * Helpers of the Batch API tests: the reference page's workflow steps with the OpenAI Node SDK
 * (upload with `purpose: "batch"`, create, poll `retrieve` until the batch is final, download the
 * output), and readers for OpenAI's batch output lines.
 */

/** The statuses the reference's poll loop stops at. */
export const FINAL = ['completed', 'failed', 'expired', 'cancelled']

/** Pause between two polls (the reference waits 5 s; the mocks answer at once). */
export const POLL_MS = 20

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** One line of OpenAI's batch output or error file. */
export interface OutputLine {
  id: string
  custom_id: string
  response: { status_code: number; request_id: string | null; body: any } | null
  error: { code: string; message: string } | null
}

/** Uploads `jsonl` as a batch input file for `provider` (`extra` joins the form: `storage_config` ...). */
export async function uploadBatchInput(client: OpenAI, jsonl: string, provider: string, extra: Record<string, unknown> = {}, filename = 'batch_e2e.jsonl'): Promise<OpenAI.FileObject> {
  return client.files.create({ file: await toFile(Buffer.from(jsonl), filename, { type: 'application/jsonl' }), purpose: 'batch', provider, ...extra } as OpenAI.FileCreateParams)
}

/** Creates a batch as the reference does (`extra_body` fields go in the body with the Node SDK). */
export async function createBatch(client: OpenAI, inputFileId: string, extra: Record<string, unknown>): Promise<OpenAI.Batch> {
  return client.batches.create({ input_file_id: inputFileId, endpoint: '/v1/chat/completions', completion_window: '24h', ...extra } as OpenAI.BatchCreateParams)
}

/**
 * The reference's poll loop: `retrieve` with `extra_query` until the status is final. Every status
 * seen is returned in order (no timing: the loop is bounded by a count, a hang guard).
 */
export async function pollBatch(client: OpenAI, id: string, provider: string, limit = 2_000): Promise<{ batch: OpenAI.Batch; seen: string[] }> {
  const seen: string[] = []
  for (let poll = 0; poll < limit; poll++) {
    const batch = await client.batches.retrieve(id, { query: { provider } })
    if (seen.at(-1) !== batch.status) seen.push(batch.status)
    if (FINAL.includes(batch.status)) return { batch, seen }
    await pause(POLL_MS)
  }
  throw new Error(`batch ${id} did not finish within ${limit} polls (statuses: ${seen.join(', ')})`)
}

/** The lines of a batch output or error file, downloaded with `files.content`. */
export async function outputLines(client: OpenAI, fileId: string | null | undefined, provider: string): Promise<OutputLine[]> {
  if (!fileId) return []
  const text = await (await client.files.content(fileId, { query: { provider } })).text()
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as OutputLine)
}

/** OpenAI-style batch input lines (`{ custom_id, method, url, body }`), one per prompt. */
export function chatLines(model: string, prompts: readonly string[], customId = (index: number) => `req-${index + 1}`): string {
  return prompts.map((content, index) => JSON.stringify({ custom_id: customId(index), method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content }], max_tokens: 100 } })).join('\n')
}
