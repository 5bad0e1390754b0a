import { readFileSync } from 'node:fs'
import { runProviderContract } from '@switchyard/core/testing'
import openai from '../src/index.js'

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/${path}`, import.meta.url), 'utf8')
const json = (path: string) => JSON.parse(fixture(path)) as Record<string, any>
/** `.chunks.txt` holds one JSON payload per line; the wire had them as SSE `data:` events. */
const chatSse = (path: string) =>
  new TextEncoder().encode(fixture(path).split('\n').filter(Boolean).map((line) => `data: ${line}\n\n`).join('') + 'data: [DONE]\n\n')
const responsesSse = (path: string) =>
  new TextEncoder().encode(fixture(path).split('\n').filter(Boolean).map((line) => `event: ${JSON.parse(line).type}\ndata: ${line}\n\n`).join(''))

const unknownFinish = json('openai/chat-text.json')
unknownFinish.choices[0].finish_reason = 'brand_new_reason'

runProviderContract({
  provider: openai,
  fixtures: {
    responses: [
      { name: 'openai chat text', operation: 'chat', body: json('openai/chat-text.json') },
      { name: 'openai completion text', operation: 'completions', body: json('openai/completion-text.json') },
      { name: 'groq tool call', operation: 'chat', body: json('groq/chat-tool-call.json') },
      { name: 'xai tool call with reasoning', operation: 'chat', body: json('xai/chat-tool-call.json') },
      { name: 'deepseek reasoning', operation: 'chat', body: json('deepseek/chat-reasoning.json') },
      { name: 'mistral reasoning (content array)', operation: 'chat', body: json('mistral/chat-reasoning.json') },
      { name: 'responses with encrypted reasoning', operation: 'responses', body: json('openai/responses-reasoning-encrypted.json') },
    ],
    streams: [
      { name: 'openai chat text', operation: 'chat', bytes: chatSse('openai/chat-stream-text.chunks.txt') },
      { name: 'openai completion text', operation: 'completions', bytes: chatSse('openai/completion-stream-text.chunks.txt') },
      { name: 'deepseek tool call', operation: 'chat', bytes: chatSse('deepseek/chat-stream-tool-call.chunks.txt') },
      { name: 'xai tool call', operation: 'chat', bytes: chatSse('xai/chat-stream-tool-call.chunks.txt') },
      { name: 'mistral text', operation: 'chat', bytes: chatSse('mistral/chat-stream-text.chunks.txt') },
      { name: 'azure responses text', operation: 'responses', bytes: responsesSse('azure/responses-stream-text.chunks.txt') },
      { name: 'responses error', operation: 'responses', bytes: responsesSse('openai/responses-stream-error.chunks.txt'), expectError: true },
    ],
    errors: [
      { name: 'model not found', status: 404, body: '{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}', expect: { status: 404, retryable: false } },
      { name: 'rate limited', status: 429, body: '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}', headers: { 'retry-after': '2' }, expect: { status: 429, retryable: true } },
      { name: 'insufficient quota', status: 429, body: fixture('openai/responses-error-insufficient-quota.json'), expect: { status: 429, retryable: true } },
      { name: 'bad request echoing the key', status: 400, body: '{"error":{"message":"Incorrect API key provided: sk-contract-test-key-0000","type":"invalid_request_error"}}', expect: { status: 400, retryable: false } },
      { name: 'server error', status: 500, body: 'upstream exploded', expect: { status: 500, retryable: true } },
      { name: 'overloaded', status: 503, body: '', expect: { status: 503, retryable: true } },
    ],
    unknownFinishReason: { name: 'chat with a new finish reason', operation: 'chat', body: unknownFinish },
  },
})
