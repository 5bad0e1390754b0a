import { runProviderContract } from '@switchyard/core/testing'
import gemini from '../src/index.js'
import { bytes, cassetteBody, chunksSse, frame, json, recording, recordingSse } from './fixtures.js'

const unknownFinish = json('generate-content-text.json')
unknownFinish.candidates[0].finishReason = 'BRAND_NEW_FINISH_REASON'

const notFound = recording('stream-error-model-not-found.recording.json')[0]!.response
const firstEvent = JSON.stringify(recording('generate-content-stream.recording.json')[0]!.response.bodySegments[0])

runProviderContract({
  provider: gemini,
  fixtures: {
    responses: [
      { name: 'text with a thought signature', operation: 'chat', body: json('generate-content-text.json') },
      { name: 'function call with a thought signature', operation: 'chat', body: json('generate-content-tool-call.json') },
      { name: 'thought part (v1alpha, recorded)', operation: 'chat', body: recording('generate-content-thinking.recording.json')[0]!.response.bodySegments[0] },
      { name: 'embeddings (batchEmbedContents cassette)', operation: 'embeddings', body: JSON.parse(cassetteBody('batch-embed-contents.cassette.yaml')) },
    ],
    streams: [
      { name: 'text (chunks)', operation: 'chat', bytes: chunksSse('generate-content-stream-text.chunks.txt') },
      { name: 'function call (chunks)', operation: 'chat', bytes: chunksSse('generate-content-stream-tool-call.chunks.txt') },
      { name: 'text (raw SSE cassette)', operation: 'chat', bytes: bytes(cassetteBody('generate-content-stream-text.cassette.yaml')) },
      { name: 'thought summaries then text (raw SSE cassette)', operation: 'chat', bytes: bytes(cassetteBody('generate-content-stream-thinking.cassette.yaml')) },
      { name: 'MAX_TOKENS with a thinking budget (recording)', operation: 'chat', bytes: recordingSse('generate-content-stream.recording.json') },
      { name: 'function calling, turn 1 (recording)', operation: 'chat', bytes: recordingSse('chat-function-calling-stream.recording.json', 0) },
      { name: 'function calling, turn 2 (recording)', operation: 'chat', bytes: recordingSse('chat-function-calling-stream.recording.json', 1) },
      {
        name: 'an error event after a recorded first event',
        operation: 'chat',
        bytes: frame([firstEvent, JSON.stringify({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } })]),
        expectError: true,
      },
    ],
    errors: [
      { name: 'model not found (recorded)', status: notFound.statusCode, body: JSON.stringify(notFound.bodySegments[0]), expect: { status: 404, retryable: false } },
      { name: 'bad API key', status: 400, body: '{"error":{"code":400,"message":"API key not valid. Please pass a valid API key. sk-contract-test-key-0000","status":"INVALID_ARGUMENT"}}', expect: { status: 400, retryable: false } },
      { name: 'permission denied', status: 403, body: '{"error":{"code":403,"message":"Method doesn\'t allow unregistered callers.","status":"PERMISSION_DENIED"}}', expect: { status: 403, retryable: false } },
      {
        name: 'quota exhausted with RetryInfo',
        status: 429,
        body: '{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}',
        expect: { status: 429, retryable: true },
      },
      { name: 'internal', status: 500, body: '{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}', expect: { status: 500, retryable: true } },
      { name: 'overloaded', status: 503, body: '{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}', expect: { status: 503, retryable: true } },
    ],
    unknownFinishReason: { name: 'candidate with a new finishReason', operation: 'chat', body: unknownFinish },
  },
})
