import { describe, expect, it } from 'vitest'
import { GatewayError } from '@switchyard/core'
import { vertexBaseURL, vertexModelURL, vertexPassthroughURL, vertexResource } from './url.js'

const location = { project: 'my-project', region: 'us-central1', publisher: 'google' }

describe('Vertex AI URLs', () => {
  it('uses the regional host, or aiplatform.googleapis.com for global', () => {
    expect(vertexBaseURL('us-central1')).toBe('https://us-central1-aiplatform.googleapis.com/v1')
    expect(vertexBaseURL('europe-west4')).toBe('https://europe-west4-aiplatform.googleapis.com/v1')
    expect(vertexBaseURL('global')).toBe('https://aiplatform.googleapis.com/v1')
  })

  it('builds publisher model URLs with project and region', () => {
    expect(vertexModelURL('gemini-2.5-flash', 'generateContent', location)).toBe('https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent')
    expect(vertexModelURL('gemini-2.5-pro', 'streamGenerateContent', { ...location, region: 'global' })).toBe('https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse')
    expect(vertexModelURL('text-embedding-005', 'predict', location)).toBe('https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google/models/text-embedding-005:predict')
  })

  it('places endpoints and other publishers under the project; keeps full resource names; express mode has no project', () => {
    expect(vertexResource('endpoints/1234567890', location)).toBe('projects/my-project/locations/us-central1/endpoints/1234567890')
    expect(vertexResource('publishers/meta/models/llama-4', location)).toBe('projects/my-project/locations/us-central1/publishers/meta/models/llama-4')
    expect(vertexResource('projects/other/locations/asia-east1/endpoints/42', location)).toBe('projects/other/locations/asia-east1/endpoints/42')
    expect(vertexModelURL('gemini-2.5-flash', 'generateContent', { project: undefined, region: 'global', publisher: 'google' })).toBe('https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:generateContent')
  })

  it('uses network_config.base_url as the API root when set', () => {
    expect(vertexModelURL('gemini-2.5-flash', 'generateContent', location, 'http://127.0.0.1:9999/v1')).toBe('http://127.0.0.1:9999/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent')
  })

  it('refuses model names that could leave the path', () => {
    expect(() => vertexResource('../../other', location)).toThrow(GatewayError)
    expect(() => vertexResource('gemini:x', location)).toThrow(GatewayError)
  })

  it('maps Gemini API paths of same-dialect calls to Vertex AI', () => {
    expect(vertexPassthroughURL('/models/gemini-2.5-flash:streamGenerateContent?alt=sse', location)).toBe('https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse')
    expect(vertexPassthroughURL('/models/gemini-2.5-flash:countTokens', location)).toMatch(/:countTokens$/)
    expect(vertexPassthroughURL('/models/gemini-embedding-001:batchEmbedContents', location)).toBeUndefined()
    expect(vertexPassthroughURL('/files', location)).toBeUndefined()
  })
})
