/**
 * Checks a Batch API input file as its bytes go by: one JSON object per line, each
 * `{ "custom_id", "method": "POST", "url", "body" }`, every `custom_id` distinct
 * (https://platform.openai.com/docs/api-reference/batch/request-input). Blank lines are allowed.
 * The first problem is kept (with its line number) and checking stops there; an upload with
 * `purpose: "batch"` and a problem is refused, other purposes ignore the result.
 */
export interface BatchInputReport {
  /** Request lines seen (until the first problem). */
  requests: number
  /** The first problem, e.g. `line 3: custom_id "a" is used twice (first on line 1)`. */
  problem: string | undefined
}

export interface BatchInputChecker {
  /** Feeds the next bytes of the file. Cheap once a problem was found. */
  push(chunk: Uint8Array): void
  /** The file ended: checks the last line and reports. */
  end(): BatchInputReport
}

/** Longest line checked; a longer one is a problem (its request would exceed every provider's limit anyway). */
export const MAX_LINE_BYTES = 32 * 1024 * 1024

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Why one parsed line is not a batch request, or undefined when it is one. */
function lineProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'is not a JSON object'
  if (typeof value.custom_id !== 'string' || value.custom_id.length === 0) return 'has no custom_id (a non-empty string)'
  if (value.method !== 'POST') return `method must be "POST", got ${JSON.stringify(value.method ?? null)}`
  if (typeof value.url !== 'string' || !value.url.startsWith('/')) return 'url must be an endpoint path such as "/v1/chat/completions"'
  if (!isObject(value.body)) return 'body must be a JSON object (the request)'
  return undefined
}

/** One request line of a checked input file, as parsed (what the Batch API builds its requests from). */
export interface BatchInputRequest {
  custom_id: string
  method: 'POST'
  url: string
  body: Record<string, unknown>
}

/**
 * `onRequest`, when given, receives each request line as it is accepted, with its (1-based) line
 * number: a caller that needs the requests gets them from the same single pass as the check.
 */
export function createBatchInputChecker(onRequest?: (request: BatchInputRequest, line: number) => void): BatchInputChecker {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const seen = new Map<string, number>()
  let pending = ''
  let line = 0
  let requests = 0
  let problem: string | undefined

  function check(text: string): void {
    line++
    if (text.trim().length === 0) return
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      problem = `line ${line}: not valid JSON (${(error as Error).message})`
      return
    }
    const issue = lineProblem(value)
    if (issue) {
      problem = `line ${line}: ${issue}`
      return
    }
    const id = (value as { custom_id: string }).custom_id
    const first = seen.get(id)
    if (first !== undefined) {
      problem = `line ${line}: custom_id ${JSON.stringify(id)} is used twice (first on line ${first}); each request needs its own`
      return
    }
    seen.set(id, line)
    requests++
    onRequest?.(value as BatchInputRequest, line)
  }

  function push(chunk: Uint8Array): void {
    if (problem) return
    let text: string
    try {
      text = decoder.decode(chunk, { stream: true })
    } catch {
      problem = `line ${line + 1}: not UTF-8 text`
      return
    }
    // A binary file shows itself in its first bytes: stop before buffering it.
    if (line === 0 && pending.length === 0 && requests === 0 && /^\s*[^\s{]/.test(text)) {
      problem = 'line 1: is not a JSON object'
      return
    }
    let start = 0
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      check(pending + text.slice(start, newline))
      pending = ''
      start = newline + 1
      if (problem) return
    }
    pending += text.slice(start)
    if (pending.length > MAX_LINE_BYTES) problem = `line ${line + 1}: longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB`
  }

  function end(): BatchInputReport {
    if (!problem) {
      try {
        pending += decoder.decode()
      } catch {
        problem = `line ${line + 1}: not UTF-8 text`
      }
    }
    if (!problem && pending.length > 0) check(pending)
    if (!problem && requests === 0) problem = 'the file has no requests (one JSON object per line)'
    return { requests, problem }
  }

  return { push, end }
}
