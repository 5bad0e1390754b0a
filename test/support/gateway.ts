import OpenAI from 'openai'
import { silentLogger } from '@switchyard/core'
import { startGateway, type RunningGateway } from '../../runtimes/node/src/index.js'
import type { MockOpenAI } from './mock-openai.js'

/** The provider key the gateway is configured with (what the upstream should see). */
export const UPSTREAM_KEY = 'sk-test-upstream-key-123456'
/** The key the test's SDK client sends to the gateway. */
export const CALLER_KEY = 'caller-key'

export interface TestGateway {
  /** `http://127.0.0.1:<port>` of the gateway. */
  url: string
  /** The official SDK pointed at the gateway's `/openai` surface (no retries). */
  openai: OpenAI
  running: RunningGateway
  close(): Promise<void>
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
 * Starts the real gateway in process (Node runtime, memory storage, silent log) with the
 * `openai` provider pointed at `mock`. Without a mock, the openai provider points at a
 * closed port, for tests that must not reach any upstream.
 */
export async function startTestGateway(mock: MockOpenAI | undefined, options: GatewayOptions = {}): Promise<TestGateway> {
  const baseURL = mock ? `${mock.url}/v1` : 'http://127.0.0.1:9/v1'
  const running = await startGateway({
    config: {
      providers: {
        openai: { keys: [{ value: UPSTREAM_KEY, models: [], weight: 1 }], network_config: { base_url: baseURL } },
      },
      ...(options.client ? { client: options.client } : {}),
      ...options.config,
    },
    port: 0,
    dataDir: null,
    logger: silentLogger,
    env: {},
  })
  const openai = new OpenAI({ baseURL: `${running.url}/openai`, apiKey: options.apiKey ?? CALLER_KEY, maxRetries: 0 })
  return { url: running.url, openai, running, close: () => running.close(1_000) }
}
