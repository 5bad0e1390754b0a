import { readFileSync } from 'node:fs'
import { runProviderContract } from '@switchyard/core/testing'
import { parse } from 'yaml'
import anthropic from '../src/index.js'

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/anthropic/${path}`, import.meta.url), 'utf8')
const json = (path: string) => JSON.parse(fixture(path)) as Record<string, any>
const bytes = (text: string) => new TextEncoder().encode(text)
/** `.chunks.txt` holds one event payload per line; the wire framed each as `event: <type>`. */
const chunksSse = (path: string) =>
  bytes(fixture(path).split('\n').filter(Boolean).map((line) => `event: ${JSON.parse(line).type}\ndata: ${line}\n\n`).join(''))
/** The recorded response body of a VCR cassette's first interaction. */
const cassetteBody = (path: string) => {
  // VCR.py cassettes keep a JSON body parsed (`parsed_body`), others as text (`body.string`).
  const response = (parse(fixture(path)) as { interactions: Array<{ response: Record<string, any> }> }).interactions[0]!.response
  return response.parsed_body !== undefined ? JSON.stringify(response.parsed_body) : String(response.body?.string ?? response.body)
}

const unknownStop = json('messages-text.json')
unknownStop.stop_reason = 'brand_new_stop_reason'

runProviderContract({
  provider: anthropic,
  fixtures: {
    responses: [
      { name: 'text', operation: 'chat', body: json('messages-text.json') },
      { name: 'thinking with signature', operation: 'chat', body: json('messages-thinking.json') },
      { name: 'web search (server tool blocks)', operation: 'chat', body: json('messages-web-search.json') },
    ],
    streams: [
      { name: 'text (raw SSE)', operation: 'chat', bytes: bytes(fixture('messages-stream-text.sse')) },
      { name: 'tool use (raw SSE)', operation: 'chat', bytes: bytes(fixture('messages-stream-tool-use.sse')) },
      { name: 'thinking', operation: 'chat', bytes: chunksSse('messages-stream-thinking.chunks.txt') },
      { name: 'web search', operation: 'chat', bytes: chunksSse('messages-stream-web-search.chunks.txt') },
      {
        name: 'overloaded mid-stream',
        operation: 'chat',
        bytes: bytes('event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'),
        expectError: true,
      },
    ],
    errors: [
      { name: 'invalid request (recorded)', status: 400, body: cassetteBody('messages-error-invalid-request.cassette.yaml'), expect: { status: 400, retryable: false } },
      { name: 'authentication', status: 401, body: '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key sk-contract-test-key-0000"}}', expect: { status: 401, retryable: false } },
      { name: 'not found', status: 404, body: '{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}', expect: { status: 404, retryable: false } },
      { name: 'rate limited', status: 429, body: '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', headers: { 'retry-after': '3' }, expect: { status: 429, retryable: true } },
      { name: 'overloaded', status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', expect: { status: 529, retryable: true } },
      { name: 'api error', status: 500, body: '{"type":"error","error":{"type":"api_error","message":"Internal"}}', expect: { status: 500, retryable: true } },
    ],
    unknownFinishReason: { name: 'message with a new stop reason', operation: 'chat', body: unknownStop },
  },
})
