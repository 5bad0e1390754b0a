import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { encodeBedrockEvent } from '../src/event-stream.js'

/**
 * Readers for the recorded Bedrock wire data in /work/shared/fixtures/bedrock (see its README):
 * `converse-*.json` are Converse response bodies, `*.chunks.txt` hold one decoded ConverseStream
 * event per line (`{"<eventType>": payload}`), and the VCR.py cassettes keep each request body as
 * text and each response body either parsed (`parsed_body`) or as raw bytes (`!!binary`: the
 * `application/vnd.amazon.eventstream` frames exactly as AWS sent them).
 */

const FIXTURES = new URL('../../../../shared/fixtures/bedrock/', import.meta.url)

export const fixtureText = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8')
export const fixtureJson = (name: string) => JSON.parse(fixtureText(name)) as Record<string, any>

export interface BedrockInteraction {
  request: { method: string; uri: string; body: Record<string, any> }
  response: { status: number; headers: Record<string, string>; json?: unknown; bytes?: Uint8Array }
}

/** The interactions of a VCR.py cassette, bodies decoded (JSON) or kept as bytes (event streams). */
export function cassette(name: string): BedrockInteraction[] {
  const raw = parse(fixtureText(name), { customTags: ['binary'] }) as { interactions: Array<Record<string, any>> }
  return raw.interactions.map((interaction) => {
    const response = interaction.response
    const headers: Record<string, string> = {}
    for (const [header, value] of Object.entries(response.headers ?? {})) headers[header.toLowerCase()] = String(Array.isArray(value) ? value[0] : value)
    const body = response.body?.string
    return {
      request: { method: interaction.request.method, uri: interaction.request.uri, body: JSON.parse(String(interaction.request.body)) },
      response: {
        status: response.status.code,
        headers,
        ...(response.parsed_body !== undefined && { json: response.parsed_body }),
        ...(body instanceof Uint8Array && { bytes: new Uint8Array(body) }),
      },
    }
  })
}

/**
 * A `.chunks.txt` file framed back into event-stream bytes: each line `{"<type>": payload}` becomes
 * one frame with `:event-type: <type>`, as ConverseStream sends it. The payloads are the recorded
 * ones; the framing (and so the CRCs) is computed here, because the source kept only the decoded events.
 */
export function framedChunks(name: string): Uint8Array {
  const frames = fixtureText(name).split('\n').filter(Boolean).map((line) => {
    const event = JSON.parse(line) as Record<string, unknown>
    const [type, payload] = Object.entries(event)[0]!
    return encodeBedrockEvent(type, payload)
  })
  return concat(frames)
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

export const streamOf = (bytes: Uint8Array, size = bytes.length) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += size) controller.enqueue(bytes.slice(at, at + size))
      controller.close()
    },
  })

export async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of stream) out.push(item)
  return out
}
