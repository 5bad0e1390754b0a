import { definePlugin, type Logger } from '@switchyard/core'

/** The plugin's `config` in the Switchyard config file (`plugins[].config`). */
export interface HeaderStampOptions {
  /** Response header to set on every response. Default `x-stamped-by`. */
  header?: string
  /** Its value. Default `switchyard`. */
  value?: string
  /** Also send `<header>-count` with this request's number since start (1, 2, ...). Default true. */
  count?: boolean
}

/** Requests this gateway instance has seen, by outcome. */
export interface HeaderStampStats {
  /** Requests that reached this plugin's `onRequest` (and got the header). */
  stamped: number
  /** Requests finished (every request, including ones another plugin refused first). */
  finished: number
  /** Finished with an error status (>= 400). */
  failed: number
  /** The caller went away before the last byte. */
  aborted: number
}

/** RFC 9110 token: what a header name may contain. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Reads and checks the options; a bad value fails at start, naming the field. */
export function resolveOptions(input: unknown): Required<HeaderStampOptions> {
  const options = (input ?? {}) as HeaderStampOptions
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('header-stamp: config must be an object')
  const header = options.header ?? 'x-stamped-by'
  if (typeof header !== 'string' || !TOKEN.test(header)) throw new TypeError(`header-stamp: config.header must be a header name, got ${JSON.stringify(header)}`)
  const value = options.value ?? 'switchyard'
  if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw new TypeError('header-stamp: config.value must be a string without line breaks')
  const count = options.count ?? true
  if (typeof count !== 'boolean') throw new TypeError('header-stamp: config.count must be true or false')
  return { header: header.toLowerCase(), value, count }
}

/**
 * Creates the plugin. Switchyard calls the default export with the plugin's `config` when it
 * loads the package by name:
 *
 * ```json
 * { "plugins": [{ "name": "@acme/switchyard-plugin-header-stamp", "config": { "header": "x-served-by", "value": "edge-1" } }] }
 * ```
 */
export function createHeaderStamp(input?: unknown) {
  const options = resolveOptions(input)
  const stats: HeaderStampStats = { stamped: 0, finished: 0, failed: 0, aborted: 0 }
  let log: Logger | undefined

  return definePlugin({
    name: '@acme/switchyard-plugin-header-stamp',
    setup(context) {
      log = context.log
    },
    hooks: {
      // Headers must be set before the response starts: onRequest is the place.
      onRequest(ctx) {
        stats.stamped++
        ctx.responseHeaders.set(options.header, options.value)
        if (options.count) ctx.responseHeaders.set(`${options.header}-count`, String(stats.stamped))
      },
      // After the last byte: counting only, nothing that could delay or fail the response.
      onFinish(_ctx, summary) {
        stats.finished++
        if (summary.status >= 400) stats.failed++
        if (summary.aborted) stats.aborted++
      },
    },
    close() {
      log?.info('header-stamp: totals', { ...stats })
    },
    /** A copy of the counts so far. */
    stats(): HeaderStampStats {
      return { ...stats }
    },
  })
}

export default createHeaderStamp
