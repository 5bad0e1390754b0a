import { deflateSync } from 'node:zlib'
import { splitSseEvents } from './fixtures.js'
import { openAPIDocument, validateOpenAIForm } from './openapi.js'

/**
 * Answers for OpenAI's images, audio and moderations endpoints, for mock upstreams.
 *
 * No recording of these endpoints exists in /work/shared/fixtures, so every answer here is
 * synthesized, and says how:
 * - JSON answers are the OpenAI OpenAPI spec's own example responses (`x-oaiMeta.examples`, read
 *   from /work/shared/specs at run time), with the spec's `"b64_json": "..."` placeholders replaced
 *   by a real PNG made here and `n` results where the request asked for several;
 * - audio bytes (speech) are made here: a WAV or raw PCM tone, or silent MP3 frames;
 * - the SSE answers (`stream: true`) are the spec's streaming examples, one event per write, each
 *   ending in a blank line (the examples' last event lacks it).
 *
 * Requests are checked against the spec: JSON bodies by the mock that serves them, multipart
 * bodies here (`readForm`), read with the WHATWG `FormData` parser (not the gateway's own).
 */

/** A reply as the mock writes it: a whole body (text or bytes), or SSE events one per write. */
export interface MediaReply {
  status: number
  headers: Record<string, string>
  body: string | string[] | Uint8Array
}

/** One file part of a multipart request, as the upstream received it. */
export interface FormFile {
  field: string
  filename: string
  type: string
  bytes: Uint8Array
}

/** A multipart request as the upstream received it. */
export interface MockForm {
  /** Text fields (`name[]` parts gathered into an array under `name`). */
  fields: Record<string, string | string[]>
  files: FormFile[]
}

const JSON_TYPE = { 'content-type': 'application/json' }
const SSE_TYPE = { 'content-type': 'text/event-stream; charset=utf-8' }
const TEXT_TYPE = { 'content-type': 'text/plain; charset=utf-8' }

// ---- Generated media ------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'ascii')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

/** A real PNG (RGBA, 8 bits per channel) of `size` x `size` pixels in a diagonal gradient of `seed`. */
export function makePng(size = 4, seed = 0): Uint8Array {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 6, 0, 0, 0], 8)
  const rows = Buffer.alloc(size * (1 + size * 4))
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 4)
    for (let x = 0; x < size; x++) rows.set([(seed + x * 60) & 0xff, (seed + y * 60) & 0xff, (seed + (x + y) * 30) & 0xff, 0xff], row + 1 + x * 4)
  }
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', new Uint8Array())]))
}

/** The image every synthesized images answer carries (base64 of {@link makePng}`(8, 7)`). */
export const ANSWER_PNG_BASE64 = Buffer.from(makePng(8, 7)).toString('base64')

/** 16-bit mono PCM of a 440 Hz tone at 24 kHz (OpenAI's `pcm` format), `ms` long. */
function tone(ms: number): Buffer {
  const samples = Math.round((24_000 * ms) / 1000)
  const pcm = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) pcm.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 24_000)), i * 2)
  return pcm
}

function wav(pcm: Buffer): Buffer {
  const head = Buffer.alloc(44)
  head.write('RIFF', 0, 'ascii')
  head.writeUInt32LE(36 + pcm.length, 4)
  head.write('WAVEfmt ', 8, 'ascii')
  head.writeUInt32LE(16, 16)
  head.writeUInt16LE(1, 20)
  head.writeUInt16LE(1, 22)
  head.writeUInt32LE(24_000, 24)
  head.writeUInt32LE(48_000, 28)
  head.writeUInt16LE(2, 32)
  head.writeUInt16LE(16, 34)
  head.write('data', 36, 'ascii')
  head.writeUInt32LE(pcm.length, 40)
  return Buffer.concat([head, pcm])
}

/** `count` silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono: 417 bytes each, zero side info). */
function silentMp3(count: number): Buffer {
  const frame = Buffer.alloc(417)
  frame.set([0xff, 0xfb, 0x90, 0xc0], 0)
  return Buffer.concat(Array.from({ length: count }, () => frame))
}

/** The audio a speech answer carries for `format` (what the mock can make: mp3, wav, pcm), with its content type. */
export function speechAudio(format: string): { bytes: Uint8Array; contentType: string } | undefined {
  if (format === 'mp3') return { bytes: new Uint8Array(silentMp3(24)), contentType: 'audio/mpeg' }
  if (format === 'wav') return { bytes: new Uint8Array(wav(tone(250))), contentType: 'audio/wav' }
  if (format === 'pcm') return { bytes: new Uint8Array(tone(250)), contentType: 'audio/pcm' }
  return undefined
}

// ---- The spec's examples --------------------------------------------------------------------

/** The example response of the spec operation at `path` titled `title` (or its only example). */
export function specExample(path: string, title?: string): string {
  const meta = openAPIDocument().paths[path]?.post?.['x-oaiMeta'] as { examples?: unknown } | undefined
  const examples = (Array.isArray(meta?.examples) ? meta.examples : [meta?.examples]) as Array<{ title?: string; response?: unknown } | undefined>
  const example = title === undefined ? examples[0] : examples.find((candidate) => candidate?.title === title)
  if (typeof example?.response !== 'string') throw new Error(`the OpenAI spec has no example response ${title ?? ''} for POST ${path}`)
  return example.response
}

/** The spec's SSE example as events, each ending in a blank line, the image placeholders filled. */
function exampleEvents(path: string, title: string): string[] {
  return splitSseEvents(specExample(path, title).replaceAll('"b64_json":"..."', `"b64_json":"${ANSWER_PNG_BASE64}"`)).map((event) => `${event.trimEnd()}\n\n`)
}

const json = (body: unknown): MediaReply => ({ status: 200, headers: JSON_TYPE, body: JSON.stringify(body, null, 2) })
const badRequest = (message: string, param: string | null = null): MediaReply =>
  ({ status: 400, headers: JSON_TYPE, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param, code: null } }, null, 2) })

const countOf = (value: unknown) => {
  const n = Number(value ?? 1)
  return Number.isInteger(n) && n > 0 ? n : 1
}

/** An images answer: the spec's example with `n` images, as URLs (dall-e's default) or base64 PNGs. */
function imagesAnswer(path: string, title: string | undefined, model: unknown, n: unknown, format: unknown): MediaReply {
  const example = JSON.parse(specExample(path, title)) as { data: unknown[] }
  const urls = typeof model === 'string' && model.startsWith('dall-e') && format !== 'b64_json'
  example.data = Array.from({ length: countOf(n) }, (_, index) => (urls ? { url: `https://images.mock-openai.invalid/${index}.png` } : { b64_json: ANSWER_PNG_BASE64 }))
  return json(example)
}

// ---- Requests -----------------------------------------------------------------------------

/** Reads a multipart body with the platform's FormData parser. Throws on a malformed body. */
export async function readForm(bytes: Uint8Array, contentType: string): Promise<MockForm> {
  const data = await new Request('http://mock.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: bytes as Uint8Array<ArrayBuffer> }).formData()
  const form: MockForm = { fields: {}, files: [] }
  for (const [name, value] of data.entries()) {
    if (typeof value === 'string') {
      const key = name.endsWith('[]') ? name.slice(0, -2) : name
      const known = form.fields[key]
      form.fields[key] = name.endsWith('[]') ? [...(Array.isArray(known) ? known : known === undefined ? [] : [known]), value] : value
    } else {
      form.files.push({ field: name, filename: value.name, type: value.type, bytes: new Uint8Array(await value.arrayBuffer()) })
    }
  }
  return form
}

/** Spec problems of a multipart request to `path` (below the host, `/v1/images/edits`). */
export function formSpecErrors(method: string, path: string, form: MockForm): { operationId: string | undefined; errors: string[] } {
  const fields: Record<string, unknown> = { ...form.fields }
  for (const file of form.files) {
    const key = file.field.endsWith('[]') ? file.field.slice(0, -2) : file.field
    fields[key] = file.field.endsWith('[]') ? [...((fields[key] as string[] | undefined) ?? []), file.filename] : file.filename
  }
  return validateOpenAIForm(method, path, fields)
}

// ---- Answers ----------------------------------------------------------------------------------

/**
 * The answer to a POST below the API root (`/images/generations` ...) with a JSON `body` or a
 * multipart `form`; undefined for any other path.
 */
export function mediaReply(path: string, body: any, form: MockForm | undefined): MediaReply | undefined {
  const fields = form?.fields ?? {}
  switch (path) {
    case '/images/generations':
      if (body?.stream === true) return { status: 200, headers: SSE_TYPE, body: exampleEvents(path, 'Streaming') }
      return imagesAnswer(path, 'Generate image', body?.model, body?.n, body?.response_format)
    case '/images/edits':
      if (fields.stream === 'true') return { status: 200, headers: SSE_TYPE, body: exampleEvents(path, 'Streaming') }
      // The spec shows no edit answer; an edit answers with the same ImagesResponse as a generation.
      return imagesAnswer('/images/generations', 'Generate image', fields.model, fields.n, fields.response_format)
    case '/images/variations':
      return imagesAnswer(path, undefined, fields.model ?? 'dall-e-2', fields.n, fields.response_format)
    case '/audio/speech': {
      const format = typeof body?.response_format === 'string' ? body.response_format : 'mp3'
      const audio = speechAudio(format)
      if (!audio) return badRequest(`the mock makes mp3, wav and pcm audio, not ${format}`, 'response_format')
      if (body?.stream_format === 'sse') {
        // CreateSpeechResponseStreamEvent: audio deltas, then `speech.audio.done` with usage.
        const events = [
          `data: ${JSON.stringify({ type: 'speech.audio.delta', audio: Buffer.from(audio.bytes).toString('base64') })}\n\n`,
          `data: ${JSON.stringify({ type: 'speech.audio.done', usage: { input_tokens: 14, output_tokens: 101, total_tokens: 115 } })}\n\n`,
        ]
        return { status: 200, headers: SSE_TYPE, body: events }
      }
      return { status: 200, headers: { 'content-type': audio.contentType }, body: audio.bytes }
    }
    case '/audio/transcriptions':
    case '/audio/translations': {
      const format = fields.response_format ?? 'json'
      if (path === '/audio/transcriptions' && fields.stream === 'true') return { status: 200, headers: SSE_TYPE, body: exampleEvents(path, 'Streaming') }
      const answer = specExample(path, path === '/audio/transcriptions' ? 'Default' : undefined)
      if (format === 'text') return { status: 200, headers: TEXT_TYPE, body: `${(JSON.parse(answer) as { text: string }).text}\n` }
      if (format !== 'json') return badRequest(`the mock answers json and text, not ${String(format)}`, 'response_format')
      return { status: 200, headers: JSON_TYPE, body: answer }
    }
    case '/moderations': {
      const input = body?.input
      const multimodal = Array.isArray(input) && input.some((item: unknown) => typeof item === 'object')
      const answer = JSON.parse(specExample(path, multimodal ? 'Image and text' : 'Single string')) as { results: unknown[] }
      // One result per text input (each the example's result).
      if (Array.isArray(input) && !multimodal) answer.results = input.map(() => answer.results[0])
      return json(answer)
    }
    default:
      return undefined
  }
}
