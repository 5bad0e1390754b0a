/**
 * The part of Bun's API this package uses, typed here: the repository type-checks against
 * Node's types only, and Bun implements the `process` and `node:*` APIs used beside these.
 * https://bun.sh/docs/api/http, https://bun.sh/docs/api/spawn
 */
export interface BunServer {
  port: number
  /** Stops accepting; resolves when in-flight requests are done (`true`: cuts them now). */
  stop(closeActiveConnections?: boolean): Promise<void>
}

export interface BunSubprocess {
  pid: number
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number>
  exitCode: number | null
  signalCode: string | null
  kill(signal?: string): void
}

export interface BunApi {
  file(path: string): { text(): Promise<string> }
  serve(options: {
    port: number
    hostname: string
    /** SO_REUSEPORT: several processes bind the same port, the kernel spreads connections (Linux). */
    reusePort?: boolean
    /** Seconds a connection may stay silent before Bun closes it (default 10, max 255, 0 = never). */
    idleTimeout?: number
    fetch(request: Request): Response | Promise<Response>
  }): BunServer
  spawn(command: string[], options: { env?: Record<string, string | undefined>; stdio?: ['ignore' | 'inherit', 'inherit', 'inherit']; ipc?(message: unknown): void }): BunSubprocess
}

/** `globalThis.Bun`; undefined when not running on Bun. */
export const bun = (globalThis as { Bun?: BunApi }).Bun
