import OpenAI, { toFile } from 'openai'
import { describe, expect, it } from 'vitest'
import { expectConfiguredKey, useOpenAIGateway } from './support/e2e.js'
import { ANSWER_PNG_BASE64, makePng, specExample, speechAudio } from './support/openai-media.js'

/**
 * Images, audio and moderations through the gateway with the official SDK, against the mock
 * OpenAI upstream (spec-validated requests; answers are the spec's own examples with media made in
 * `support/openai-media.ts`, since no recording of these endpoints exists). The `openai` provider
 * serves them on the passthrough path: JSON bodies with only the model replaced, multipart uploads
 * byte for byte (only the `model` value spliced), binary speech relayed with its content type.
 */

const gw = useOpenAIGateway()

const png = makePng(4, 42)
const pngFile = () => toFile(png, 'otter.png', { type: 'image/png' })
const wavBytes = speechAudio('wav')!.bytes
const generated = JSON.parse(specExample('/images/generations', 'Generate image'))

/** The one request the upstream got, with its multipart form read. */
function onlyForm() {
  const request = gw.onlyRequest()
  expect(request.form, 'a multipart body').toBeDefined()
  return { request, form: request.form! }
}

describe('images', () => {
  it('generate: the JSON body goes on with only the model replaced; the base64 image comes back', async () => {
    const result = await gw.openai.images.generate({ model: 'openai/gpt-image-1', prompt: 'A cute baby sea otter', size: '1024x1024', quality: 'low' })
    expect(result.data![0]!.b64_json).toBe(ANSWER_PNG_BASE64)
    expect(Buffer.from(result.data![0]!.b64_json!, 'base64').subarray(1, 4).toString()).toBe('PNG')
    expect(result.usage).toEqual(generated.usage)
    expect(result.created).toBe(generated.created)
    const upstream = gw.onlyRequest()
    expect(upstream.path).toBe('/v1/images/generations')
    expect(upstream.operationId).toBe('createImage')
    expect(upstream.json).toEqual({ model: 'gpt-image-1', prompt: 'A cute baby sea otter', size: '1024x1024', quality: 'low' })
    expectConfiguredKey(upstream)
  })

  it('generate with a bare dall-e model and n: URLs, one per image', async () => {
    const result = await gw.openai.images.generate({ model: 'dall-e-2', prompt: 'Two otters', n: 2 })
    expect(result.data!.map((image) => image.url)).toEqual(['https://images.mock-openai.invalid/0.png', 'https://images.mock-openai.invalid/1.png'])
    expect(gw.onlyRequest().json).toEqual({ model: 'dall-e-2', prompt: 'Two otters', n: 2 })
  })

  it('generate with stream: the partial and completed image events arrive in order', async () => {
    const stream = await gw.openai.images.generate({ model: 'gpt-image-1', prompt: 'An otter', stream: true, partial_images: 1 })
    const events: OpenAI.Images.ImageGenStreamEvent[] = []
    for await (const event of stream) events.push(event)
    expect(events.map((event) => event.type)).toEqual(['image_generation.partial_image', 'image_generation.completed'])
    expect(events.at(-1)!.b64_json).toBe(ANSWER_PNG_BASE64)
    expect(gw.onlyRequest().json).toMatchObject({ model: 'gpt-image-1', stream: true, partial_images: 1 })
  })

  it('edit: a real PNG is uploaded as multipart and reaches the upstream byte for byte', async () => {
    const result = await gw.openai.images.edit({ model: 'openai/gpt-image-1', image: await pngFile(), prompt: 'Add a beret' })
    expect(result.data![0]!.b64_json).toBe(ANSWER_PNG_BASE64)
    const { request, form } = onlyForm()
    expect(request.path).toBe('/v1/images/edits')
    expect(request.operationId).toBe('createImageEdit')
    expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    expect(form.fields).toEqual({ model: 'gpt-image-1', prompt: 'Add a beret' })
    expect(form.files).toHaveLength(1)
    expect(form.files[0]).toMatchObject({ field: 'image', filename: 'otter.png', type: 'image/png' })
    expect(Buffer.from(form.files[0]!.bytes).equals(Buffer.from(png))).toBe(true)
    expectConfiguredKey(request)
  })

  it('edit with several images (image[]) and a mask: every file arrives', async () => {
    const second = makePng(4, 99)
    await gw.openai.images.edit({ model: 'gpt-image-1', image: [await pngFile(), await toFile(second, 'two.png', { type: 'image/png' })], mask: await toFile(png, 'mask.png', { type: 'image/png' }), prompt: 'Merge them' })
    const { form } = onlyForm()
    expect(form.files.map((file) => `${file.field}:${file.filename}`).sort()).toEqual(['image[]:otter.png', 'image[]:two.png', 'mask:mask.png'])
    expect(Buffer.from(form.files.find((file) => file.filename === 'two.png')!.bytes).equals(Buffer.from(second))).toBe(true)
  })

  it('createVariation: the upload goes through and n URLs come back', async () => {
    const result = await gw.openai.images.createVariation({ model: 'dall-e-2', image: await pngFile(), n: 3, size: '256x256' })
    expect(result.data).toHaveLength(3)
    const { request, form } = onlyForm()
    expect(request.operationId).toBe('createImageVariation')
    expect(form.fields).toEqual({ model: 'dall-e-2', n: '3', size: '256x256' })
    expect(Buffer.from(form.files[0]!.bytes).equals(Buffer.from(png))).toBe(true)
  })
})

describe('multipart bodies are forwarded byte for byte', () => {
  const boundary = '----switchyard-test-boundary-7MA4YWxkTrZu0gW'
  /** A hand-built multipart body, so the test knows every byte the gateway received. */
  function body(model: string): Buffer {
    const part = (headers: string, value: Buffer | string) => Buffer.concat([Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n')])
    return Buffer.concat([
      part('Content-Disposition: form-data; name="image"; filename="otter.png"\r\nContent-Type: image/png', Buffer.from(png)),
      part('Content-Disposition: form-data; name="prompt"', 'Add a beret'),
      part('Content-Disposition: form-data; name="model"', model),
      Buffer.from(`--${boundary}--\r\n`),
    ])
  }
  const send = (bytes: Buffer) =>
    fetch(`${gw.gateway.url}/openai/v1/images/edits`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, authorization: 'Bearer caller-key' }, body: new Uint8Array(bytes) })

  it('a bare model: the upstream receives exactly the bytes sent, with the same boundary', async () => {
    const sent = body('gpt-image-1')
    const response = await send(sent)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-bf-provider')).toBe('openai')
    const upstream = gw.onlyRequest()
    expect(upstream.headers['content-type']).toBe(`multipart/form-data; boundary=${boundary}`)
    expect(Buffer.from(upstream.rawBytes).equals(sent)).toBe(true)
  })

  it('a prefixed model: only the model value changes; the file bytes are untouched', async () => {
    const response = await send(body('openai/gpt-image-1'))
    expect(response.status).toBe(200)
    expect(Buffer.from(gw.onlyRequest().rawBytes).equals(body('gpt-image-1'))).toBe(true)
  })
})

describe('audio', () => {
  it('speech: the audio bytes and their content type come back unchanged (mp3 by default)', async () => {
    const response = await gw.openai.audio.speech.create({ model: 'openai/tts-1', voice: 'alloy', input: 'The quick brown fox jumped over the lazy dog.' })
    expect(response.headers.get('content-type')).toBe('audio/mpeg')
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(speechAudio('mp3')!.bytes))).toBe(true)
    const upstream = gw.onlyRequest()
    expect(upstream.operationId).toBe('createSpeech')
    expect(upstream.json).toEqual({ model: 'tts-1', voice: 'alloy', input: 'The quick brown fox jumped over the lazy dog.' })
  })

  it('speech as wav: every byte of the RIFF file', async () => {
    const response = await gw.openai.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'coral', input: 'Hello', response_format: 'wav', instructions: 'Cheerful.' })
    expect(response.headers.get('content-type')).toBe('audio/wav')
    const bytes = Buffer.from(await response.arrayBuffer())
    expect(bytes.subarray(0, 4).toString()).toBe('RIFF')
    expect(bytes.equals(Buffer.from(wavBytes))).toBe(true)
  })

  it('speech is streamed through: the first audio bytes reach the caller while the upstream is still sending', async () => {
    // Scripted (not a recording): three chunks of audio/mpeg with a pause between writes.
    const chunks = ['ID3\u0004\u0000first-frames', 'second-frames', 'third-frames']
    gw.mock.setNext({ status: 200, headers: { 'content-type': 'audio/mpeg' }, events: chunks, eventDelayMs: 400 })
    const response = await gw.openai.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'slow' })
    expect(response.headers.get('content-type')).toBe('audio/mpeg')
    const reader = response.body!.getReader()
    const first = await reader.read()
    expect(Buffer.from(first.value!).toString('latin1')).toBe(chunks[0])
    // The upstream has not finished writing: the gateway did not wait for the whole answer.
    expect(gw.mock.requests[0]!.outcome).toBe('pending')
    let rest = ''
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest += Buffer.from(next.value).toString('latin1')
    expect(rest).toBe(chunks.slice(1).join(''))
  })

  it('speech with stream_format sse: the events are relayed', async () => {
    const response = await gw.openai.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hi', stream_format: 'sse' })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const text = await response.text()
    expect(text).toContain('"type":"speech.audio.delta"')
    expect(text).toContain('"type":"speech.audio.done"')
  })

  it('transcription: the audio file is uploaded; the text comes back', async () => {
    const result = await gw.openai.audio.transcriptions.create({ model: 'openai/whisper-1', file: await toFile(wavBytes, 'hello.wav', { type: 'audio/wav' }), language: 'en' })
    expect(result).toEqual(JSON.parse(specExample('/audio/transcriptions', 'Default')))
    const { request, form } = onlyForm()
    expect(request.operationId).toBe('createTranscription')
    expect(form.fields).toEqual({ model: 'whisper-1', language: 'en' })
    expect(form.files[0]).toMatchObject({ field: 'file', filename: 'hello.wav', type: 'audio/wav' })
    expect(Buffer.from(form.files[0]!.bytes).equals(Buffer.from(wavBytes))).toBe(true)
  })

  it('transcription as text: the plain-text answer', async () => {
    const text = await gw.openai.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wavBytes, 'hello.wav'), response_format: 'text' })
    expect(text).toBe(`${JSON.parse(specExample('/audio/transcriptions', 'Default')).text}\n`)
  })

  it('transcription with stream: the text deltas and the done event', async () => {
    const stream = await gw.openai.audio.transcriptions.create({ model: 'gpt-4o-mini-transcribe', file: await toFile(wavBytes, 'hello.wav'), stream: true })
    const events: OpenAI.Audio.TranscriptionStreamEvent[] = []
    for await (const event of stream) events.push(event)
    expect(events.at(-1)!.type).toBe('transcript.text.done')
    const deltas = events.flatMap((event) => (event.type === 'transcript.text.delta' ? [event.delta] : []))
    expect(deltas.join('')).toBe((events.at(-1) as OpenAI.Audio.TranscriptionTextDoneEvent).text)
    expect(onlyForm().form.fields.stream).toBe('true')
  })

  it('translation: the audio file is uploaded; the English text comes back', async () => {
    const result = await gw.openai.audio.translations.create({ model: 'whisper-1', file: await toFile(wavBytes, 'german.wav', { type: 'audio/wav' }) })
    expect(result).toEqual(JSON.parse(specExample('/audio/translations')))
    const { request, form } = onlyForm()
    expect(request.operationId).toBe('createTranslation')
    expect(form.fields).toEqual({ model: 'whisper-1' })
  })
})

describe('moderations', () => {
  it('a string: the spec example result comes back', async () => {
    const result = await gw.openai.moderations.create({ model: 'openai/omni-moderation-latest', input: 'I want to kill them.' })
    expect(result).toEqual(JSON.parse(specExample('/moderations', 'Single string')))
    const upstream = gw.onlyRequest()
    expect(upstream.operationId).toBe('createModeration')
    expect(upstream.json).toEqual({ model: 'omni-moderation-latest', input: 'I want to kill them.' })
  })

  it('text and an image: the multi-modal result', async () => {
    const result = await gw.openai.moderations.create({
      model: 'omni-moderation-latest',
      input: [{ type: 'text', text: '...text to classify goes here...' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from(png).toString('base64')}` } }],
    })
    expect(result.results[0]!.category_applied_input_types?.sexual).toEqual(['text', 'image'])
  })
})
