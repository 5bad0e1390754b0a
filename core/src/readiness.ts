import type { Storage } from 'unstorage'
import type { GatewayStats } from './plugin.js'
import type { RegisteredProvider } from './router.js'

/** How long `GET /ready` waits for the storage to answer (ms). */
export const STORAGE_PROBE_TIMEOUT_MS = 1_000

/** Reads one key from `storage` within `timeoutMs`: undefined when it answered, else why not. */
export async function probeStorage(storage: Storage, timeoutMs: number = STORAGE_PROBE_TIMEOUT_MS): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`storage did not answer within ${timeoutMs} ms`), timeoutMs)))
  try {
    return await Promise.race([
      storage.getItem('__ready__').then(
        () => undefined,
        (error: unknown) => `storage unreachable: ${String((error as Error)?.message ?? error)}`,
      ),
      expired,
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Live per-provider load of the registered providers. */
export function collectStats(providers: ReadonlyMap<string, RegisteredProvider>): GatewayStats {
  const now = Date.now()
  const out: GatewayStats = { providers: {} }
  for (const [id, provider] of providers) {
    out.providers[id] = { inFlight: provider.load.inFlight, queued: provider.load.queued, cooling: provider.cooldowns.size > 0 ? provider.cooldowns.count(now) : 0 }
  }
  return out
}
