import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

/**
 * Readers for the recorded Google traffic in the shared fixtures folder
 * (`/work/shared/fixtures/google`, described in its README): vercel/ai bodies and `.chunks.txt`
 * stream payloads, pydantic-ai VCR cassettes, js-genai recordings.
 */

type Json = Record<string, any>

export const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/google/${path}`, import.meta.url), 'utf8')
export const json = (path: string) => JSON.parse(fixture(path)) as Json
export const bytes = (text: string) => new TextEncoder().encode(text)

/** Gemini frames each SSE event as `data: <json>\r\n\r\n` (checked against the raw cassettes). */
export const frame = (payloads: readonly string[]) => bytes(payloads.map((line) => `data: ${line}\r\n\r\n`).join(''))

/** `.chunks.txt`: one event payload per line (no framing). */
export const chunksSse = (path: string) => frame(fixture(path).split('\n').filter(Boolean))

/** A VCR.py cassette's interactions. */
export const cassette = (path: string) => (parse(fixture(path)) as { interactions: Array<{ request: Json; response: Json }> }).interactions

/** The raw response body of a cassette interaction (SSE bodies are verbatim under `body.string`). */
export const cassetteBody = (path: string, index = 0) => {
  const response = cassette(path)[index]!.response
  return response.parsed_body !== undefined ? JSON.stringify(response.parsed_body) : String(response.body?.string ?? response.body)
}

/** A js-genai recording's interactions. */
export const recording = (path: string) => json(path).interactions as Array<{ request: Json; response: { statusCode: number; headers: Json; bodySegments: Json[] } }>

/** A recorded stream's events, framed as Gemini sends them. */
export const recordingSse = (path: string, index = 0) => frame(recording(path)[index]!.response.bodySegments.map((segment) => JSON.stringify(segment)))

/** The model name in a recorded Gemini URL (`/v1beta/models/<model>:method`). */
export const modelOfUrl = (url: string) => /models\/([^:]+):/.exec(url)![1]!
