import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

/**
 * Readers for the recorded wire data in /work/shared/fixtures (see its README for how each
 * file kind maps to wire bytes). Everything is read synchronously and cached: the files are
 * small and immutable.
 */

const FIXTURES = new URL('../../../shared/fixtures/', import.meta.url)
const cache = new Map<string, unknown>()

function cached<T>(key: string, load: () => T): T {
  if (!cache.has(key)) cache.set(key, load())
  return cache.get(key) as T
}

/** Exact text of a fixture file, e.g. `openai/chat-text.json`. */
export function fixtureText(name: string): string {
  return cached(`text:${name}`, () => readFileSync(new URL(name, FIXTURES), 'utf8'))
}

/** The payload lines of a `.chunks.txt` file (empty lines skipped, as the README says). */
export function chunkLines(name: string): string[] {
  return cached(`lines:${name}`, () => fixtureText(name).split('\n').filter((line) => line.length > 0))
}

/** `data: <line>\n\n` per line, then `data: [DONE]\n\n` (Chat Completions, Completions). */
export function frameDataEvents(lines: readonly string[]): string[] {
  return [...lines.map((line) => `data: ${line}\n\n`), 'data: [DONE]\n\n']
}

/** `event: <type>\ndata: <line>\n\n` per line, nothing after (Responses API). */
export function frameTypedEvents(lines: readonly string[]): string[] {
  return lines.map((line) => `event: ${(JSON.parse(line) as { type: string }).type}\ndata: ${line}\n\n`)
}

/** Splits a raw SSE body into its events, each with its trailing blank line; joining them gives the body back. */
export function splitSseEvents(raw: string): string[] {
  const events: string[] = []
  let start = 0
  for (let end = raw.indexOf('\n\n', start); end !== -1; end = raw.indexOf('\n\n', start)) {
    events.push(raw.slice(start, end + 2))
    start = end + 2
  }
  if (start < raw.length) events.push(raw.slice(start))
  return events
}

/** One recorded exchange, the same shape for go-vcr (version 2) and VCR.py (version 1) cassettes. */
export interface Interaction {
  request: { method: string; url: string; body: unknown }
  response: {
    status: number
    /** Recorded response headers, lower-case names, first value only. */
    headers: Record<string, string>
    /** The body as it goes on the wire (verbatim where the cassette kept it verbatim). */
    body: string
  }
}

type HeaderMap = Record<string, Array<string | number> | string | number> | undefined

function firstValues(headers: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value
    if (first !== undefined) out[name.toLowerCase()] = String(first)
  }
  return out
}

interface GoVcrInteraction {
  request: { method: string; url: string; body?: string }
  response: { code: number; headers?: HeaderMap; body?: string }
}

interface VcrPyInteraction {
  request: { method: string; uri: string; body?: unknown; parsed_body?: unknown }
  response: { status: { code: number }; headers?: HeaderMap; body?: { string?: string }; parsed_body?: unknown }
}

/** The interactions of a `.cassette.yaml`, e.g. `openai/chat-tool-call.cassette.yaml`. */
export function cassette(name: string): Interaction[] {
  return cached(`cassette:${name}`, () => {
    const document = parse(fixtureText(name)) as { version?: number; interactions: unknown[] }
    if (document.version === 2) {
      return (document.interactions as GoVcrInteraction[]).map((interaction) => ({
        request: { method: interaction.request.method, url: interaction.request.url, body: parseMaybe(interaction.request.body) },
        response: { status: interaction.response.code, headers: firstValues(interaction.response.headers), body: interaction.response.body ?? '' },
      }))
    }
    return (document.interactions as VcrPyInteraction[]).map((interaction) => ({
      request: {
        method: interaction.request.method,
        url: interaction.request.uri,
        body: interaction.request.parsed_body ?? parseMaybe(interaction.request.body as string | undefined),
      },
      response: {
        status: interaction.response.status.code,
        headers: firstValues(interaction.response.headers),
        // VCR.py stored JSON bodies parsed; serializing them again is the closest to the wire we have.
        body: interaction.response.parsed_body !== undefined ? JSON.stringify(interaction.response.parsed_body) : (interaction.response.body?.string ?? ''),
      },
    }))
  })
}

function parseMaybe(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Response headers that describe the recorded transfer, not the content: never replayed. */
export const TRANSFER_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'content-encoding', 'keep-alive'])
