/**
 * What the bench sends and expects: request bodies per route and dialect, and the check each
 * target's answer must pass before any load is applied.
 *
 * Routes:
 *   `openai`    — OpenAI in, OpenAI upstream: the gateway's passthrough path.
 *   `anthropic` — OpenAI in, Anthropic upstream: translation through the IR. The upstream-direct
 *                 and bare-proxy rows of this route speak Anthropic to the same upstream (the
 *                 floor for relaying those bytes), the gateway rows speak OpenAI to the gateway.
 */

/** Gap between the events of a `-paced` stream (ms). */
export const PACE_MS = 2
/** The 20 content pieces every stream carries; joined, the non-stream answer. */
export const WORDS = ['Sure', '!', ' Here', ' is', ' a', ' short', ' answer', ' to', ' your', ' question', ':', ' the', ' capital', ' of', ' France', ' is', ' Paris', ', which', ' is', ' lovely.']
export const EXPECTED_TEXT = WORDS.join('')
export const EXPECTED_CHUNKS = WORDS.length

export const ROUTES = ['openai', 'anthropic'] as const
export type Route = (typeof ROUTES)[number]
export const MODES = ['non-stream', 'stream'] as const
export type Mode = (typeof MODES)[number]
/** The dialect a request is written in (and its answer comes back in). */
export type Dialect = 'openai' | 'anthropic'

export const OPENAI_MODEL = 'gpt-4o-mini'
export const ANTHROPIC_MODEL = 'claude-haiku-4-5'

const SYSTEM = 'You are a concise assistant. Answer in one sentence and cite no sources.'
const HISTORY = [
  { role: 'user', content: 'Hi! I am planning a trip to Europe next spring.' },
  { role: 'assistant', content: 'That sounds great! How can I help you plan it?' },
  { role: 'user', content: 'What is the capital of France?' },
]

/**
 * A realistic small chat request (system + a short history + the question). `model` is the
 * name as the receiver expects it (with the gateway's `provider/` prefix where needed); a
 * `-paced` suffix makes the mock upstream space its stream events out.
 */
export function requestBody(dialect: Dialect, model: string, stream: boolean): string {
  if (dialect === 'anthropic') {
    return JSON.stringify({ model, system: SYSTEM, messages: HISTORY, temperature: 0.2, max_tokens: 128, metadata: { user_id: 'bench-user-1' }, ...(stream ? { stream: true } : {}) })
  }
  return JSON.stringify({ model, messages: [{ role: 'system', content: SYSTEM }, ...HISTORY], temperature: 0.2, max_tokens: 128, user: 'bench-user-1', ...(stream ? { stream: true } : {}) })
}

/** SSE `data:` payloads of a whole stream text. */
function dataOf(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('\n'))
    .filter((data) => data !== '')
}

/**
 * Checks one answer's body: the expected text, and for a stream 20 content events (and
 * `[DONE]` last in OpenAI's dialect). Returns the number of SSE events, or throws why not.
 */
export function checkAnswer(dialect: Dialect, stream: boolean, text: string): number {
  if (!stream) {
    let body: { object?: string; type?: string; choices?: Array<{ message?: { content?: string } }>; content?: Array<{ text?: string }> }
    try {
      body = JSON.parse(text)
    } catch {
      throw new Error('body is not JSON')
    }
    const content = dialect === 'openai' ? (body.object === 'chat.completion' ? body.choices?.[0]?.message?.content : undefined) : body.type === 'message' ? body.content?.[0]?.text : undefined
    if (content !== EXPECTED_TEXT) throw new Error(`unexpected ${dialect} answer`)
    return 0
  }
  const events = dataOf(text)
  let content = ''
  let pieces = 0
  for (const data of events) {
    if (data === '[DONE]') continue
    const event = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }>; type?: string; delta?: { text?: string } }
    const piece = dialect === 'openai' ? event.choices?.[0]?.delta?.content : event.type === 'content_block_delta' ? event.delta?.text : undefined
    if (typeof piece === 'string' && piece !== '') {
      content += piece
      pieces++
    }
  }
  if (dialect === 'openai' && events[events.length - 1] !== '[DONE]') throw new Error('stream does not end with data: [DONE]')
  if (content !== EXPECTED_TEXT || pieces !== EXPECTED_CHUNKS) throw new Error(`stream content mismatch (${pieces} content events: ${JSON.stringify(content)})`)
  return events.length
}
