import * as v from 'valibot'
import { GatewayError } from '@switchyard/core'
import { defineOpenAICompatible } from '@switchyard/provider-openai'

/** Where `ollama serve` listens by default. */
export const OLLAMA_BASE_URL = 'http://localhost:11434/v1'

/**
 * Ollama through its OpenAI-compatible API (https://github.com/ollama/ollama/blob/main/docs/openai.md):
 * `http://localhost:11434/v1`, no key (one is sent when configured, for a server behind an
 * authenticating proxy). Why not the native `/api/chat`: the OpenAI-compatible endpoints cover
 * chat (tools, images, JSON schema output, `reasoning_effort`), streams with
 * `stream_options.include_usage`, `/v1/completions` and `/v1/embeddings`, so the OpenAI codec and
 * passthrough serve it unchanged and OpenAI SDK callers are forwarded byte for byte; a native
 * codec would add NDJSON streams and a second options shape for the native-only knobs
 * (`keep_alive`, `options.num_ctx` ...), which callers cannot set through the other surfaces anyway.
 * - `max_tokens` (Ollama's compatibility page lists it; `max_completion_tokens` is not listed).
 * - Model names keep their tag: `ollama/llama3.1:8b`.
 */
export default defineOpenAICompatible({
  id: 'ollama',
  baseURL: OLLAMA_BASE_URL,
  requiresKey: false,
  endpoints: { completions: true, embeddings: true },
  quirks: { maxTokensField: 'max_tokens' },
  capabilities: { chat: true, stream: true, tools: true, images: true, embeddings: true, completions: true, reasoning: true },
})

/** The native API root for an OpenAI-compatible base URL: `http://host:11434/v1` -> `http://host:11434`. */
export function ollamaNativeRoot(baseURL: string): string {
  return baseURL.replace(/\/+$/, '').replace(/\/v1$/, '')
}

/** `GET /api/tags`, the native model list (https://github.com/ollama/ollama/blob/main/docs/api.md#list-local-models). */
export function ollamaTagsRequest(baseURL: string = OLLAMA_BASE_URL): { url: string; method: 'GET'; headers: Record<string, string> } {
  return { url: `${ollamaNativeRoot(baseURL)}/api/tags`, method: 'GET', headers: { accept: 'application/json' } }
}

const TagsSchema = v.looseObject({
  models: v.array(v.looseObject({ name: v.optional(v.string()), model: v.optional(v.string()) })),
})

/** `/api/tags` answer -> model names as Ollama spells them (`llama3.1:8b`). */
export function parseOllamaTags(json: unknown): string[] {
  const result = v.safeParse(TagsSchema, json)
  if (!result.success) throw new GatewayError({ status: 502, code: 'upstream', message: `malformed /api/tags answer from ollama: ${result.issues[0].message}` })
  return result.output.models.map((model) => model.name ?? model.model).filter((name): name is string => typeof name === 'string' && name.length > 0)
}

/**
 * The models a running Ollama server has pulled, via `/api/tags` with the given `fetch`. The
 * gateway's `GET /models` lists configured models and does not call upstreams; use this to fill
 * `keys[].models` or for tooling.
 */
export async function listOllamaModels(fetcher: typeof fetch = fetch, baseURL: string = OLLAMA_BASE_URL, signal?: AbortSignal): Promise<string[]> {
  const request = ollamaTagsRequest(baseURL)
  const response = await fetcher(request.url, { method: request.method, headers: request.headers, signal })
  if (!response.ok) throw new GatewayError({ status: response.status, code: 'upstream', message: `[ollama] GET /api/tags failed with status ${response.status}`, provider: 'ollama' })
  return parseOllamaTags(await response.json())
}
