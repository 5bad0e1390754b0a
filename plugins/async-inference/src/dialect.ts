import { bodyOf } from './body.js'
import type { JobResult, JobState, JobStatus, JobSummary } from './job.js'
import { statusOf } from './job.js'

/**
 * The objects a submit or a pending poll answers with, in the caller's dialect, shaped so that the
 * official SDKs' own types parse them: the job id is the object's `id`, and the part that carries
 * the answer is empty (`choices`, `content`, `output`), which is how the reference examples tell a
 * pending job from a finished one.
 */
type PendingRenderer = (job: JobSummary, status: 'queued' | 'in_progress') => Record<string, unknown>

const seconds = (ms: number) => Math.floor(ms / 1000)

const PENDING: Record<string, PendingRenderer> = {
  // OpenAI `chat.completion` with no choices yet.
  'openai:chat': (job) => ({ id: job.id, object: 'chat.completion', created: seconds(job.createdAt), model: job.model, choices: [] }),
  // OpenAI legacy `text_completion` with no choices yet.
  'openai:completions': (job) => ({ id: job.id, object: 'text_completion', created: seconds(job.createdAt), model: job.model, choices: [] }),
  // A Responses API `response` as a background response shows itself before it is done.
  'openai:responses': (job, status) => ({
    id: job.id,
    object: 'response',
    created_at: seconds(job.createdAt),
    status,
    background: true,
    model: job.model,
    output: [],
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: null,
    tool_choice: 'auto',
    tools: [],
    top_p: null,
  }),
  // An Anthropic `message` with no content yet; nothing has been generated, so no tokens either.
  'anthropic:chat': (job) => ({
    id: job.id,
    type: 'message',
    role: 'assistant',
    model: job.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 0, output_tokens: 0 },
  }),
}

/** True when a `surface`/`operation` pair has a pending object (submits elsewhere need the native endpoint). */
export function hasPendingObject(surface: string, operation: string): boolean {
  return `${surface}:${operation}` in PENDING
}

/** Which calls `x-bf-async` works on, for error messages. */
export const PENDING_CALLS = 'OpenAI chat completions, completions and Responses API, and Anthropic messages'

export function pendingObject(job: JobSummary, status: 'queued' | 'in_progress'): Record<string, unknown> {
  return PENDING[`${job.surface}:${job.operation}`]!(job, status)
}

/** Answers with a pending object (202) or, for the native endpoints, the job view. */
export function pendingResponse(body: unknown, id: string, status: JobStatus): Response {
  return new Response(JSON.stringify(body), { status: 202, headers: { 'content-type': 'application/json', 'x-bf-async-id': id, 'x-bf-async-status': status } })
}

/** The stored answer of a finished job, as the caller's surface rendered it. */
export function storedResponse(result: JobResult): Response {
  const response = result.response!
  return new Response(bodyOf(response), { status: response.status, headers: { ...response.headers, 'x-bf-async-id': result.id, 'x-bf-async-status': result.status } })
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

/**
 * The native view of a job (`GET /v1/async/:id`, `POST /v1/async/...`): status and timestamps, and
 * once finished the answer (`result.status_code`, `result.body` parsed when it is JSON) or the error.
 */
export function jobView(summary: JobSummary, result: JobResult | undefined, state: JobState | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: summary.id,
    object: 'async.job',
    status: statusOf(result, state),
    surface: summary.surface,
    operation: summary.operation,
    model: summary.model,
    path: summary.path,
    attempts: result?.attempts ?? state?.attempts ?? 0,
    created_at: iso(summary.createdAt),
    started_at: iso(result?.startedAt ?? state?.startedAt),
    completed_at: iso(result?.finishedAt),
    expires_at: iso(result?.expiresAt),
    result_ttl_seconds: summary.ttlSeconds,
    ...extra,
  }
  if (result?.response) {
    const { status, headers, encoding } = result.response
    let body: unknown = result.response.body
    if (!encoding) {
      try {
        body = JSON.parse(result.response.body)
      } catch {
        // Not JSON: shown as text.
      }
    }
    view.result = { status_code: status, headers, body, ...(encoding ? { body_encoding: encoding } : {}) }
  }
  if (result?.failure) view.error = { status_code: result.failure.status, code: result.failure.code, message: result.failure.message }
  return view
}
