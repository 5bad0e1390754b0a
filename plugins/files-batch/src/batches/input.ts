import { GatewayError } from '@switchyard/core'
import { createBatchInputChecker, type BatchInputRequest } from '../jsonl.js'
import type { FilesService, ResolvedFile } from '../service.js'

/** One request of a batch's input, as the caller wrote it (OpenAI's batch input format). */
export interface BatchInputLine {
  custom_id: string
  /** The endpoint path (`/v1/chat/completions`). */
  url: string
  body: Record<string, unknown>
  /** 1-based line number in the input file. */
  line: number
}

const invalid = (message: string, param = 'input_file_id') => new GatewayError({ status: 400, code: 'invalid_request', type: 'invalid_request_error', param, retryable: false, message })

/**
 * Checks the requests of a batch (from its input file or inline) the way OpenAI does before it
 * accepts a batch: every `url` is the batch's endpoint, none streams, and there are at most
 * `maxRequests`. 400 naming the first line that breaks a rule.
 */
export function checkBatchRequests(lines: readonly BatchInputLine[], endpoint: string, maxRequests: number, source: string): void {
  if (lines.length > maxRequests) throw invalid(`${source} has ${lines.length} requests; a batch takes at most ${maxRequests}`)
  for (const line of lines) {
    if (line.url !== endpoint) throw invalid(`${source}: line ${line.line}: url ${JSON.stringify(line.url)} is not the batch's endpoint ${JSON.stringify(endpoint)}; every request of a batch goes to its endpoint`)
    if (line.body.stream === true) throw invalid(`${source}: line ${line.line}: batch requests cannot stream ("stream": true)`)
  }
}

/**
 * The requests of a batch's input file: resolved for `owner` (another key's file is the same 404 as
 * a missing one), required to belong to the batch's provider and to have `purpose: "batch"`, read
 * once and checked line by line (malformed lines and duplicate `custom_id`s are a 400 naming the
 * line, even for a file uploaded with another purpose, which the upload did not check).
 */
export async function readBatchInput(files: FilesService, fileId: string, provider: string, owner: string, signal: AbortSignal, endpoint: string, maxRequests: number): Promise<BatchInputLine[] & { file?: ResolvedFile }> {
  if (fileId === '') throw invalid("Missing required parameter: 'input_file_id'")
  const file = await files.resolve(fileId, provider, owner, signal)
  if (file.provider !== provider) {
    throw invalid(`input file ${fileId} was uploaded for provider "${file.provider}", not "${provider}": upload the batch's input with provider "${provider}"`)
  }
  const record = files.record(file)
  if (record && record.purpose !== 'batch') throw invalid(`input file ${fileId} has purpose "${record.purpose}"; a batch's input file needs purpose "batch"`)
  const lines: BatchInputLine[] = []
  const checker = createBatchInputChecker((request: BatchInputRequest, line: number) => {
    lines.push({ custom_id: request.custom_id, url: request.url, body: request.body, line })
  })
  const content = await files.content(file)
  const reader = content.body.getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      checker.push(value)
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {})
    throw error
  }
  const report = checker.end()
  if (report.problem) throw invalid(`invalid batch input file ${fileId}: ${report.problem}`)
  checkBatchRequests(lines, endpoint, maxRequests, `input file ${fileId}`)
  return Object.assign(lines, { file })
}
