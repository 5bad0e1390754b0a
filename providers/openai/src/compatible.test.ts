import { describe, expect, it } from 'vitest'
import { GatewayError, type ChatRequest, type ProviderDefinition, type StreamEvent, type UpstreamContext, type Warning } from '@switchyard/core'
import { alphanumericId, compatibleHeaders, defineOpenAICompatible, toCompatibleChatBody } from './compatible.js'
import { presets } from './presets.js'

/** Request building for every preset: URL, auth header and each quirk, on bodies built from the IR. */

const KEY = 'sk-preset-test-key-0001'
const context = (provider: ProviderDefinition, overrides: Partial<UpstreamContext> = {}): UpstreamContext => ({
  providerId: provider.id,
  key: { value: KEY, models: [], weight: 1 },
  baseURL: provider.baseURL ?? '',
  config: { keys: [] },
  signal: new AbortController().signal,
  ...overrides,
})

/** What an Anthropic caller's tool loop looks like in the IR (thinking, tool use, tool result). */
const anthropicTurn = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'some-model',
  dialect: 'anthropic',
  messages: [
    { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
    { role: 'user', name: 'ann', content: [{ type: 'text', text: 'Weather in Paris?', cache: { type: 'ephemeral' } }] },
    {
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'Need the weather tool.', signature: 'sig-123' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool-call', id: 'toolu_01A09q90qw90lq917835lq9', name: 'weather', arguments: '{"city":"Paris"}' },
      ],
    },
    { role: 'user', content: [{ type: 'tool-result', toolCallId: 'toolu_01A09q90qw90lq917835lq9', content: [{ type: 'text', text: '18°C' }] }] },
  ],
  tools: [{ type: 'function', name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
  maxTokens: 256,
  seed: 7,
  topK: 40,
  stream: true,
  user: 'user-1',
  extra: {},
  ...overrides,
})

function build(provider: ProviderDefinition, request: ChatRequest, overrides: Partial<UpstreamContext> = {}) {
  const built = provider.upstream!.chat!.request(request, context(provider, overrides))
  return { ...built, json: JSON.parse(built.body as string) as Record<string, any>, warnings: built.warnings ?? [] }
}
const features = (warnings: readonly Warning[]) => warnings.map((warning) => (warning.type === 'unsupported' ? warning.feature : warning.message))

const BASE_URLS: Record<string, string> = {
  mistral: 'https://api.mistral.ai/v1',
  groq: 'https://api.groq.com/openai/v1',
  deepseek: 'https://api.deepseek.com',
  xai: 'https://api.x.ai/v1',
  openrouter: 'https://openrouter.ai/api/v1',
  together: 'https://api.together.xyz/v1',
  fireworks: 'https://api.fireworks.ai/inference/v1',
  cerebras: 'https://api.cerebras.ai/v1',
  perplexity: 'https://api.perplexity.ai',
  huggingface: 'https://router.huggingface.co/v1',
  lmstudio: 'http://localhost:1234/v1',
}

describe('presets: identity', () => {
  it('has at least the twelve documented presets, each an OpenAI-dialect provider with passthrough', () => {
    expect(Object.keys(presets).sort()).toEqual(['cerebras', 'deepseek', 'fireworks', 'groq', 'huggingface', 'lmstudio', 'mistral', 'openrouter', 'perplexity', 'together', 'vllm', 'xai'])
    for (const [id, preset] of Object.entries(presets)) {
      expect(preset.id).toBe(id)
      expect(preset.spec).toBe(1)
      expect(preset.dialect).toBe('openai')
      expect(preset.surface).toBeUndefined()
      expect(typeof preset.upstream?.passthrough).toBe('function')
      expect(preset.upstream?.passthroughOperations).toContain('chat')
      expect(preset.baseURL).toBe(BASE_URLS[id])
    }
  })

  it('sends every hosted preset\'s key as a bearer token to <base>/chat/completions', () => {
    for (const [id, preset] of Object.entries(presets)) {
      if (id === 'vllm') continue
      const built = build(preset, anthropicTurn())
      expect(built.url, id).toBe(`${BASE_URLS[id]}/chat/completions`)
      expect(built.headers.authorization, id).toBe(`Bearer ${KEY}`)
      expect(built.json.model, id).toBe('some-model')
      expect(preset.upstream!.passthrough!('/chat/completions', context(preset))).toEqual({ url: `${BASE_URLS[id]}/chat/completions`, headers: built.headers })
    }
  })

  it('local servers need no key and send none without one; a configured key is sent', () => {
    for (const preset of [presets.lmstudio!, presets.vllm!]) {
      expect(preset.requiresKey).toBe(false)
      const keyless = build(preset, anthropicTurn(), { key: undefined, baseURL: 'http://127.0.0.1:8000/v1' })
      expect(keyless.headers.authorization).toBeUndefined()
      expect(keyless.url).toBe('http://127.0.0.1:8000/v1/chat/completions')
    }
    expect(build(presets.vllm!, anthropicTurn(), { baseURL: 'http://gpu-box:8000/v1' }).headers.authorization).toBe(`Bearer ${KEY}`)
  })

  it('vllm has no default address: it must be configured, and an unconfigured call fails clearly', () => {
    expect(presets.vllm!.baseURL).toBeUndefined()
    expect(presets.vllm!.requiresBaseURL).toBe(true)
    expect(() => build(presets.vllm!, anthropicTurn(), { baseURL: '' })).toThrow('[vllm] no base URL: set providers.vllm.network_config.base_url')
  })

  it('huggingface keeps repo ids and provider suffixes whole', () => {
    expect(build(presets.huggingface!, anthropicTurn({ model: 'meta-llama/Llama-3.1-8B-Instruct:cerebras' })).json.model).toBe('meta-llama/Llama-3.1-8B-Instruct:cerebras')
  })

  it('passthrough covers only the endpoints each upstream serves', () => {
    const operations = Object.fromEntries(Object.entries(presets).map(([id, preset]) => [id, [...preset.upstream!.passthroughOperations!].sort()]))
    expect(operations).toEqual({
      mistral: ['chat', 'embeddings'],
      groq: ['chat', 'responses', 'speech', 'transcriptions', 'translations'],
      deepseek: ['chat'],
      xai: ['chat', 'imageGenerations', 'responses'],
      openrouter: ['chat', 'completions', 'embeddings'],
      together: ['chat', 'completions', 'embeddings', 'imageGenerations', 'rerank', 'speech', 'transcriptions', 'translations'],
      fireworks: ['chat', 'completions', 'embeddings'],
      cerebras: ['chat', 'completions'],
      perplexity: ['chat'],
      huggingface: ['chat'],
      vllm: ['chat', 'completions', 'embeddings', 'rerank', 'transcriptions', 'translations'],
      lmstudio: ['chat', 'completions', 'embeddings'],
    })
    // Every preset still answers Responses API callers, through chat completions.
    for (const preset of Object.values(presets)) expect(preset.upstream!.responses).toBeDefined()
    expect(presets.deepseek!.upstream!.embeddings).toBeUndefined()
  })
})

describe('presets: quirks', () => {
  it('mistral: max_tokens, random_seed, no stream_options, 9-character tool-call ids, no names or reasoning history', () => {
    const { json, warnings } = build(presets.mistral!, anthropicTurn())
    expect(json.max_tokens).toBe(256)
    expect(json).not.toHaveProperty('max_completion_tokens')
    expect(json.random_seed).toBe(7)
    expect(json).not.toHaveProperty('seed')
    expect(json).not.toHaveProperty('user')
    expect(json).not.toHaveProperty('stream_options')
    expect(json).not.toHaveProperty('top_k')
    expect(json.stream).toBe(true)
    const assistant = json.messages[2]
    const tool = json.messages[3]
    expect(assistant.tool_calls[0].id).toMatch(/^[a-zA-Z0-9]{9}$/)
    expect(tool).toEqual({ role: 'tool', tool_call_id: assistant.tool_calls[0].id, content: '18°C' })
    expect(assistant).not.toHaveProperty('reasoning_content')
    expect(json.messages[1]).not.toHaveProperty('name')
    expect(features(warnings)).toEqual(expect.arrayContaining(['topK', 'user', 'messages[].name', 'reasoning history']))
    // Ids Mistral issued itself come back unchanged.
    expect(alphanumericId('gSIMJiOkT')).toBe('gSIMJiOkT')
    expect(alphanumericId('toolu_01A09q90qw90lq917835lq9')).toBe(assistant.tool_calls[0].id)
    expect(alphanumericId('call_abc')).not.toBe(alphanumericId('call_abd'))
  })

  it('groq: max_completion_tokens, no stream_options, no names, n > 1 is a 400, unsupported OpenAI fields left out', () => {
    const { json, warnings } = build(presets.groq!, anthropicTurn())
    expect(json.max_completion_tokens).toBe(256)
    expect(json.seed).toBe(7)
    expect(json).not.toHaveProperty('stream_options')
    expect(json.messages[1]).not.toHaveProperty('name')
    expect(features(warnings)).toContain('messages[].name')
    let error: unknown
    try {
      build(presets.groq!, anthropicTurn({ n: 2 }))
    } catch (caught) {
      error = caught
    }
    expect(GatewayError.is(error) && error.status === 400 && error.param === 'n' && error.message === '[groq] n must be at most 1').toBe(true)
    // An OpenAI-dialect request (the Responses API translated to chat) with fields Groq rejects.
    const openaiTurn = build(presets.groq!, { model: 'llama', dialect: 'openai', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], extra: { logprobs: true, top_logprobs: 2, service_tier: 'auto' } })
    expect(openaiTurn.json).not.toHaveProperty('logprobs')
    expect(openaiTurn.json).not.toHaveProperty('top_logprobs')
    expect(openaiTurn.json.service_tier).toBe('auto')
    expect(features(openaiTurn.warnings)).toEqual(['logprobs', 'top_logprobs'])
  })

  it('deepseek: max_tokens, usage asked for in streams, reasoning of the tool-call turn sent back', () => {
    const { json } = build(presets.deepseek!, anthropicTurn())
    expect(json.max_tokens).toBe(256)
    expect(json.stream_options).toEqual({ include_usage: true })
    expect(json.messages[2].reasoning_content).toBe('Need the weather tool.')
    expect(json.messages[2].tool_calls[0].id).toBe('toolu_01A09q90qw90lq917835lq9')
  })

  it('deepseek: prompt_cache_hit_tokens is the cached input when prompt_tokens_details is absent', async () => {
    const body = { id: 'x', object: 'chat.completion', created: 1, model: 'deepseek-chat', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 40, completion_tokens: 2, total_tokens: 42, prompt_cache_hit_tokens: 32, prompt_cache_miss_tokens: 8 } }
    const response = presets.deepseek!.upstream!.chat!.response(body, context(presets.deepseek!))
    expect(response.usage).toMatchObject({ inputTokens: 40, cachedInputTokens: 32 })
    const sse = `data: ${JSON.stringify({ ...body, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`
    const events: StreamEvent[] = []
    for await (const event of presets.deepseek!.upstream!.chat!.stream!(new Response(sse).body!, context(presets.deepseek!))) events.push(event)
    expect(events.at(-1)).toMatchObject({ type: 'finish', usage: { cachedInputTokens: 32 } })
  })

  it('xai: max_tokens; usage asked for in streams', () => {
    const { json } = build(presets.xai!, anthropicTurn())
    expect(json.max_tokens).toBe(256)
    expect(json.stream_options).toEqual({ include_usage: true })
  })

  it('openrouter: reasoning object with the exact budget, cache_control kept, signed reasoning sent back as reasoning_details, top_k', () => {
    const { json, warnings } = build(presets.openrouter!, anthropicTurn({ reasoning: { budgetTokens: 3000 } }))
    expect(json.reasoning).toEqual({ max_tokens: 3000 })
    expect(json).not.toHaveProperty('reasoning_effort')
    expect(json.top_k).toBe(40)
    expect(json.max_tokens).toBe(256)
    expect(json.messages[1].content).toEqual([{ type: 'text', text: 'Weather in Paris?', cache_control: { type: 'ephemeral' } }])
    expect(json.messages[2].reasoning_details).toEqual([{ type: 'reasoning.text', text: 'Need the weather tool.', signature: 'sig-123', index: 0 }])
    expect(json.messages[2]).not.toHaveProperty('reasoning_content')
    expect(features(warnings)).not.toContain('cache_control')
    expect(features(warnings)).not.toContain('reasoning signature')
    expect(build(presets.openrouter!, anthropicTurn({ reasoning: { effort: 'high' } })).json.reasoning).toEqual({ effort: 'high' })
  })

  it('openrouter: signed reasoning_details in answers and streams reach the IR with their signatures', async () => {
    const details = [{ type: 'reasoning.text', text: 'Think.', signature: 'sig-9', format: 'anthropic-claude-v1', index: 0 }]
    const answer = { id: 'gen-1', object: 'chat.completion', created: 1, model: 'anthropic/claude-sonnet-4', choices: [{ index: 0, message: { role: 'assistant', content: 'Done.', reasoning: 'Think.', reasoning_details: details }, finish_reason: 'stop' }] }
    const response = presets.openrouter!.upstream!.chat!.response(answer, context(presets.openrouter!))
    expect(response.choices[0]!.message.content).toEqual([{ type: 'reasoning', text: 'Think.', signature: 'sig-9' }, { type: 'text', text: 'Done.' }])
    expect(response.choices[0]!.message.extra).toBeUndefined()
    const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'gen-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
    const sse = ': OPENROUTER PROCESSING\n\n' + chunk({ role: 'assistant', reasoning: 'Think.', reasoning_details: [{ type: 'reasoning.text', text: 'Think.', index: 0 }] }) +
      chunk({ reasoning_details: [{ type: 'reasoning.text', signature: 'sig-9', index: 0 }] }) + chunk({ reasoning_details: [{ type: 'reasoning.encrypted', data: 'opaque', index: 1 }] }) +
      chunk({ content: 'Done.' }) + chunk({}, 'stop') + 'data: [DONE]\n\n'
    const events: StreamEvent[] = []
    for await (const event of presets.openrouter!.upstream!.chat!.stream!(new Response(sse).body!, context(presets.openrouter!))) events.push(event)
    expect(events.filter((event) => event.type.startsWith('reasoning'))).toEqual([
      { type: 'reasoning-start', id: '0:reasoning:0', choice: 0 },
      { type: 'reasoning-delta', id: '0:reasoning:0', delta: 'Think.', choice: 0 },
      { type: 'reasoning-signature', id: '0:reasoning:0', signature: 'sig-9', choice: 0 },
      { type: 'reasoning-end', id: '0:reasoning:0', choice: 0 },
      { type: 'reasoning-start', id: '0:reasoning:1', choice: 0, redacted: 'opaque' },
      { type: 'reasoning-end', id: '0:reasoning:1', choice: 0 },
    ])
  })

  it('together, fireworks, vllm, lmstudio: max_tokens and top_k', () => {
    for (const id of ['together', 'fireworks', 'vllm', 'lmstudio']) {
      const { json, warnings } = build(presets[id]!, anthropicTurn(), { baseURL: BASE_URLS[id] ?? 'http://127.0.0.1:8000/v1' })
      expect(json.max_tokens, id).toBe(256)
      expect(json.top_k, id).toBe(40)
      expect(features(warnings), id).not.toContain('topK')
    }
  })

  it('cerebras: max_completion_tokens; penalties and parallel_tool_calls left out with warnings', () => {
    const { json, warnings } = build(presets.cerebras!, anthropicTurn({ frequencyPenalty: 0.5, presencePenalty: 0.1, parallelToolCalls: false }))
    expect(json.max_completion_tokens).toBe(256)
    for (const field of ['frequency_penalty', 'presence_penalty', 'parallel_tool_calls']) expect(json).not.toHaveProperty(field)
    expect(features(warnings)).toEqual(expect.arrayContaining(['frequency_penalty', 'presence_penalty', 'parallel_tool_calls']))
  })

  it('perplexity: max_tokens, root without /v1, no stream_options', () => {
    const { url, json } = build(presets.perplexity!, anthropicTurn())
    expect(url).toBe('https://api.perplexity.ai/chat/completions')
    expect(json.max_tokens).toBe(256)
    expect(json).not.toHaveProperty('stream_options')
  })
})

describe('defineOpenAICompatible', () => {
  it('builds a provider with its own auth header and no quirks by default (OpenAI encoding)', () => {
    const provider = defineOpenAICompatible({ id: 'acme', baseURL: 'https://llm.acme.example/v1', auth: { header: 'api-key' } })
    const built = build(provider, anthropicTurn())
    expect(built.headers['api-key']).toBe(KEY)
    expect(built.headers.authorization).toBeUndefined()
    expect(built.json.max_completion_tokens).toBe(256)
    expect(built.json.stream_options).toEqual({ include_usage: true })
    expect(provider.upstream!.streamUsage).toBe('on-request')
    expect(compatibleHeaders(context(provider), { header: 'x-key', prefix: 'Key ' })['x-key']).toBe(`Key ${KEY}`)
  })

  it('streamUsage "never" leaves stream_options out and reports that usage was asked for', () => {
    const warnings: Warning[] = []
    const body = toCompatibleChatBody(anthropicTurn({ streamUsage: true }), warnings, { streamUsage: 'never' }, 'quiet')
    expect(body).not.toHaveProperty('stream_options')
    expect(warnings).toContainEqual({ type: 'unsupported', feature: 'stream_options.include_usage', details: 'quiet does not report usage in streams' })
  })

  it('keeps the key order when renaming fields', () => {
    const body = toCompatibleChatBody({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], maxTokens: 5, temperature: 0.1, seed: 1, extra: {} }, [], { maxTokensField: 'max_tokens', renameFields: { seed: 'random_seed' } })
    expect(Object.keys(body)).toEqual(['model', 'messages', 'max_tokens', 'temperature', 'random_seed'])
  })
})
