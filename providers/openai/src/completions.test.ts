import { readFileSync } from 'node:fs'
import { GatewayError, type CompletionResponse, type StreamEvent } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import {
  parseCompletionRequest,
  parseCompletionResponse,
  parseCompletionStream,
  renderCompletionResponse,
  renderCompletionStream,
  toCompletionBody,
} from './completions.js'

type Json = Record<string, any>

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
const STREAM = fixture('openai/completion-stream-text.chunks.txt').split('\n').filter((line) => line.trim() !== '').map((line) => `data: ${line}\n\n`).join('') + 'data: [DONE]\n\n'

const encoder = new TextEncoder()
const streamOf = <T>(items: T[]) => new ReadableStream<T>({ start(controller) { for (const item of items) controller.enqueue(item); controller.close() } })
async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = []
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read()
    if (done) return out
    out.push(value)
  }
}
const decode = (text: string | Uint8Array[]) => collect(parseCompletionStream(streamOf(typeof text === 'string' ? [encoder.encode(text)] : text)))

function catchError(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (GatewayError.is(error)) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('legacy completions responses', () => {
  it('decodes the recorded reply and renders it back exactly', () => {
    const raw = JSON.parse(fixture('openai/completion-text.json'))
    const ir = parseCompletionResponse(raw)
    expect(ir.choices).toEqual([{ index: 0, text: raw.choices[0].text, finishReason: { unified: 'length', raw: 'length' } }])
    expect(ir.usage).toEqual({ inputTokens: 14, outputTokens: 16, totalTokens: 30 })
    expect(renderCompletionResponse(ir, raw.model)).toEqual(raw)
    expect(parseCompletionResponse(renderCompletionResponse(ir, raw.model))).toEqual(ir)
  })

  it('maps unknown finish reasons to other (raw kept) and renders only legacy values', () => {
    const raw = JSON.parse(fixture('openai/completion-text.json'))
    raw.choices[0].finish_reason = 'eos'
    raw.system_fingerprint = 'fp_1'
    const ir = parseCompletionResponse(raw)
    expect(ir.choices[0]!.finishReason).toEqual({ unified: 'other', raw: 'eos' })
    expect(ir.extra).toEqual({ system_fingerprint: 'fp_1' })
    const response: CompletionResponse = { ...ir, choices: [{ index: 0, text: 'x', finishReason: { unified: 'tool-calls', raw: 'tool_calls' } }] }
    expect((renderCompletionResponse(response, 'm').choices as Json[])[0]!.finish_reason).toBe('stop')
  })

  it('rejects a malformed upstream body with a 502', () => {
    expect(catchError(() => parseCompletionResponse({ choices: 'no' })).status).toBe(502)
  })
})

describe('legacy completions requests', () => {
  it('round trips modeled and unknown fields', () => {
    const body = { model: 'gpt-3.5-turbo-instruct', prompt: ['a', 'b'], max_tokens: 16, temperature: 0, top_p: 1, stop: ['\n'], n: 2, seed: 3, echo: true, logprobs: 2, suffix: 'z', best_of: 3, logit_bias: { '50256': -100 }, user: 'u' }
    const ir = parseCompletionRequest(body, 'target')
    expect(ir).toEqual({ model: 'target', prompt: ['a', 'b'], maxTokens: 16, temperature: 0, topP: 1, stop: ['\n'], n: 2, seed: 3, dialect: 'openai', extra: { echo: true, logprobs: 2, suffix: 'z', best_of: 3, logit_bias: { '50256': -100 }, user: 'u' } })
    expect(toCompletionBody(ir)).toEqual({ ...body, model: 'target' })
  })

  it('always asks for usage when streaming, keeping other stream options', () => {
    const ir = parseCompletionRequest({ model: 'm', prompt: 'hi', stop: 'x', stream: true, stream_options: { include_obfuscation: false } }, 'm')
    expect(ir).toMatchObject({ prompt: 'hi', stop: ['x'], stream: true, extra: { stream_options: { include_obfuscation: false } } })
    expect(ir.streamUsage).toBeUndefined()
    expect(toCompletionBody(ir)).toEqual({ model: 'm', prompt: 'hi', stop: ['x'], stream: true, stream_options: { include_obfuscation: false, include_usage: true } })
  })

  it.each([
    ['no prompt', { model: 'm' }, 'prompt'],
    ['token prompt', { model: 'm', prompt: [1, 2] }, 'prompt'],
    ['string max_tokens', { model: 'm', prompt: 'x', max_tokens: '5' }, 'max_tokens'],
    ['n of 0', { model: 'm', prompt: 'x', n: 0 }, 'n'],
    ['bad stop', { model: 'm', prompt: 'x', stop: 5 }, 'stop'],
  ])('rejects %s with a 400 naming the field', (_name, body, param) => {
    const error = catchError(() => parseCompletionRequest(body as Json, 'm'))
    expect(error.status).toBe(400)
    expect(error.param).toBe(param)
  })
})

describe('legacy completions streams', () => {
  it('decodes the recorded stream: one text block, choice-end, usage, one finish last', async () => {
    const events = await decode(STREAM)
    const lines = fixture('openai/completion-stream-text.chunks.txt').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Json)
    const text = lines.flatMap((line) => line.choices.map((choice: Json) => choice.text)).join('')
    const deltas = lines.filter((line) => line.choices[0]?.text).length
    expect(events.map((event) => event.type)).toEqual(['response-start', 'text-start', ...Array(deltas).fill('text-delta'), 'text-end', 'choice-end', 'usage', 'finish'])
    expect(events.filter((event) => event.type === 'text-delta').map((event) => (event as { delta: string }).delta).join('')).toBe(text)
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: { unified: 'length', raw: 'length' }, usage: { inputTokens: 14, outputTokens: 16, totalTokens: 30 } })
  })

  it('gives identical events however the bytes are split', async () => {
    const whole = await decode(STREAM)
    const bytes = encoder.encode(STREAM)
    for (const seed of [3, 17, 2024]) {
      let state = seed
      const pieces: Uint8Array[] = []
      for (let at = 0; at < bytes.length;) {
        state = (state * 1103515245 + 12345) % 2147483648
        const size = 1 + (state % 97)
        pieces.push(bytes.slice(at, at + size))
        at += size
      }
      expect(await decode(pieces)).toEqual(whole)
    }
  })

  it('finishes a cut-off stream with other and stops at an error', async () => {
    const cut = await decode('data: {"id":"c","model":"m","choices":[{"text":"a","index":0,"finish_reason":null}]}\n\n')
    expect(cut.slice(-3)).toEqual([{ type: 'text-end', id: '0:text', choice: 0 }, { type: 'choice-end', choice: 0, finishReason: { unified: 'other', raw: undefined } }, { type: 'finish', finishReason: { unified: 'other', raw: undefined }, usage: undefined }])
    const failed = await decode('data: {"id":"c","model":"m","choices":[]}\n\ndata: {"error":{"message":"boom","status_code":503}}\n\ndata: [DONE]\n\n')
    expect(failed.map((event) => event.type)).toEqual(['response-start', 'error'])
    expect((failed[1] as Extract<StreamEvent, { type: 'error' }>).error.status).toBe(503)
  })

  it('renders text_completion chunks, usage and [DONE], and parses back to the same events', async () => {
    const events = await decode(STREAM)
    const bytes = await collect(renderCompletionStream(streamOf(events), { model: 'gpt-3.5-turbo-instruct:20230824-v2', includeUsage: true }))
    const sse = new TextDecoder().decode(Buffer.concat(bytes))
    const frames = sse.split('\n\n').filter(Boolean).map((frame) => frame.slice(6))
    expect(frames.at(-1)).toBe('[DONE]')
    const first = JSON.parse(frames[0]!)
    expect(first).toEqual({ id: 'cmpl-D8ZFN477TMm6AoQohx2jSTOJMh60M', object: 'text_completion', created: 1770934485, model: 'gpt-3.5-turbo-instruct:20230824-v2', choices: [{ text: 'The', index: 0, logprobs: null, finish_reason: null }], usage: null })
    expect(JSON.parse(frames.at(-3)!).choices[0].finish_reason).toBe('length')
    expect(JSON.parse(frames.at(-2)!)).toMatchObject({ choices: [], usage: { prompt_tokens: 14, completion_tokens: 16, total_tokens: 30 } })
    expect(await decode(bytes)).toEqual(events)
  })

  it('renders an error as an OpenAI error payload without [DONE]', async () => {
    const error = new GatewayError({ status: 500, code: 'upstream', message: 'boom' })
    const bytes = await collect(renderCompletionStream(streamOf<StreamEvent>([{ type: 'response-start', id: 'c', model: 'm' }, { type: 'error', error }]), { model: 'm', includeUsage: false }))
    expect(new TextDecoder().decode(Buffer.concat(bytes))).toBe('data: {"error":{"message":"boom","type":"api_error","param":null,"code":null}}\n\n')
  })
})
