import type { HookContext, RequestContext } from './plugin.js'

/**
 * Response headers set by plugins, keyed by the request's own `Headers` object: the one thing
 * a hook's context and the HTTP exchange share (`ctx.headers` is `request.headers`, which the
 * Fetch standard makes the same object on every read). Entries go when the request does.
 */
const byRequest = new WeakMap<Headers, Headers>()

/** Gives a request context its `responseHeaders` (once) before a plugin hook sees it. */
export function toHookContext(ctx: RequestContext): HookContext {
  if ((ctx as Partial<HookContext>).responseHeaders) return ctx as HookContext
  let headers = byRequest.get(ctx.headers)
  if (!headers) {
    headers = new Headers()
    byRequest.set(ctx.headers, headers)
  }
  Object.defineProperty(ctx, 'responseHeaders', { value: headers, enumerable: true })
  return ctx as HookContext
}

/** Copies the headers plugins set for `request` onto `response` (a new Response when its headers are immutable). */
export function applyResponseHeaders(request: Request, response: Response): Response {
  const headers = byRequest.get(request.headers)
  if (!headers) return response
  let target = response
  for (const [name, value] of headers) {
    try {
      target.headers.set(name, value)
    } catch {
      // Headers of a response taken from `fetch` are immutable: copy once, then set.
      target = new Response(target.body, target)
      target.headers.set(name, value)
    }
  }
  return target
}
