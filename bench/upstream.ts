/**
 * Mock LLM upstream for the benchmark: plain node:http, no framework, no delay.
 *
 *   POST /v1/chat/completions   (OpenAI)    -> a fixed chat.completion, or with `"stream": true`
 *                                              20 content chunks (+ a usage chunk when
 *                                              `stream_options.include_usage`, as OpenAI does) + [DONE]
 *   POST /v1/messages           (Anthropic) -> a fixed message, or with `"stream": true`
 *                                              message_start, content_block_start, 20 text deltas,
 *                                              content_block_stop, message_delta (usage), message_stop
 *
 * Stream events are written one per event-loop turn (each its own socket write). A model name
 * ending in `-paced` spaces the events PACE_MS apart instead (the first one right after the
 * headers): the bench's time-to-first-byte and chunk-coalescing runs use it, so every event
 * leaves the upstream as its own packet and a relay that holds or merges events shows.
 *
 * Usage: upstream.ts --port N   (prints "ready <port>" on stdout once listening)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'
import { PACE_MS, WORDS } from './wire.js'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } })

const created = 1_730_000_000
const id = 'chatcmpl-bench0000000000000000000000'
const messageId = 'msg_bench00000000000000000000'
const fingerprint = 'fp_bench00000'
const openaiUsage = {
  prompt_tokens: 42,
  completion_tokens: 20,
  total_tokens: 62,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
}

function openaiCompletion(model: string): string {
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: WORDS.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: openaiUsage,
    service_tier: 'default',
    system_fingerprint: fingerprint,
  })
}

function openaiEvents(model: string, usage: boolean): string[] {
  const base = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: fingerprint }
  const events = WORDS.map((word, i) => {
    const delta = i === 0 ? { role: 'assistant', content: word, refusal: null } : { content: word }
    const chunk = { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: i === WORDS.length - 1 ? 'stop' : null }], ...(usage ? { usage: null } : {}) }
    return `data: ${JSON.stringify(chunk)}\n\n`
  })
  if (usage) events.push(`data: ${JSON.stringify({ ...base, choices: [], usage: openaiUsage })}\n\n`)
  events.push('data: [DONE]\n\n')
  return events
}

const anthropicUsage = { input_tokens: 42, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 20, service_tier: 'standard' }

function anthropicMessage(model: string): string {
  return JSON.stringify({ model, id: messageId, type: 'message', role: 'assistant', content: [{ type: 'text', text: WORDS.join('') }], stop_reason: 'end_turn', stop_sequence: null, usage: anthropicUsage })
}

function anthropicEvents(model: string): string[] {
  const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
  return [
    event('message_start', { type: 'message_start', message: { id: messageId, type: 'message', role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null, usage: { ...anthropicUsage, output_tokens: 1 } } }),
    event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ...WORDS.map((word) => event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } })),
    event('content_block_stop', { type: 'content_block_stop', index: 0 }),
    event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 20 } }),
    event('message_stop', { type: 'message_stop' }),
  ]
}

const cache = new Map<string, string | string[]>()
function cached<T extends string | string[]>(key: string, make: () => T): T {
  let value = cache.get(key) as T | undefined
  if (value === undefined) cache.set(key, (value = make()))
  return value
}

function send(res: ServerResponse, status: number, body: string, requestId: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId })
  res.end(body)
}

/** One event per event-loop turn (or every PACE_MS for a paced stream), each its own write. */
function writeStream(res: ServerResponse, events: string[], paced: boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_bench' })
  let i = 0
  const next = () => {
    if (res.destroyed) return
    if (i === events.length - 1) {
      res.end(events[i])
      return
    }
    res.write(events[i++])
    if (paced) setTimeout(next, PACE_MS)
    else setImmediate(next)
  }
  next()
}

function fail(res: ServerResponse, status: number, message: string): void {
  send(res, status, JSON.stringify({ error: { message, type: 'invalid_request_error', code: null } }), 'req_bench')
}

function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
  const url = req.url ?? ''
  const anthropic = url === '/v1/messages'
  if (req.method !== 'POST' || (!anthropic && url !== '/v1/chat/completions')) return fail(res, 404, `no route ${req.method} ${url}`)
  let body: { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } }
  try {
    body = JSON.parse(raw)
  } catch {
    return fail(res, 400, 'body is not JSON')
  }
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini'
  const paced = model.endsWith('-paced')
  if (body.stream === true) {
    const usage = body.stream_options?.include_usage === true
    const events = anthropic ? cached(`a-s-${model}`, () => anthropicEvents(model)) : cached(`o-s-${model}-${usage}`, () => openaiEvents(model, usage))
    return writeStream(res, events, paced)
  }
  send(res, 200, anthropic ? cached(`a-${model}`, () => anthropicMessage(model)) : cached(`o-${model}`, () => openaiCompletion(model)), 'req_bench')
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')))
  req.on('error', () => res.destroy())
})
server.keepAliveTimeout = 60_000
server.listen(Number(values.port), values.host, () => {
  const address = server.address()
  process.stdout.write(`ready ${typeof address === 'object' && address ? address.port : values.port}\n`)
})

// Exit with the bench runner: it holds our IPC channel (when spawned with one).
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
