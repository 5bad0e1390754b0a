/**
 * The part of Deno's API this package uses, typed here: the repository type-checks against
 * Node's types only. https://docs.deno.com/api/deno/
 */

/** `Deno.createHttpClient` options (the subset used): https://docs.deno.com/api/deno/~/Deno.CreateHttpClientOptions */
export interface DenoCreateHttpClientOptions {
  /** PEM certificates trusted besides the system roots. */
  caCerts?: string[]
  proxy: { transport?: 'http' | 'https'; url: string; basicAuth?: { username: string; password: string } }
}

/** A `Deno.HttpClient`: passed to `fetch` as `client`. */
export interface DenoHttpClient {
  close(): void
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
  createHttpClient(options: DenoCreateHttpClientOptions): DenoHttpClient
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void
}

/** `globalThis.Deno`; undefined when not running on Deno. */
export const deno = (globalThis as { Deno?: DenoApi }).Deno

/** `globalThis.Deno`, or an error naming the package to use instead. */
export function requireDeno(): DenoApi {
  if (!deno) throw new Error('@switchyard/deno runs on Deno (https://deno.com); on Node use @switchyard/node')
  return deno
}
