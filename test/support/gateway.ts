import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { silentLogger } from '@switchyard/core'
import { startGateway } from '../../runtimes/node/src/index.js'
import type { MockOpenAI } from './mock-openai.js'
import { startCli, testRuntime } from './runtime-process.js'

/** The provider key the gateway is configured with (what the upstream should see). */
export const UPSTREAM_KEY = 'sk-test-upstream-key-123456'
/** The key the test's SDK client sends to the gateway. */
export const CALLER_KEY = 'caller-key'

/** A gateway under test, whichever runtime serves it: only its URL is visible. */
export interface LaunchedGateway {
  /** `http://127.0.0.1:<port>` of the gateway. */
  url: string
  /** Stops the gateway (in process: close; a child process: SIGTERM, and it must exit 0). */
  close(): Promise<void>
}

export interface TestGateway extends LaunchedGateway {
  /** The official SDK pointed at the gateway's `/openai` surface (no retries). */
  openai: OpenAI
}

export interface GatewayOptions {
  /** Extra `client` settings (`allow_direct_keys`, `header_filter_config` ...). */
  client?: Record<string, unknown>
  /** Extra top-level config merged over the default. */
  config?: Record<string, unknown>
  /** Key the SDK client sends. */
  apiKey?: string
}

/**
 * Starts the real gateway with `config` under `$SWITCHYARD_TEST_RUNTIME`:
 * - `node` (default): in this process (`startGateway`, memory storage, silent log);
 * - `bun`, `deno`: that runtime's CLI as a child process, with the config in a temp file, a
 *   temp data directory and port 0 (the URL comes from its start log line).
 * Tests see only the URL, so every e2e file runs unchanged under each runtime.
 */
export async function launchGateway(config: Record<string, unknown>): Promise<LaunchedGateway> {
  const runtime = testRuntime()
  if (runtime === 'node') {
    const running = await startGateway({ config, port: 0, dataDir: null, logger: silentLogger, env: {} })
    return { url: running.url, close: () => running.close(1_000) }
  }
  const dir = await mkdtemp(join(tmpdir(), `switchyard-${runtime}-`))
  const configPath = join(dir, 'config.json')
  await writeFile(configPath, JSON.stringify(config))
  const child = await startCli(runtime, ['--config', configPath, '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data')]).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true })
    throw error
  })
  let closing: Promise<void> | undefined
  return {
    url: child.url,
    close: () =>
      (closing ??= (async () => {
        const ended = await child.stop(15_000)
        await rm(dir, { recursive: true, force: true })
        if (ended.code !== 0) throw new Error(`the ${runtime} gateway did not exit cleanly on SIGTERM (code ${ended.code}, signal ${ended.signal})\n${child.output()}`)
      })()),
  }
}

/**
 * Starts the real gateway (see `launchGateway`) with the `openai` provider pointed at `mock`.
 * Without a mock, the openai provider points at a closed port, for tests that must not reach
 * any upstream.
 */
export async function startTestGateway(mock: MockOpenAI | undefined, options: GatewayOptions = {}): Promise<TestGateway> {
  const baseURL = mock ? `${mock.url}/v1` : 'http://127.0.0.1:9/v1'
  const gateway = await launchGateway({
    providers: {
      openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: baseURL } },
    },
    ...(options.client ? { client: options.client } : {}),
    ...options.config,
  })
  const openai = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: options.apiKey ?? CALLER_KEY, maxRetries: 0 })
  return { ...gateway, openai }
}
