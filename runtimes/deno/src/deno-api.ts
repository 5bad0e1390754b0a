/**
 * The part of Deno's API this package uses, typed here: the repository type-checks against
 * Node's types only. https://docs.deno.com/api/deno/~/Deno.serve
 */
export interface DenoHttpServer {
  /** Stops accepting; resolves once in-flight requests have finished. */
  shutdown(): Promise<void>
}

export interface DenoWriter {
  writeSync(bytes: Uint8Array): number
}

export interface DenoApi {
  args: string[]
  pid: number
  env: { toObject(): Record<string, string> }
  stdout: DenoWriter
  stderr: DenoWriter
  exit(code?: number): never
  readTextFile(path: string): Promise<string>
  serve(
    options: {
      port: number
      hostname: string
      /** SO_REUSEPORT: several processes bind the same port, the kernel spreads connections (Linux). */
      reusePort?: boolean
      onListen?(address: { hostname: string; port: number }): void
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoHttpServer
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void
}

/** `globalThis.Deno`; undefined when not running on Deno. */
export const deno = (globalThis as { Deno?: DenoApi }).Deno

/** `globalThis.Deno`, or an error naming the package to use instead. */
export function requireDeno(): DenoApi {
  if (!deno) throw new Error('@switchyard/deno runs on Deno (https://deno.com); on Node use @switchyard/node')
  return deno
}
