import type { ProviderDefinition } from '@switchyard/core'
import { defineOpenAICompatible } from './compatible.js'

/**
 * OpenAI-compatible presets: base URL, auth and documented quirks over the OpenAI codec. The
 * gateway finds them through this package's `presets` export: `providers.mistral` in the config,
 * with no `@switchyard/provider-mistral` installed, is served by `presets.mistral`.
 *
 * Each quirk names where it comes from. "Recorded" means the wire data in the shared fixtures
 * shows it; "docs" the provider's API reference; "reported" public bug reports of the upstream's
 * error. Quirks shape only bodies the gateway builds (callers of another dialect); an OpenAI
 * caller's own body is forwarded as sent (passthrough), so it gets the upstream's own answer.
 */

/**
 * Mistral (https://docs.mistral.ai/api/): `https://api.mistral.ai/v1`, bearer key.
 * - `max_tokens`; `max_completion_tokens` is rejected with a 422 `extra_forbidden` (reported).
 * - `random_seed`, not `seed` (docs). Unknown fields are 422s (reported: the API validates
 *   strictly), so `user`, `metadata` and `reasoning_effort` are left out with a warning (none is in
 *   the API reference; whether newer models take `reasoning_effort` is not verified).
 * - `stream_options` is rejected (422, reported), and usage comes on the last content chunk
 *   anyway (recorded: `mistral/chat-stream-text.chunks.txt`): `streamUsage: 'always'`, so the
 *   gateway never asks and never strips a chunk there.
 * - Tool-call ids must be 9 characters of `[a-zA-Z0-9]` (reported: "Tool call id was ... but must
 *   be a-z, A-Z, 0-9, with a length of 9"); ids from other providers are mapped.
 * - `name` on user messages is rejected (reported); earlier reasoning is not taken back as
 *   `reasoning_content` (unknown field): both left out with a warning.
 * - Replies: content may be an array of `text`/`thinking` chunks (recorded, Magistral), read by the
 *   OpenAI codec; embeddings at `/embeddings` (docs).
 */
export const mistral = defineOpenAICompatible({
  id: 'mistral',
  baseURL: 'https://api.mistral.ai/v1',
  envKey: 'MISTRAL_API_KEY',
  endpoints: { embeddings: true },
  quirks: {
    maxTokensField: 'max_tokens',
    renameFields: { seed: 'random_seed' },
    dropFields: ['user', 'metadata', 'reasoning_effort'],
    streamUsage: 'always',
    alphanumericToolCallIds: 9,
    dropMessageName: true,
    reasoningHistory: 'drop',
  },
  capabilities: { chat: true, stream: true, tools: true, images: true, embeddings: true, reasoning: true },
})

/**
 * Groq (https://console.groq.com/docs/openai): `https://api.groq.com/openai/v1`, bearer key.
 * - `logprobs`, `logit_bias`, `top_logprobs` and `messages[].name` are 400s, and `n` must be 1
 *   (docs, "Currently Unsupported OpenAI Features"): fields left out with a warning, `n > 1` a 400.
 * - Usage comes on the finish chunk without asking, as `usage` and `x_groq.usage` (recorded:
 *   a stream requested without `stream_options` in `groq/chat-stream-error-tool-use-failed`), so
 *   `streamUsage: 'always'`. `x_groq` (request id, seed) stays in the response's `extra`.
 * - Errors inside a 200 stream come as `event: error` (recorded, `tool_use_failed`): an error event.
 * - Reasoning models answer with `reasoning` (recorded); it is not sent back (`drop`), since
 *   Groq validates message members strictly (not verified for `reasoning_content`).
 * - `max_completion_tokens` (docs; `max_tokens` is deprecated). Groq also serves the Responses
 *   API (docs), so `/responses` callers are forwarded.
 * - Audio: Whisper transcriptions and translations and text-to-speech at OpenAI's paths (docs,
 *   speech-to-text and text-to-speech guides): forwarded.
 */
export const groq = defineOpenAICompatible({
  id: 'groq',
  baseURL: 'https://api.groq.com/openai/v1',
  envKey: 'GROQ_API_KEY',
  endpoints: { responses: true, speech: true, transcriptions: true, translations: true },
  quirks: {
    dropFields: ['logprobs', 'logit_bias', 'top_logprobs'],
    dropMessageName: true,
    maxChoices: 1,
    streamUsage: 'always',
    reasoningHistory: 'drop',
  },
  capabilities: { chat: true, stream: true, tools: true, images: true, responses: true, reasoning: true },
})

/**
 * DeepSeek (https://api-docs.deepseek.com/): `https://api.deepseek.com`, bearer key.
 * - `max_tokens` (docs).
 * - `reasoning_content` beside `content` (recorded); in thinking mode the reasoning of tool-call
 *   turns must be sent back, or the API answers 400 (docs, thinking mode guide): the default
 *   `reasoning_content` history does that.
 * - Usage: `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens` (docs, recorded); the hits are the
 *   cached input when `prompt_tokens_details.cached_tokens` is absent. Streams report usage with
 *   `stream_options.include_usage` (docs; recorded on the finish chunk).
 * - No embeddings; `/completions` is a FIM beta under another root, so not offered.
 */
export const deepseek = defineOpenAICompatible({
  id: 'deepseek',
  baseURL: 'https://api.deepseek.com',
  envKey: 'DEEPSEEK_API_KEY',
  quirks: { maxTokensField: 'max_tokens', promptCacheHitTokens: true },
  capabilities: { chat: true, stream: true, tools: true, reasoning: true },
})

/**
 * xAI (https://docs.x.ai/): `https://api.x.ai/v1`, bearer key.
 * - `reasoning_content` on grok-3-mini answers, usage with `reasoning_tokens`, `cached_tokens`,
 *   `num_sources_used`, `cost_in_usd_ticks` (recorded; kept in usage `extra`).
 * - Stream usage in a separate `choices: []` chunk after `stream_options.include_usage`, as OpenAI
 *   (recorded).
 * - `max_tokens` (every xAI example uses it; whether `max_completion_tokens` is accepted too was not
 *   verified). The Responses API is xAI's primary API (docs): `/responses` callers are forwarded.
 * - Not handled: reasoning models reject `presence_penalty`, `frequency_penalty`, `stop` and some
 *   `reasoning_effort` values per model (docs); the upstream's 400 reaches the caller.
 */
export const xai = defineOpenAICompatible({
  id: 'xai',
  baseURL: 'https://api.x.ai/v1',
  envKey: 'XAI_API_KEY',
  // Image generation at `/images/generations` (docs, image generation guide).
  endpoints: { responses: true, imageGenerations: true },
  quirks: { maxTokensField: 'max_tokens' },
  capabilities: { chat: true, stream: true, tools: true, images: true, responses: true, reasoning: true },
})

/**
 * OpenRouter (https://openrouter.ai/docs): `https://openrouter.ai/api/v1`, bearer key. Optional
 * attribution headers (`HTTP-Referer`, `X-Title`) go in `network_config.extra_headers`.
 * - Reasoning: asked with `reasoning: { effort, max_tokens }` (docs), so an Anthropic thinking budget
 *   is sent exactly, not rounded to an effort; answered as `reasoning` text plus `reasoning_details`
 *   (signed `reasoning.text`, `reasoning.encrypted`), which are read into the IR with their
 *   signatures and sent back as `reasoning_details` (docs: preserving reasoning blocks).
 * - `cache_control` on content parts is passed on to Anthropic and Gemini models (docs, prompt
 *   caching): IR cache hints are sent whatever dialect they came from.
 * - `top_k` (docs). `max_tokens` (docs). Streams may carry `: OPENROUTER PROCESSING` SSE comments
 *   (docs), which the SSE parser skips and the passthrough relays unchanged.
 * - `/completions` and `/embeddings` are forwarded; the Responses API (beta) is translated.
 */
export const openrouter = defineOpenAICompatible({
  id: 'openrouter',
  baseURL: 'https://openrouter.ai/api/v1',
  envKey: 'OPENROUTER_API_KEY',
  endpoints: { completions: true, embeddings: true },
  quirks: { maxTokensField: 'max_tokens', topK: true, cacheControl: true, reasoningDetails: true, reasoningHistory: 'reasoning_details', reasoningObject: true },
  capabilities: { chat: true, stream: true, tools: true, images: true, embeddings: true, completions: true, reasoning: true },
})

/**
 * Together AI (https://docs.together.ai/reference/chat-completions-1): `https://api.together.xyz/v1`,
 * bearer key. `max_tokens`, `top_k` (docs; `repetition_penalty`, `min_p` ride along from OpenAI
 * callers). `/completions`, `/embeddings`, `/images/generations`, `/audio/speech`,
 * `/audio/transcriptions`, `/audio/translations` and `/rerank` are forwarded (docs, API reference).
 */
export const together = defineOpenAICompatible({
  id: 'together',
  baseURL: 'https://api.together.xyz/v1',
  envKey: 'TOGETHER_API_KEY',
  endpoints: { completions: true, embeddings: true, imageGenerations: true, speech: true, transcriptions: true, translations: true, rerank: true },
  quirks: { maxTokensField: 'max_tokens', topK: true },
  capabilities: { chat: true, stream: true, tools: true, images: true, embeddings: true, completions: true },
})

/**
 * Fireworks AI (https://docs.fireworks.ai/api-reference/post-chatcompletions):
 * `https://api.fireworks.ai/inference/v1`, bearer key. Models are paths
 * (`fireworks/accounts/fireworks/models/llama-v3p1-8b-instruct`). `max_tokens`, `top_k` (docs).
 * `/completions` and `/embeddings` are forwarded (docs).
 */
export const fireworks = defineOpenAICompatible({
  id: 'fireworks',
  baseURL: 'https://api.fireworks.ai/inference/v1',
  envKey: 'FIREWORKS_API_KEY',
  endpoints: { completions: true, embeddings: true },
  quirks: { maxTokensField: 'max_tokens', topK: true },
  capabilities: { chat: true, stream: true, tools: true, images: true, embeddings: true, completions: true },
})

/**
 * Cerebras (https://inference-docs.cerebras.ai/resources/openai): `https://api.cerebras.ai/v1`,
 * bearer key. `max_completion_tokens` (docs). Its OpenAI-compatibility page has listed
 * `frequency_penalty`, `presence_penalty`, `logit_bias`, `parallel_tool_calls` and `service_tier` as
 * 400s: left out with a warning (the list may have shrunk since; not verified against the live API).
 * `/completions` is forwarded.
 */
export const cerebras = defineOpenAICompatible({
  id: 'cerebras',
  baseURL: 'https://api.cerebras.ai/v1',
  envKey: 'CEREBRAS_API_KEY',
  endpoints: { completions: true },
  quirks: { dropFields: ['frequency_penalty', 'presence_penalty', 'logit_bias', 'parallel_tool_calls', 'service_tier'] },
  capabilities: { chat: true, stream: true, tools: true, completions: true, reasoning: true },
})

/**
 * Perplexity (https://docs.perplexity.ai/api-reference/chat-completions-post):
 * `https://api.perplexity.ai` (no `/v1`), bearer key. `max_tokens` (docs). Answers carry
 * `citations` and `search_results` beside `choices` (docs), kept in the response's `extra` for
 * OpenAI callers. Usage comes in the stream without asking (every chunk carries it, as far as
 * known; not recorded), so `stream_options` is not sent (`streamUsage: 'always'`). Not handled:
 * the API requires user and assistant turns to alternate after the system message (docs).
 */
export const perplexity = defineOpenAICompatible({
  id: 'perplexity',
  baseURL: 'https://api.perplexity.ai',
  envKey: 'PERPLEXITY_API_KEY',
  quirks: { maxTokensField: 'max_tokens', streamUsage: 'always' },
  capabilities: { chat: true, stream: true },
})

/**
 * Hugging Face Inference Providers (https://huggingface.co/docs/inference-providers):
 * `https://router.huggingface.co/v1`, a Hugging Face token as bearer key. Model ids are repo ids,
 * optionally with a provider or policy suffix (`huggingface/meta-llama/Llama-3.1-8B-Instruct:cerebras`,
 * `...:fastest`): the gateway splits `provider/model` at the first `/`, so the rest is kept whole.
 * `max_tokens` (docs). Only chat completions are served under this root.
 */
export const huggingface = defineOpenAICompatible({
  id: 'huggingface',
  baseURL: 'https://router.huggingface.co/v1',
  envKey: 'HF_TOKEN',
  quirks: { maxTokensField: 'max_tokens' },
  capabilities: { chat: true, stream: true, tools: true, images: true },
})

/**
 * vLLM's OpenAI-compatible server (https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html):
 * self-hosted, so there is no default address (`network_config.base_url` is required, checked at
 * start) and the key is optional (only when the server runs with `--api-key`). `max_tokens` (works
 * on every vLLM version), `top_k` (docs, sampling parameters). `/completions`, `/embeddings`,
 * `/audio/transcriptions`, `/audio/translations` (Whisper-style models) and `/rerank` (cross-encoder
 * models) are forwarded (docs); the Responses API is translated (older servers lack it).
 */
export const vllm = defineOpenAICompatible({
  id: 'vllm',
  requiresKey: false,
  endpoints: { completions: true, embeddings: true, transcriptions: true, translations: true, rerank: true },
  quirks: { maxTokensField: 'max_tokens', topK: true },
  capabilities: { chat: true, stream: true, tools: true, images: true, embeddings: true, completions: true, reasoning: true },
})

/**
 * LM Studio's local server (https://lmstudio.ai/docs/app/api/endpoints/openai):
 * `http://localhost:1234/v1`, no key. `max_tokens`, `top_k` (docs). `/completions` and
 * `/embeddings` are forwarded.
 */
export const lmstudio = defineOpenAICompatible({
  id: 'lmstudio',
  baseURL: 'http://localhost:1234/v1',
  requiresKey: false,
  endpoints: { completions: true, embeddings: true },
  quirks: { maxTokensField: 'max_tokens', topK: true },
  capabilities: { chat: true, stream: true, tools: true, embeddings: true, completions: true },
})

/**
 * Every preset by id: the `presets` export the gateway's loader reads (core `ProviderModule`).
 * Adding one is a `defineOpenAICompatible` call here, documented in docs/providers.md.
 */
export const presets: Readonly<Record<string, ProviderDefinition>> = {
  mistral,
  groq,
  deepseek,
  xai,
  openrouter,
  together,
  fireworks,
  cerebras,
  perplexity,
  huggingface,
  vllm,
  lmstudio,
}
