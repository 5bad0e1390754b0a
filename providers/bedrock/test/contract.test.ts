import { runProviderContract } from '@switchyard/core/testing'
import bedrock from '../src/index.js'
import { encodeBedrockEvent, encodeBedrockException } from '../src/event-stream.js'
import { cassette, concat, fixtureJson, framedChunks } from './fixtures.js'

/**
 * Bedrock on recorded traffic: Converse bodies (vercel/ai fixtures, pydantic-ai cassettes), raw
 * ConverseStream event-stream bytes exactly as AWS sent them (pydantic-ai cassettes, `!!binary`),
 * the vercel/ai `.chunks.txt` streams framed back into event-stream frames, the recorded 400, and
 * the Titan embeddings answer.
 */

const streamText = cassette('converse-stream-text.cassette.yaml')
const toolUse = cassette('converse-stream-tool-use.cassette.yaml')
const thinking = cassette('converse-stream-thinking.cassette.yaml')
const cache = cassette('converse-prompt-cache.cassette.yaml')
const invalidModel = cassette('converse-error-invalid-model.cassette.yaml')[0]!
const titan = cassette('invoke-embeddings-titan.cassette.yaml')[0]!

const unknownStop = fixtureJson('converse-text.json')
unknownStop.stopReason = 'brand_new_stop_reason'

runProviderContract({
  provider: bedrock,
  fixtures: {
    responses: [
      { name: 'converse text', operation: 'chat', body: fixtureJson('converse-text.json') },
      { name: 'converse reasoning with signature', operation: 'chat', body: fixtureJson('converse-reasoning.json') },
      { name: 'converse cache write', operation: 'chat', body: cache[0]!.response.json },
      { name: 'converse cache read', operation: 'chat', body: cache[1]!.response.json },
      { name: 'titan embeddings (InvokeModel)', operation: 'embeddings', body: titan.response.json },
    ],
    streams: [
      { name: 'text (raw event stream, Nova Micro)', operation: 'chat', bytes: streamText[0]!.response.bytes! },
      { name: 'tool use turn 1 (raw event stream)', operation: 'chat', bytes: toolUse[0]!.response.bytes! },
      { name: 'tool use turn 2 (raw event stream)', operation: 'chat', bytes: toolUse[1]!.response.bytes! },
      { name: 'thinking (raw event stream, Claude Sonnet 4)', operation: 'chat', bytes: thinking[0]!.response.bytes! },
      { name: 'text (chunks framed)', operation: 'chat', bytes: framedChunks('converse-stream-text.chunks.txt') },
      { name: 'reasoning (chunks framed)', operation: 'chat', bytes: framedChunks('converse-stream-reasoning.chunks.txt') },
      {
        name: 'throttled mid-stream',
        operation: 'chat',
        bytes: concat([encodeBedrockEvent('messageStart', { role: 'assistant' }), encodeBedrockEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } }), encodeBedrockException('throttlingException', 'Too many requests')]),
        expectError: true,
      },
    ],
    errors: [
      { name: 'invalid model (recorded)', status: invalidModel.response.status, body: JSON.stringify(invalidModel.response.json), headers: { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' }, expect: { status: 400, retryable: false } },
      { name: 'bad signature', status: 403, body: '{"message":"The request signature we calculated does not match the signature you provided."}', headers: { 'x-amzn-errortype': 'InvalidSignatureException' }, expect: { status: 403, retryable: false } },
      { name: 'access denied echoing the key', status: 403, body: '{"message":"User is not authorized; key sk-contract-test-key-0000"}', headers: { 'x-amzn-errortype': 'AccessDeniedException' }, expect: { status: 403, retryable: false } },
      { name: 'not found', status: 404, body: '{"message":"Model not found"}', headers: { 'x-amzn-errortype': 'ResourceNotFoundException' }, expect: { status: 404, retryable: false } },
      { name: 'throttled', status: 429, body: '{"message":"Too many requests, please wait before trying again."}', headers: { 'x-amzn-errortype': 'ThrottlingException' }, expect: { status: 429, retryable: true } },
      { name: 'model error', status: 424, body: '{"message":"The model returned an error"}', headers: { 'x-amzn-errortype': 'ModelErrorException' }, expect: { status: 424, retryable: false } },
      { name: 'internal', status: 500, body: '{"message":"Internal server error"}', headers: { 'x-amzn-errortype': 'InternalServerException' }, expect: { status: 500, retryable: true } },
      { name: 'unavailable', status: 503, body: '{"message":"Service unavailable"}', headers: { 'x-amzn-errortype': 'ServiceUnavailableException' }, expect: { status: 503, retryable: true } },
    ],
    unknownFinishReason: { name: 'converse with a new stop reason', operation: 'chat', body: unknownStop },
  },
})
