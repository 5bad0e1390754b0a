import type { Operation, ProviderCapabilities, ProviderDefinition } from '@switchyard/core'
import azure from '@switchyard/provider-azure'
import ollama from '@switchyard/provider-ollama'
import openai, { presets } from '@switchyard/provider-openai'
import { anthropicProofs, azureProofs, bedrockProofs, cohereProofs, googleProofs, mockProofs, openaiProofs } from './capabilities-native.js'
import { gatewayBatchProof, gatewayFilesProof, NATIVE_FILES_AND_BATCH } from './capabilities-batch.js'
import { compatibleProofs, type Evidence, type Proof } from './capabilities-proofs.js'
import { PREFIXES } from './capabilities-upstream.js'

/**
 * The capability matrix behind the table in docs/providers.md: its columns, its providers, how
 * each provider is configured against the mock upstreams, and the proofs (`capabilities-proofs.ts`,
 * `capabilities-native.ts`) that establish each cell. `test/capabilities.test.ts` runs every proof
 * and then requires the documented table to equal the matrix the passing proofs give.
 *
 * Adding a column: append it to {@link CAPABILITIES}, add the column to the documented table ("no"
 * everywhere), then add proofs (a `files` proof for a provider is a `files` entry in its proofs) and
 * flip the cells they establish.
 */

/** The table's columns, in order. */
export const CAPABILITIES = ['chat', 'stream', 'tools', 'vision', 'reasoning', 'embeddings', 'images', 'audio', 'moderations', 'rerank', 'files', 'batch'] as const
export type Capability = (typeof CAPABILITIES)[number]

/** A table cell for a proof's evidence: `yes` (recorded, or the provider's own in-process answer), `spec` (no recording exists). */
export const CELL_OF: Readonly<Record<Evidence, string>> = { recorded: 'yes', 'in-process': 'yes', spec: 'spec' }

export interface ProviderCase {
  id: string
  /** Proofs by capability; a capability without one is "no". */
  proofs: Partial<Record<Capability, Proof>>
}

/** Where the mock upstreams listen. */
export interface UpstreamURLs {
  /** The capability upstream (every provider but openai and anthropic, under `PREFIXES`). */
  upstream: string
  openai: string
  anthropic: string
}

const operationsOf = (definition: ProviderDefinition): readonly Operation[] => definition.upstream?.passthroughOperations ?? []
const claimsOf = (definition: ProviderDefinition): ProviderCapabilities => definition.capabilities?.('') ?? {}

/**
 * `files` and `batch` of a provider without a batch API of its own: files kept by the gateway, and
 * a gateway-run batch of a request to `chat` (evidence: that of its chat proof).
 */
const gatewayRun = (id: string, chat: string, evidence: Evidence = 'recorded') => ({ files: gatewayFilesProof(id), batch: gatewayBatchProof(id, chat, evidence) })

/** An OpenAI-compatible preset's proofs, from its own declarations (claimed tools and vision, forwarded endpoints). */
function preset(id: string, chat: string, embeddings?: string): ProviderCase {
  const definition = presets[id]!
  return { id, proofs: { ...compatibleProofs(id, { chat, embeddings }, claimsOf(definition), operationsOf(definition)), ...gatewayRun(id, chat) } }
}

/** Every provider of the table, in its row order. */
export const PROVIDER_CASES: readonly ProviderCase[] = [
  { id: 'openai', proofs: { ...openaiProofs(operationsOf(openai)), ...NATIVE_FILES_AND_BATCH.openai } },
  { id: 'anthropic', proofs: { ...anthropicProofs(), ...NATIVE_FILES_AND_BATCH.anthropic } },
  { id: 'gemini', proofs: { ...googleProofs('gemini'), ...NATIVE_FILES_AND_BATCH.gemini } },
  { id: 'vertex', proofs: { ...googleProofs('vertex'), ...gatewayRun('vertex', 'gemini-2.5-flash') } },
  { id: 'azure', proofs: { ...azureProofs(operationsOf(azure)), ...gatewayRun('azure', 'gpt-5-nano') } },
  { id: 'bedrock', proofs: { ...bedrockProofs(), ...NATIVE_FILES_AND_BATCH.bedrock } },
  { id: 'cohere', proofs: { ...cohereProofs(), ...gatewayRun('cohere', 'command-a-03-2025') } },
  { id: 'ollama', proofs: { ...compatibleProofs('ollama', { chat: 'llama3.1:8b', embeddings: 'nomic-embed-text' }, claimsOf(ollama), operationsOf(ollama)), ...gatewayRun('ollama', 'llama3.1:8b') } },
  preset('mistral', 'mistral-small-latest', 'mistral-embed'),
  preset('groq', 'llama-3.3-70b-versatile'),
  preset('deepseek', 'deepseek-chat'),
  preset('xai', 'grok-3-mini'),
  preset('openrouter', 'openai/gpt-4o-mini', 'openai/text-embedding-3-small'),
  preset('together', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', 'BAAI/bge-base-en-v1.5'),
  preset('fireworks', 'accounts/fireworks/models/llama-v3p1-8b-instruct', 'nomic-ai/nomic-embed-text-v1.5'),
  preset('cerebras', 'llama3.1-8b'),
  preset('perplexity', 'sonar'),
  preset('huggingface', 'meta-llama/Llama-3.1-8B-Instruct:cerebras'),
  preset('vllm', 'Qwen/Qwen3-8B', 'BAAI/bge-m3'),
  preset('lmstudio', 'qwen2.5-7b-instruct', 'text-embedding-nomic-embed-text-v1.5'),
  { id: 'mock', proofs: { ...mockProofs(), ...gatewayRun('mock', 'echo', 'in-process') } },
]

const key = (value: string) => [{ value, models: [], weight: 1 }]

/** The gateway config: every provider of the table pointed at its mock upstream. */
export function capabilityGatewayConfig(urls: UpstreamURLs): Record<string, unknown> {
  const at = (id: string) => ({ base_url: `${urls.upstream}${PREFIXES[id]}` })
  const providers: Record<string, unknown> = {
    openai: { keys: key('sk-capability-openai-key'), network_config: { base_url: `${urls.openai}/v1` } },
    anthropic: { keys: key('sk-ant-capability-key'), network_config: { base_url: `${urls.anthropic}/v1` } },
    gemini: { keys: key('AIzaSyCapabilityTestKey-0123456789abcd'), network_config: at('gemini') },
    // An express-mode API key: publisher models without a project in the URL.
    vertex: { keys: key('vertex-express-capability-key'), network_config: at('vertex') },
    azure: {
      keys: [{ value: 'azure-capability-key', azure_key_config: { endpoint: urls.upstream, api_version: '2024-10-21' } }],
      options: { endpoint_allowlist: ['http://127.0.0.1:*'], allow_private_endpoints: true },
    },
    // A Bedrock API key (not JSON): bearer auth, no SigV4.
    bedrock: { keys: key('bedrock-api-key-capability'), network_config: at('bedrock') },
    cohere: { keys: key('co-capability-key'), network_config: at('cohere') },
    ollama: { network_config: at('ollama') },
    mock: {},
  }
  for (const id of Object.keys(presets)) providers[id] = { ...(presets[id]!.requiresKey !== false && { keys: key(`${id}-capability-key`) }), network_config: at(id) }
  // The Files and Batch APIs (`files` and `batch` columns): gateway-run batches on this gateway.
  return { providers, plugins: [{ name: '@switchyard/plugin-files-batch', config: { batches: { scan_interval_ms: 200 } } }] }
}

// ---- The documented table ---------------------------------------------------------------------------

export const TABLE_START = '<!-- capability-table:start -->'
export const TABLE_END = '<!-- capability-table:end -->'

export interface DocumentedTable {
  /** Header cells after "Provider", notes column excluded. */
  columns: string[]
  /** Provider id -> column -> cell text (lower case). */
  cells: Record<string, Record<string, string>>
}

const cellsOf = (line: string) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim())

/**
 * Reads the capability table between {@link TABLE_START} and {@link TABLE_END}: a header
 * `| Provider | chat | ... | batch | Notes |`, a separator, one row per provider (`` `openai` ``).
 */
export function readCapabilityTable(markdown: string): DocumentedTable {
  const start = markdown.indexOf(TABLE_START)
  const end = markdown.indexOf(TABLE_END)
  if (start === -1 || end < start) throw new Error(`docs/providers.md has no ${TABLE_START} ... ${TABLE_END} section`)
  const lines = markdown.slice(start + TABLE_START.length, end).split('\n').filter((line) => line.trim().startsWith('|'))
  const header = cellsOf(lines[0] ?? '')
  const notes = header.at(-1)?.toLowerCase() === 'notes' ? 1 : 0
  const columns = header.slice(1, header.length - notes).map((column) => column.toLowerCase())
  const cells: DocumentedTable['cells'] = {}
  for (const line of lines.slice(2)) {
    const row = cellsOf(line)
    const id = row[0]!.replace(/`/g, '')
    cells[id] = Object.fromEntries(columns.map((column, index) => [column, (row[index + 1] ?? '').toLowerCase()]))
  }
  return { columns, cells }
}
