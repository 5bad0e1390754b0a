import { runProviderContract } from '@switchyard/core/testing'
import vertex from '../src/index.js'
import { bytes, cassetteBody, chunksSse, json, recording, recordingSse } from '../../gemini/test/fixtures.js'

/**
 * Vertex AI answers in the Gemini API's wire format (same `GenerateContentResponse`, same SSE
 * framing, same error model), so the recorded Gemini traffic exercises the Vertex codec too.
 * Vertex embeddings (`:predict`) have no recording here: `src/index.test.ts` covers their shape.
 */
const unknownFinish = json('generate-content-text.json')
unknownFinish.candidates[0].finishReason = 'BRAND_NEW_FINISH_REASON'
const notFound = recording('stream-error-model-not-found.recording.json')[0]!.response

runProviderContract({
  provider: vertex,
  fixtures: {
    responses: [
      { name: 'text with a thought signature', operation: 'chat', body: json('generate-content-text.json') },
      { name: 'function call with a thought signature', operation: 'chat', body: json('generate-content-tool-call.json') },
      { name: 'thought part (recorded)', operation: 'chat', body: recording('generate-content-thinking.recording.json')[0]!.response.bodySegments[0] },
    ],
    streams: [
      { name: 'text (chunks)', operation: 'chat', bytes: chunksSse('generate-content-stream-text.chunks.txt') },
      { name: 'function call (chunks)', operation: 'chat', bytes: chunksSse('generate-content-stream-tool-call.chunks.txt') },
      { name: 'thought summaries then text (raw SSE cassette)', operation: 'chat', bytes: bytes(cassetteBody('generate-content-stream-thinking.cassette.yaml')) },
      { name: 'MAX_TOKENS with a thinking budget (recording)', operation: 'chat', bytes: recordingSse('generate-content-stream.recording.json') },
    ],
    errors: [
      { name: 'model not found (recorded)', status: 404, body: JSON.stringify(notFound.bodySegments[0]), expect: { status: 404, retryable: false } },
      { name: 'unauthenticated', status: 401, body: '{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}', expect: { status: 401, retryable: false } },
      { name: 'quota', status: 429, body: '{"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}}', expect: { status: 429, retryable: true } },
      { name: 'unavailable', status: 503, body: '{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}', expect: { status: 503, retryable: true } },
    ],
    unknownFinishReason: { name: 'candidate with a new finishReason', operation: 'chat', body: unknownFinish },
  },
})
