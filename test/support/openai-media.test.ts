import { inflateSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockOpenAI, type MockOpenAI } from './mock-openai.js'
import { formSpecErrors, makePng, readForm, specExample, speechAudio } from './openai-media.js'

/** The synthesized media and the multipart checks of the mock OpenAI upstream are themselves right. */

describe('synthesized media', () => {
  it('makePng is a valid PNG: signature, IHDR, and an IDAT that inflates to the pixel rows', () => {
    const png = Buffer.from(makePng(4, 9))
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    expect(png.subarray(12, 16).toString()).toBe('IHDR')
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([4, 4, 8, 6])
    const idat = png.indexOf('IDAT')
    expect(inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)))).toHaveLength(4 * (1 + 4 * 4))
  })

  it('speech audio: a RIFF/WAVE header that matches its data, MPEG frame sync for mp3', () => {
    const wav = Buffer.from(speechAudio('wav')!.bytes)
    expect(wav.subarray(0, 4).toString() + wav.subarray(8, 12).toString()).toBe('RIFFWAVE')
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8)
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44)
    const mp3 = speechAudio('mp3')!.bytes
    expect([mp3[0], mp3[1] & 0xe0]).toEqual([0xff, 0xe0])
    expect(speechAudio('opus')).toBeUndefined()
  })

  it('the spec examples used as answers are JSON', () => {
    expect(JSON.parse(specExample('/audio/translations')).text).toMatch(/Wolfgang/)
    expect(JSON.parse(specExample('/moderations', 'Single string')).results[0].flagged).toBe(true)
  })
})

describe('multipart requests are checked against the spec', () => {
  const form = (fields: Record<string, string>, files: Array<[string, string]>) => {
    const data = new FormData()
    for (const [name, value] of Object.entries(fields)) data.append(name, value)
    for (const [name, filename] of files) data.append(name, new Blob([makePng() as Uint8Array<ArrayBuffer>], { type: 'image/png' }), filename)
    return data
  }
  const read = async (data: FormData) => {
    const request = new Request('http://x.invalid/', { method: 'POST', body: data })
    return readForm(new Uint8Array(await request.arrayBuffer()), request.headers.get('content-type')!)
  }

  it('a valid edit passes; a missing image, a bad n, an unknown field do not', async () => {
    expect(formSpecErrors('POST', '/v1/images/edits', await read(form({ prompt: 'x', model: 'gpt-image-1', n: '2' }, [['image[]', 'a.png'], ['image[]', 'b.png']]))).errors).toEqual([])
    expect(formSpecErrors('POST', '/v1/images/edits', await read(form({ prompt: 'x' }, []))).errors).toEqual(["(body) must have required property 'image'"])
    expect(formSpecErrors('POST', '/v1/images/variations', await read(form({ n: 'two' }, [['image', 'a.png']]))).errors).toEqual(['/n must be integer,null'])
    expect(formSpecErrors('POST', '/v1/audio/transcriptions', await read(form({ model: 'whisper-1', colour: 'blue' }, [['file', 'a.wav']]))).errors).toEqual(['(body) must NOT have additional properties (colour)'])
  })

  describe('through the mock', () => {
    let mock: MockOpenAI
    beforeAll(async () => {
      mock = await startMockOpenAI()
    })
    afterAll(() => mock.close())

    it('records the form and its spec errors; a body that is not multipart is refused', async () => {
      await fetch(`${mock.url}/v1/images/edits`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: form({ model: 'gpt-image-1' }, [['image', 'a.png']]) })
      expect(mock.requests[0]!.form!.files[0]).toMatchObject({ field: 'image', filename: 'a.png', type: 'image/png' })
      expect(mock.requests[0]!.specErrors).toEqual(["(body) must have required property 'prompt'"])
      const broken = await fetch(`${mock.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'multipart/form-data; boundary=zz' }, body: 'nope' })
      expect(broken.status).toBe(400)
      expect(mock.requests[1]!.specErrors[0]).toMatch(/^the multipart body could not be read/)
    })
  })
})
