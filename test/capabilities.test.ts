import { readFileSync } from 'node:fs'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CAPABILITIES, CELL_OF, capabilityGatewayConfig, PROVIDER_CASES, readCapabilityTable } from './support/capabilities.js'
import { startCapabilityUpstream, type CapabilityUpstream } from './support/capabilities-upstream.js'
import type { ProofContext } from './support/capabilities-proofs.js'
import { CALLER_KEY, launchGateway, type LaunchedGateway } from './support/gateway.js'
import { startMockAnthropic, type MockAnthropic } from './support/mock-anthropic.js'
import { startMockOpenAI, type MockOpenAI } from './support/mock-openai.js'

/**
 * The capability table of docs/providers.md cannot drift: every provider x capability the gateway
 * claims is run here through the real gateway with the official OpenAI SDK against a mock upstream
 * replaying that provider's recorded traffic (see `support/capabilities*.ts`), and the last test
 * requires the documented table to be exactly the matrix the passing proofs establish: a "yes"
 * (or "spec") without a passing proof fails, and so does a proven capability documented as "no".
 * Run the whole file: with a name filter the table check sees the filtered-out proofs as missing.
 */

const DOCS = new URL('../docs/providers.md', import.meta.url)

let upstream: CapabilityUpstream
let mockOpenAI: MockOpenAI
let mockAnthropic: MockAnthropic
let gateway: LaunchedGateway
let context: ProofContext
/** Provider -> capability -> cell, for each proof that passed. */
const proven: Record<string, Record<string, string>> = {}

beforeAll(async () => {
  ;[upstream, mockOpenAI, mockAnthropic] = await Promise.all([startCapabilityUpstream(), startMockOpenAI(), startMockAnthropic()])
  gateway = await launchGateway(capabilityGatewayConfig({ upstream: upstream.url, openai: mockOpenAI.url, anthropic: mockAnthropic.url }))
  context = { openai: new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 }), gatewayUrl: gateway.url, upstream, mockOpenAI, mockAnthropic }
})
afterAll(async () => {
  await gateway?.close()
  await Promise.all([upstream?.close(), mockOpenAI?.close(), mockAnthropic?.close()])
})
afterEach(() => {
  // The spec-validating mocks: what the gateway sent must be a valid request of that API.
  const invalid = [...mockOpenAI.requests, ...mockAnthropic.requests].filter((request) => request.specErrors.length > 0).map((request) => ({ path: request.path, errors: request.specErrors }))
  mockOpenAI.reset()
  mockAnthropic.reset()
  upstream.requests.length = 0
  expect(invalid, 'every request to the OpenAI and Anthropic mocks must be valid per their specs').toEqual([])
})

for (const provider of PROVIDER_CASES) {
  describe(provider.id, () => {
    for (const [capability, proof] of Object.entries(provider.proofs)) {
      it(`${capability} (${proof!.evidence})`, async () => {
        expect(CAPABILITIES).toContain(capability)
        await proof!.run(context)
        ;(proven[provider.id] ??= {})[capability] = CELL_OF[proof!.evidence]
      })
    }
  })
}

describe('docs/providers.md capability table', () => {
  const table = () => readCapabilityTable(readFileSync(DOCS, 'utf8'))

  it('has one column per capability and one row per provider, in order', () => {
    expect(table().columns).toEqual([...CAPABILITIES])
    expect(Object.keys(table().cells)).toEqual(PROVIDER_CASES.map((provider) => provider.id))
  })

  it('says exactly what the proofs above established', () => {
    const established = Object.fromEntries(PROVIDER_CASES.map((provider) => [provider.id, Object.fromEntries(CAPABILITIES.map((capability) => [capability, proven[provider.id]?.[capability] ?? 'no']))]))
    expect(table().cells).toEqual(established)
  })
})
