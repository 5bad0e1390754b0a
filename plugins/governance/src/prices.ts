import type { Usage } from '@switchyard/core'

/**
 * What one model costs, in USD. Names follow the common per-token price sheets (LiteLLM's and
 * Bifrost's model catalogs use the same ones), so a sheet can be pasted into `governance.pricing`.
 * A component left out is unknown, never 0: a request that used it is unpriced.
 */
export interface ModelPrice {
  /** Per prompt token that was neither read from nor written to the prompt cache. */
  input_cost_per_token?: number
  /** Per completion token (reasoning tokens too, unless `output_cost_per_reasoning_token`). */
  output_cost_per_token?: number
  /** Per prompt token read from the cache. Default: `input_cost_per_token`. */
  cache_read_input_token_cost?: number
  /** Per prompt token written to the cache. Default: `input_cost_per_token`. */
  cache_creation_input_token_cost?: number
  /** Per reasoning token. Default: `output_cost_per_token`. */
  output_cost_per_reasoning_token?: number
  /** Per generated image (image generation, edit and variation requests, by their `n`). */
  output_cost_per_image?: number
  /** Per second of input audio (transcription, translation), when the provider reports the duration. */
  input_cost_per_audio_per_second?: number
  /** Share taken off the whole cost of a batch request: 0.5 = half price. Default 0. */
  batch_discount?: number
}

/** Prices per million tokens, written the way providers publish them. */
interface Sheet {
  in?: number
  out?: number
  cacheRead?: number
  cacheWrite?: number
  image?: number
  audioSecond?: number
  batch?: number
}

const M = 1_000_000
const fromSheet = (sheet: Sheet): ModelPrice => ({
  ...(sheet.in !== undefined && { input_cost_per_token: sheet.in / M }),
  ...(sheet.out !== undefined && { output_cost_per_token: sheet.out / M }),
  ...(sheet.cacheRead !== undefined && { cache_read_input_token_cost: sheet.cacheRead / M }),
  ...(sheet.cacheWrite !== undefined && { cache_creation_input_token_cost: sheet.cacheWrite / M }),
  ...(sheet.image !== undefined && { output_cost_per_image: sheet.image }),
  ...(sheet.audioSecond !== undefined && { input_cost_per_audio_per_second: sheet.audioSecond }),
  ...(sheet.batch !== undefined && { batch_discount: sheet.batch }),
})

/** Date the shipped prices were taken from the providers' public price pages. */
export const PRICES_AS_OF = '2025-10-01'

/**
 * The shipped price table, `provider/model` -> price (USD per 1M tokens below). Providers change
 * prices: override or add models with `governance.pricing` instead of waiting for a release.
 */
const SHEETS: Record<string, Sheet> = {
  // OpenAI (batch API: half price)
  'openai/gpt-5': { in: 1.25, out: 10, cacheRead: 0.125, batch: 0.5 },
  'openai/gpt-5-chat-latest': { in: 1.25, out: 10, cacheRead: 0.125, batch: 0.5 },
  'openai/gpt-5-mini': { in: 0.25, out: 2, cacheRead: 0.025, batch: 0.5 },
  'openai/gpt-5-nano': { in: 0.05, out: 0.4, cacheRead: 0.005, batch: 0.5 },
  'openai/gpt-4.1': { in: 2, out: 8, cacheRead: 0.5, batch: 0.5 },
  'openai/gpt-4.1-mini': { in: 0.4, out: 1.6, cacheRead: 0.1, batch: 0.5 },
  'openai/gpt-4.1-nano': { in: 0.1, out: 0.4, cacheRead: 0.025, batch: 0.5 },
  'openai/gpt-4o': { in: 2.5, out: 10, cacheRead: 1.25, batch: 0.5 },
  'openai/gpt-4o-mini': { in: 0.15, out: 0.6, cacheRead: 0.075, batch: 0.5 },
  'openai/o1': { in: 15, out: 60, cacheRead: 7.5, batch: 0.5 },
  'openai/o1-mini': { in: 1.1, out: 4.4, cacheRead: 0.55, batch: 0.5 },
  'openai/o3': { in: 2, out: 8, cacheRead: 0.5, batch: 0.5 },
  'openai/o3-mini': { in: 1.1, out: 4.4, cacheRead: 0.55, batch: 0.5 },
  'openai/o4-mini': { in: 1.1, out: 4.4, cacheRead: 0.275, batch: 0.5 },
  'openai/gpt-4-turbo': { in: 10, out: 30, batch: 0.5 },
  'openai/gpt-4': { in: 30, out: 60, batch: 0.5 },
  'openai/gpt-3.5-turbo': { in: 0.5, out: 1.5, batch: 0.5 },
  'openai/gpt-3.5-turbo-instruct': { in: 1.5, out: 2 },
  'openai/text-embedding-3-small': { in: 0.02, batch: 0.5 },
  'openai/text-embedding-3-large': { in: 0.13, batch: 0.5 },
  'openai/text-embedding-ada-002': { in: 0.1, batch: 0.5 },
  'openai/omni-moderation-latest': { in: 0, out: 0 },
  'openai/text-moderation-latest': { in: 0, out: 0 },
  // Standard quality, 1024x1024.
  'openai/dall-e-3': { image: 0.04 },
  'openai/dall-e-2': { image: 0.02 },
  // $0.006 per minute.
  'openai/whisper-1': { audioSecond: 0.0001 },
  // Anthropic (cache writes: 5-minute TTL; batches: half price)
  'anthropic/claude-opus-4-5': { in: 5, out: 25, cacheRead: 0.5, cacheWrite: 6.25, batch: 0.5 },
  'anthropic/claude-opus-4-1': { in: 15, out: 75, cacheRead: 1.5, cacheWrite: 18.75, batch: 0.5 },
  'anthropic/claude-opus-4': { in: 15, out: 75, cacheRead: 1.5, cacheWrite: 18.75, batch: 0.5 },
  'anthropic/claude-sonnet-4-5': { in: 3, out: 15, cacheRead: 0.3, cacheWrite: 3.75, batch: 0.5 },
  'anthropic/claude-sonnet-4': { in: 3, out: 15, cacheRead: 0.3, cacheWrite: 3.75, batch: 0.5 },
  'anthropic/claude-3-7-sonnet': { in: 3, out: 15, cacheRead: 0.3, cacheWrite: 3.75, batch: 0.5 },
  'anthropic/claude-3-5-sonnet': { in: 3, out: 15, cacheRead: 0.3, cacheWrite: 3.75, batch: 0.5 },
  'anthropic/claude-haiku-4-5': { in: 1, out: 5, cacheRead: 0.1, cacheWrite: 1.25, batch: 0.5 },
  'anthropic/claude-3-5-haiku': { in: 0.8, out: 4, cacheRead: 0.08, cacheWrite: 1, batch: 0.5 },
  'anthropic/claude-3-haiku': { in: 0.25, out: 1.25, cacheRead: 0.03, cacheWrite: 0.3, batch: 0.5 },
  'anthropic/claude-3-opus': { in: 15, out: 75, cacheRead: 1.5, cacheWrite: 18.75, batch: 0.5 },
  // Google Gemini API (prompts up to 200k tokens; batch: half price)
  'gemini/gemini-2.5-pro': { in: 1.25, out: 10, cacheRead: 0.31, batch: 0.5 },
  'gemini/gemini-2.5-flash': { in: 0.3, out: 2.5, cacheRead: 0.075, batch: 0.5 },
  'gemini/gemini-2.5-flash-lite': { in: 0.1, out: 0.4, cacheRead: 0.025, batch: 0.5 },
  'gemini/gemini-2.0-flash': { in: 0.1, out: 0.4, cacheRead: 0.025, batch: 0.5 },
  'gemini/gemini-2.0-flash-lite': { in: 0.075, out: 0.3, batch: 0.5 },
  'gemini/gemini-1.5-pro': { in: 1.25, out: 5 },
  'gemini/gemini-1.5-flash': { in: 0.075, out: 0.3 },
  'gemini/gemini-embedding-001': { in: 0.15 },
  // Mistral
  'mistral/mistral-large-latest': { in: 2, out: 6 },
  'mistral/mistral-medium-latest': { in: 0.4, out: 2 },
  'mistral/mistral-small-latest': { in: 0.1, out: 0.3 },
  'mistral/codestral-latest': { in: 0.3, out: 0.9 },
  'mistral/open-mistral-nemo': { in: 0.15, out: 0.15 },
  'mistral/ministral-8b-latest': { in: 0.1, out: 0.1 },
  'mistral/ministral-3b-latest': { in: 0.04, out: 0.04 },
  'mistral/pixtral-large-latest': { in: 2, out: 6 },
  'mistral/mistral-embed': { in: 0.1 },
  // Groq
  'groq/llama-3.1-8b-instant': { in: 0.05, out: 0.08 },
  'groq/llama-3.3-70b-versatile': { in: 0.59, out: 0.79 },
  // DeepSeek (cache hits at the cache-read price)
  'deepseek/deepseek-chat': { in: 0.27, out: 1.1, cacheRead: 0.07 },
  'deepseek/deepseek-reasoner': { in: 0.55, out: 2.19, cacheRead: 0.14 },
  // xAI
  'xai/grok-4': { in: 3, out: 15, cacheRead: 0.75 },
  'xai/grok-3': { in: 3, out: 15, cacheRead: 0.75 },
  'xai/grok-3-mini': { in: 0.3, out: 0.5, cacheRead: 0.075 },
  // Cohere
  'cohere/command-a-03-2025': { in: 2.5, out: 10 },
  'cohere/command-r-plus': { in: 2.5, out: 10 },
  'cohere/command-r': { in: 0.15, out: 0.6 },
  'cohere/command-r7b-12-2024': { in: 0.0375, out: 0.15 },
  'cohere/embed-english-v3.0': { in: 0.1 },
  'cohere/embed-multilingual-v3.0': { in: 0.1 },
}

/** The shipped prices, per token. */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = Object.fromEntries(Object.entries(SHEETS).map(([name, sheet]) => [name, fromSheet(sheet)]))

/**
 * Providers that sell another provider's models at that provider's list price: their models
 * are looked up under the other provider when they have no price of their own.
 */
const SAME_PRICES_AS: Readonly<Record<string, string>> = { azure: 'openai', vertex: 'gemini' }

/** `gpt-4o-2024-08-06` -> `gpt-4o`, `claude-3-5-sonnet-20241022` -> `claude-3-5-sonnet`, `...-latest` -> `...`. */
export function baseModelName(model: string): string | undefined {
  const base = model.replace(/-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/, '')
  return base === model ? undefined : base
}

/** Looks prices up by `provider` and `model`; `overrides` win over the shipped table. */
export interface PriceBook {
  /** The price of a model, or undefined when neither the overrides nor the table have it. */
  lookup(provider: string, model: string): ModelPrice | undefined
  /** True when some provider has a price for this bare model name (a model catalog for routing). */
  knows(provider: string, model: string): boolean
}

export function createPriceBook(overrides: Readonly<Record<string, ModelPrice>> = {}): PriceBook {
  const table = new Map<string, ModelPrice>(Object.entries(DEFAULT_PRICES))
  for (const [name, price] of Object.entries(overrides)) table.set(name, price)
  const cache = new Map<string, ModelPrice | null>()
  const direct = (provider: string, model: string) => {
    const exact = table.get(`${provider}/${model}`)
    if (exact) return exact
    const base = baseModelName(model)
    return base === undefined ? undefined : table.get(`${provider}/${base}`)
  }
  const lookup = (provider: string, model: string): ModelPrice | undefined => {
    const key = `${provider}/${model}`
    const cached = cache.get(key)
    if (cached !== undefined) return cached ?? undefined
    const alias = SAME_PRICES_AS[provider]
    const found = direct(provider, model) ?? (alias ? direct(alias, model) : undefined)
    // Bounded: callers can send any model string.
    if (cache.size > 10_000) cache.clear()
    cache.set(key, found ?? null)
    return found
  }
  return { lookup, knows: (provider, model) => lookup(provider, model) !== undefined }
}

/** What a request used besides tokens. */
export interface CostExtras {
  /** Images generated (`n` of an image request). */
  images?: number
  /** Seconds of input audio, when known. */
  audioSeconds?: number
  /** A batch request (the batch discount applies). */
  batch?: boolean
}

/** Seconds of audio a provider reported in its usage (`extra.seconds` / `extra.duration`). */
export function audioSecondsOf(usage: Usage | undefined): number | undefined {
  const extra = usage?.extra
  if (!extra) return undefined
  for (const name of ['seconds', 'duration', 'audio_seconds']) {
    const value = extra[name]
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  }
  return undefined
}

/**
 * USD for one request, or undefined when the price does not cover what was used (a token count
 * without its price, images without a per-image price ...) or nothing was measured at all.
 */
export function costOf(price: ModelPrice, usage: Usage | undefined, extras: CostExtras = {}): number | undefined {
  let total = 0
  let measured = false
  const part = (count: number | undefined, unit: number | undefined): boolean => {
    if (count === undefined || count === 0) return true
    if (unit === undefined) return false
    total += count * unit
    return true
  }
  if (usage && (usage.inputTokens !== undefined || usage.outputTokens !== undefined)) {
    measured = true
    const cached = usage.cachedInputTokens ?? 0
    const written = usage.cacheWriteInputTokens ?? 0
    const plain = Math.max(0, (usage.inputTokens ?? 0) - cached - written)
    const reasoning = usage.reasoningTokens ?? 0
    const visible = Math.max(0, (usage.outputTokens ?? 0) - reasoning)
    const ok =
      part(plain, price.input_cost_per_token) &&
      part(cached, price.cache_read_input_token_cost ?? price.input_cost_per_token) &&
      part(written, price.cache_creation_input_token_cost ?? price.input_cost_per_token) &&
      part(visible, price.output_cost_per_token) &&
      part(reasoning, price.output_cost_per_reasoning_token ?? price.output_cost_per_token)
    if (!ok) return undefined
  }
  if (extras.images !== undefined) {
    measured = true
    if (!part(extras.images, price.output_cost_per_image)) return undefined
  }
  const seconds = extras.audioSeconds ?? audioSecondsOf(usage)
  if (seconds !== undefined && price.input_cost_per_audio_per_second !== undefined) {
    measured = true
    total += seconds * price.input_cost_per_audio_per_second
  }
  if (!measured) return undefined
  return extras.batch && price.batch_discount ? total * (1 - price.batch_discount) : total
}
