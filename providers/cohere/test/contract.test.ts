import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { runProviderContract } from '@switchyard/core/testing'
import cohere from '../src/index.js'

/**
 * Cohere v2 on recorded traffic (/work/shared/fixtures/cohere). `.chunks.txt` payloads are framed
 * as the fixtures README says for Cohere: `event: <type>\ndata: <line>\n\n`, nothing after
 * `message-end`. The cassettes hold the recorded JSON bodies (`parsed_body`).
 */

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
const json = (path: string) => JSON.parse(fixture(path)) as Record<string, any>
export const cohereSse = (path: string) =>
  new TextEncoder().encode(fixture(path).split('\n').filter(Boolean).map((line) => `event: ${JSON.parse(line).type}\ndata: ${line}\n\n`).join(''))
const recorded = (path: string) => (parse(fixture(path)) as { interactions: Array<{ response: { parsed_body: unknown } }> }).interactions[0]!.response.parsed_body

runProviderContract({
  provider: cohere,
  fixtures: {
    responses: [
      { name: 'text', operation: 'chat', body: json('cohere/chat-text.json') },
      { name: 'tool plan and two tool calls', operation: 'chat', body: json('cohere/chat-tool-calls.json') },
      { name: 'thinking', operation: 'chat', body: json('cohere/chat-reasoning.json') },
      { name: 'citations', operation: 'chat', body: json('cohere/chat-citations.json') },
      { name: 'cached tokens (cassette)', operation: 'chat', body: recorded('cohere/chat-cached-tokens.cassette.yaml') },
      { name: 'embed (cassette)', operation: 'embeddings', body: recorded('cohere/embed.cassette.yaml') },
    ],
    streams: [
      { name: 'text', operation: 'chat', bytes: cohereSse('cohere/chat-stream-text.chunks.txt') },
      { name: 'tool plan and tool calls', operation: 'chat', bytes: cohereSse('cohere/chat-stream-tool-calls.chunks.txt') },
      { name: 'thinking', operation: 'chat', bytes: cohereSse('cohere/chat-stream-reasoning.chunks.txt') },
    ],
    errors: [
      { name: 'bad request', status: 400, body: '{"id":"f0c1","message":"invalid request: message must be at least 1 token long or tool results must be specified."}', expect: { status: 400, retryable: false } },
      { name: 'unauthorized', status: 401, body: '{"id":"a1","message":"invalid api token"}', expect: { status: 401, retryable: false } },
      { name: 'invalid token (498)', status: 498, body: '{"message":"invalid api token sk-contract-test-key-0000"}', expect: { status: 401, retryable: false } },
      { name: 'rate limited', status: 429, body: '{"id":"b2","message":"You are using a Trial key, which is limited to 10 API calls / minute."}', headers: { 'retry-after': '3' }, expect: { status: 429, retryable: true } },
      { name: 'server error', status: 500, body: '{"id":"c3","message":"internal server error, this has been reported to our developers"}', expect: { status: 500, retryable: true } },
      { name: 'unavailable (not JSON)', status: 503, body: 'upstream connect error', expect: { status: 503, retryable: true } },
    ],
    unknownFinishReason: { name: 'new finish reason', operation: 'chat', body: { ...json('cohere/chat-text.json'), finish_reason: 'BRAND_NEW' } },
  },
})
