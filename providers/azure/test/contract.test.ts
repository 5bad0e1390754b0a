import { readFileSync } from 'node:fs'
import { runProviderContract } from '@switchyard/core/testing'
import { parse } from 'yaml'
import azure from '../src/index.js'

/**
 * Azure OpenAI on recorded traffic: the go-vcr cassette of a deployment chat completion
 * (envoyproxy/ai-gateway, resource name scrubbed by the recorder) and the vercel/ai Responses stream
 * (`.chunks.txt`, one event per line, framed here as `event: <type>` / `data:` as Azure sends them).
 * The error bodies are Azure's documented shapes (`{"error":{"code","message"}}`), written here.
 */

const fixture = (path: string) => readFileSync(new URL(`../../../../shared/fixtures/azure/${path}`, import.meta.url), 'utf8')
const chatCassette = parse(fixture('chat-text.cassette.yaml')) as { interactions: Array<{ response: { body: string } }> }
const chatBody = JSON.parse(chatCassette.interactions[0]!.response.body) as Record<string, any>
const responsesSse = new TextEncoder().encode(fixture('responses-stream-text.chunks.txt').split('\n').filter(Boolean).map((line) => `event: ${JSON.parse(line).type}\ndata: ${line}\n\n`).join(''))

const unknownFinish = structuredClone(chatBody)
unknownFinish.choices[0].finish_reason = 'brand_new_reason'

runProviderContract({
  provider: azure,
  fixtures: {
    responses: [{ name: 'deployment chat completion (recorded, with content filter results)', operation: 'chat', body: chatBody }],
    streams: [{ name: 'responses stream text (recorded)', operation: 'responses', bytes: responsesSse }],
    errors: [
      { name: 'deployment not found', status: 404, body: '{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}', expect: { status: 404, retryable: false } },
      { name: 'bad key, echoed', status: 401, body: '{"error":{"code":"401","message":"Access denied due to invalid subscription key sk-contract-test-key-0000 or wrong API endpoint."}}', expect: { status: 401, retryable: false } },
      { name: 'rate limited', status: 429, body: '{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded token rate limit."}}', headers: { 'retry-after': '6' }, expect: { status: 429, retryable: true } },
      { name: 'content filter', status: 400, body: '{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400}}', expect: { status: 400, retryable: false } },
      { name: 'server error', status: 500, body: '{"error":{"code":"InternalServerError","message":"Backend returned unexpected response."}}', expect: { status: 500, retryable: true } },
    ],
    unknownFinishReason: { name: 'chat with a new finish reason', operation: 'chat', body: unknownFinish },
  },
})
