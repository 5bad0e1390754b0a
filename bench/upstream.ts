/**
 * Mock OpenAI upstream for the benchmark: plain node:http, no framework, no delay.
 *
 *   POST /v1/chat/completions            -> a fixed chat.completion JSON
 *   POST /v1/chat/completions stream:true -> 20 content chunks + a usage chunk + [DONE],
 *                                            each SSE event written separately
 *
 * Usage: upstream.ts --port N   (prints "ready <port>" on stdout once listening)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } })

const created = 1_730_000_000
const id = 'chatcmpl-bench0000000000000000000000'
const fingerprint = 'fp_bench00000'

const words = ['Sure', '!', ' Here', ' is', ' a', ' short', ' answer', ' to', ' your', ' question', ':', ' the', ' capital', ' of', ' France', ' is', ' Paris', ', which', ' is', ' lovely.']

function completion(model: string): string {
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: words.join(''), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: 42,
      completion_tokens: 20,
      total_tokens: 62,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: fingerprint,
  })
}

/** The SSE events of one streamed completion, pre-rendered per model name. */
function streamEvents(model: string): string[] {
  const base = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: fingerprint }
  const events: string[] = []
  for (let i = 0; i < words.length; i++) {
    const delta = i === 0 ? { role: 'assistant', content: words[i], refusal: null } : { content: words[i] }
    const finish = i === words.length - 1 ? 'stop' : null
    events.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null })}\n\n`)
  }
  events.push(
    `data: ${JSON.stringify({
      ...base,
      choices: [],
      usage: {
        prompt_tokens: 42,
        completion_tokens: 20,
        total_tokens: 62,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    })}\n\n`,
  )
  events.push('data: [DONE]\n\n')
  return events
}

const completionCache = new Map<string, string>()
const streamCache = new Map<string, string[]>()

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': 'req_bench' })
  res.end(body)
}

/** Writes one event per event-loop turn so each reaches the socket as its own write. */
function writeStream(res: ServerResponse, events: string[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_bench' })
  let i = 0
  const next = () => {
    if (res.destroyed) return
    if (i === events.length - 1) {
      res.end(events[i])
      return
    }
    res.write(events[i++])
    setImmediate(next)
  }
  next()
}

function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.method !== 'POST' || (req.url !== '/v1/chat/completions' && req.url !== '/chat/completions')) {
    send(res, 404, JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error', code: 'not_found' } }))
    return
  }
  let body: { model?: unknown; stream?: unknown }
  try {
    body = JSON.parse(raw)
  } catch {
    send(res, 400, JSON.stringify({ error: { message: 'body is not JSON', type: 'invalid_request_error', code: null } }))
    return
  }
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini'
  if (body.stream === true) {
    let events = streamCache.get(model)
    if (!events) streamCache.set(model, (events = streamEvents(model)))
    writeStream(res, events)
  } else {
    let text = completionCache.get(model)
    if (!text) completionCache.set(model, (text = completion(model)))
    send(res, 200, text)
  }
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
