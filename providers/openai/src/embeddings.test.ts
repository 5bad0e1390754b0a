import { readFileSync } from 'node:fs'
import { GatewayError } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { parseEmbeddingsRequest, parseEmbeddingsResponse, renderEmbeddingsResponse, toEmbeddingsBody } from './embeddings.js'

type Json = Record<string, any>

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
const [recorded] = parseYaml(fixture('openai/embeddings.cassette.yaml')).interactions as Json[]
const recordedRequest = JSON.parse(recorded!.request.body)
const recordedResponse = JSON.parse(recorded!.response.body)

function catchError(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (GatewayError.is(error)) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('embeddings responses', () => {
  it('decodes the recorded reply and renders it back exactly', () => {
    const ir = parseEmbeddingsResponse(recordedResponse)
    expect(ir.model).toBe('text-embedding-3-small')
    expect(ir.data).toHaveLength(1)
    expect(ir.data[0]!.embedding).toHaveLength(1536)
    expect(ir.usage).toEqual({ inputTokens: recordedResponse.usage.prompt_tokens, outputTokens: undefined, totalTokens: recordedResponse.usage.total_tokens })
    expect(renderEmbeddingsResponse(ir, recordedResponse.model)).toEqual(recordedResponse)
  })

  it('passes base64 vectors through and keeps unknown fields', () => {
    const raw = { object: 'list', data: [{ object: 'embedding', index: 1, embedding: 'AACAPw==' }, { object: 'embedding', index: 0, embedding: [0.5] }], model: 'e', usage: { prompt_tokens: 3, total_tokens: 3 }, provider_note: 'x' }
    const ir = parseEmbeddingsResponse(raw)
    expect(ir.data).toEqual([{ index: 1, embedding: 'AACAPw==' }, { index: 0, embedding: [0.5] }])
    expect(renderEmbeddingsResponse(ir, 'alias')).toEqual({ ...raw, model: 'alias' })
  })

  it('rejects a malformed upstream body with a 502', () => {
    expect(catchError(() => parseEmbeddingsResponse({ data: [{ embedding: {} }] })).status).toBe(502)
  })
})

describe('embeddings requests', () => {
  it('decodes the recorded request and normalizes a string input to a list', () => {
    const ir = parseEmbeddingsRequest(recordedRequest, 'text-embedding-3-small')
    expect(ir).toEqual({ model: 'text-embedding-3-small', input: ['How do I reset my password?'], encodingFormat: 'float', dialect: 'openai', extra: {} })
    expect(toEmbeddingsBody(ir)).toEqual({ ...recordedRequest, input: [recordedRequest.input] })
  })

  it.each([
    ['a string', 'hi', ['hi']],
    ['strings', ['a', 'b'], ['a', 'b']],
    ['token ids', [1, 2, 3], [[1, 2, 3]]],
    ['token-id lists', [[1], [2, 3]], [[1], [2, 3]]],
  ])('accepts %s', (_name, input, expected) => {
    expect(parseEmbeddingsRequest({ model: 'm', input }, 'm').input).toEqual(expected)
  })

  it('round trips modeled and unknown fields', () => {
    const body = { model: 'm', input: ['a'], dimensions: 256, encoding_format: 'base64', user: 'u', input_type: 'query', truncate: 'END' }
    const ir = parseEmbeddingsRequest(body, 'target')
    expect(ir).toEqual({ model: 'target', input: ['a'], dimensions: 256, encodingFormat: 'base64', user: 'u', dialect: 'openai', extra: { input_type: 'query', truncate: 'END' } })
    expect(toEmbeddingsBody(ir)).toEqual({ ...body, model: 'target' })
  })

  it.each([
    ['no input', { model: 'm' }, 'input'],
    ['an empty list', { model: 'm', input: [] }, 'input'],
    ['an empty string', { model: 'm', input: '' }, 'input'],
    ['an empty string in the list', { model: 'm', input: ['a', ''] }, 'input[1]'],
    ['an empty token list', { model: 'm', input: [[1], []] }, 'input[1]'],
    ['mixed input', { model: 'm', input: ['a', 1] }, 'input'],
    ['an object', { model: 'm', input: { text: 'a' } }, 'input'],
    ['bad dimensions', { model: 'm', input: 'a', dimensions: 0 }, 'dimensions'],
    ['bad encoding_format', { model: 'm', input: 'a', encoding_format: 'int8' }, 'encoding_format'],
  ])('rejects %s with a 400 naming the field', (_name, body, param) => {
    const error = catchError(() => parseEmbeddingsRequest(body as Json, 'm'))
    expect(error.status).toBe(400)
    expect(error.param).toBe(param)
  })
})
