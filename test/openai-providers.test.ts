import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { configFromEnv, loadExtensions, parseConfig } from '@switchyard/core'
import { BUILTIN_PROVIDERS } from '@switchyard/core/serve'
import { presets } from '@switchyard/provider-openai'
import { CALLER_KEY, launchGateway, type LaunchedGateway } from './support/gateway.js'
import { chunkLines, fixtureText, frameDataEvents, frameTypedEvents, splitSseEvents } from './support/fixtures.js'
import { startScriptedUpstream, type ScriptedRequest, type ScriptedReply, type ScriptedUpstream } from './support/scripted-upstream.js'

/**
 * OpenAI-compatible presets, Cohere, Ollama and config-only custom providers through the real
 * gateway with the official SDKs. One scripted upstream plays every provider under a path prefix
 * and answers with recorded wire data (/work/shared/fixtures); the providers are loaded by name
 * from the config, as users configure them: `mistral`, `groq`, `xai`, `deepseek` resolve to the
 * presets of `@switchyard/provider-openai`, `cohere` and `ollama` to their packages, `mycorp` to a
 * custom provider.
 */

const KEYS = { mistral: 'sk-mistral-upstream-1', groq: 'gsk-groq-upstream-1', xai: 'xai-upstream-key-1', deepseek: 'sk-deepseek-upstream-1', cohere: 'co-upstream-key-1', mycorp: 'mycorp-upstream-key-1' }
const key = (value: string) => [{ value, models: [], weight: 1 }]

const mistralText = fixtureText('mistral/chat-text.json')
const mistralChunks = chunkLines('mistral/chat-stream-text.chunks.txt')
const groqChunks = chunkLines('groq/chat-stream-tool-call.chunks.txt')
const xaiChunks = chunkLines('xai/chat-stream-tool-call.chunks.txt')
const cohereEmbed = (parse(fixtureText('cohere/embed.cassette.yaml')) as { interactions: Array<{ response: { parsed_body: any } }> }).interactions[0]!.response.parsed_body

/** Which recording answers, by path prefix and the request's own shape. */
function route(request: ScriptedRequest): ScriptedReply | undefined {
  const stream = request.json?.stream === true
  switch (request.path) {
    case '/mistral/v1/chat/completions':
      return stream ? { events: frameDataEvents(mistralChunks) } : { body: mistralText }
    case '/groq/openai/v1/chat/completions':
      return stream ? { events: frameDataEvents(groqChunks) } : { body: fixtureText('groq/chat-tool-call.json') }
    case '/xai/v1/chat/completions':
      return stream ? { events: frameDataEvents(xaiChunks) } : { body: fixtureText('xai/chat-tool-call.json') }
    case '/cohere/v2/chat':
      if (request.json?.tools) return stream ? { events: frameTypedEvents(chunkLines('cohere/chat-stream-tool-calls.chunks.txt')) } : { body: fixtureText('cohere/chat-tool-calls.json') }
      return stream ? { events: frameTypedEvents(chunkLines('cohere/chat-stream-text.chunks.txt')) } : { body: fixtureText('cohere/chat-text.json') }
    case '/cohere/v2/embed':
      return { body: cohereEmbed }
    case '/ollama/v1/chat/completions':
    case '/mycorp/v1/chat/completions':
      return stream ? { events: frameDataEvents(chunkLines('openai/chat-stream-text.chunks.txt')) } : { body: fixtureText('openai/chat-text.json') }
    case '/anthropic-compatible/v1/messages':
      return stream ? { events: splitSseEvents(fixtureText('anthropic/messages-stream-text.sse')) } : { body: fixtureText('anthropic/messages-text.json') }
    default:
      return undefined
  }
}

const hello: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Say hello.' }]
const weather: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } } }

let upstream: ScriptedUpstream
let gateway: LaunchedGateway
let openai: OpenAI
let anthropic: Anthropic

beforeAll(async () => {
  upstream = await startScriptedUpstream(route)
  const at = (prefix: string) => ({ base_url: `${upstream.url}${prefix}` })
  gateway = await launchGateway({
    providers: {
      mistral: { keys: key(KEYS.mistral), network_config: at('/mistral/v1') },
      groq: { keys: key(KEYS.groq), network_config: at('/groq/openai/v1') },
      xai: { keys: key(KEYS.xai), network_config: at('/xai/v1') },
      deepseek: { keys: key(KEYS.deepseek), network_config: at('/deepseek') },
      cohere: { keys: key(KEYS.cohere), network_config: at('/cohere/v2') },
      ollama: { network_config: at('/ollama/v1') },
      mycorp: { custom: { base_url: `${upstream.url}/mycorp/v1`, dialect: 'openai' }, keys: key(KEYS.mycorp) },
    },
  })
  openai = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
  anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: CALLER_KEY, maxRetries: 0 })
})
afterAll(async () => {
  await gateway?.close()
  await upstream?.close()
})
afterEach(() => upstream.reset())

const expectKey = (request: ScriptedRequest, value: string) => {
  expect(request.headers.authorization).toBe(`Bearer ${value}`)
  expect(JSON.stringify(request.headers)).not.toContain(CALLER_KEY)
}

describe('presets loaded by name, OpenAI SDK -> passthrough', () => {
  it('mistral: the caller body goes to Mistral with only the model replaced; the answer comes back byte for byte', async () => {
    const response = await openai.chat.completions.create({ model: 'mistral/mistral-small-latest', messages: hello, temperature: 0.2 }).asResponse()
    expect(await response.text()).toBe(mistralText)
    const request = upstream.only()
    expect(request.path).toBe('/mistral/v1/chat/completions')
    expect(request.json).toEqual({ model: 'mistral-small-latest', messages: hello, temperature: 0.2 })
    expectKey(request, KEYS.mistral)
  })

  it('mistral stream without include_usage: nothing is added to the body (Mistral rejects stream_options) and no chunk is kept back', async () => {
    const response = await openai.chat.completions.create({ model: 'mistral/mistral-small-latest', messages: hello, stream: true }).asResponse()
    // The last chunk carries content, finish and usage together: it must reach the caller.
    expect(await response.text()).toBe(frameDataEvents(mistralChunks).join(''))
    const request = upstream.only()
    expect(request.json).toEqual({ model: 'mistral-small-latest', messages: hello, stream: true })
    expect(request.rawBody).not.toContain('stream_options')
  })

  it('mistral stream through the SDK iterator: the full text and the usage of the last chunk', async () => {
    const stream = await openai.chat.completions.create({ model: 'mistral/mistral-small-latest', messages: hello, stream: true })
    let text = ''
    let usage: OpenAI.CompletionUsage | undefined | null
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      usage = chunk.usage ?? usage
    }
    expect(text).toBe('Hello, world! This is a test response.')
    expect(usage).toMatchObject({ prompt_tokens: 13, completion_tokens: 8 })
  })

  it('groq stream: usage arrives on the finish chunk without asking; nothing injected, everything relayed', async () => {
    const response = await openai.chat.completions.create({ model: 'groq/llama-3.3-70b-versatile', messages: hello, tools: [weather], stream: true }).asResponse()
    expect(await response.text()).toBe(frameDataEvents(groqChunks).join(''))
    expect(upstream.only().json).not.toHaveProperty('stream_options')
    expectKey(upstream.only(), KEYS.groq)
  })

  it('xai stream without include_usage: asked for usage like OpenAI, and the usage-only chunk kept from the caller', async () => {
    const response = await openai.chat.completions.create({ model: 'xai/grok-3-mini', messages: hello, tools: [weather], stream: true }).asResponse()
    expect(await response.text()).toBe(frameDataEvents(xaiChunks.slice(0, -1)).join(''))
    expect(upstream.only().json.stream_options).toEqual({ include_usage: true })
  })

  it('the Responses API to a preset without one goes through chat completions', async () => {
    const response = await openai.responses.create({ model: 'mistral/mistral-small-latest', input: 'Say hello.', max_output_tokens: 500 })
    expect(response.output_text).toContain('World Kindness Day of Sharing')
    const request = upstream.only()
    expect(request.path).toBe('/mistral/v1/chat/completions')
    // Built from the IR with Mistral's quirks: max_tokens, not max_completion_tokens.
    expect(request.json).toMatchObject({ model: 'mistral-small-latest', max_tokens: 500 })
    expect(request.json).not.toHaveProperty('max_completion_tokens')
  })

  it('a streamed Responses API call to such a preset: Mistral\'s chat stream rendered as Responses events', async () => {
    const stream = await openai.responses.create({ model: 'mistral/mistral-small-latest', input: 'Say hello.', stream: true })
    let text = ''
    let completed: OpenAI.Responses.Response | undefined
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta
      if (event.type === 'response.completed') completed = event.response
    }
    expect(text).toBe('Hello, world! This is a test response.')
    expect(completed?.usage).toMatchObject({ input_tokens: 13, output_tokens: 8 })
    const request = upstream.only()
    expect(request.path).toBe('/mistral/v1/chat/completions')
    expect(request.json.stream).toBe(true)
    expect(request.json).not.toHaveProperty('stream_options')
  })

  it('an endpoint the preset has none of is a 400 naming the provider, and nothing is sent', async () => {
    const error = await openai.embeddings.create({ model: 'deepseek/deepseek-chat', input: 'hi' }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('[deepseek] provider does not support embeddings')
    expect(upstream.requests).toEqual([])
  })
})

describe('Anthropic SDK -> preset (translated through the IR)', () => {
  it('mistral gets max_tokens, no stream_options; the answer is an Anthropic message stream', async () => {
    const stream = anthropic.messages.stream({ model: 'mistral/mistral-small-latest', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] })
    const message = await stream.finalMessage()
    expect(message.content).toEqual([{ type: 'text', text: 'Hello, world! This is a test response.' }])
    expect(message.stop_reason).toBe('end_turn')
    expect(message.usage).toMatchObject({ input_tokens: 13, output_tokens: 8 })
    const request = upstream.only()
    expect(request.json).toEqual({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 64, stream: true })
  })
})

describe('cohere through the OpenAI SDK (translated)', () => {
  it('chat: text and usage', async () => {
    const completion = await openai.chat.completions.create({ model: 'cohere/command-r-plus', messages: hello, max_tokens: 50 })
    expect(completion.choices[0]!.message.content).toBe('The capital of France is Paris.')
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    // Cohere names no model in its answers: the caller sees the one it asked for.
    expect(completion.model).toBe('command-r-plus')
    expect(completion.usage).toMatchObject({ prompt_tokens: 507, completion_tokens: 10, prompt_tokens_details: { cached_tokens: 448 } })
    const request = upstream.only()
    expect(request.path).toBe('/cohere/v2/chat')
    expect(request.json).toEqual({ model: 'command-r-plus', messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello.' }] }], max_tokens: 50 })
    expectKey(request, KEYS.cohere)
  })

  it('stream with tools: the tool plan as content, both tool calls with complete arguments', async () => {
    const stream = await openai.chat.completions.create({ model: 'cohere/command-r-plus', messages: hello, tools: [weather], stream: true, stream_options: { include_usage: true } })
    let content = ''
    const calls = new Map<number, { id?: string; name?: string; arguments: string }>()
    let finish: string | null | undefined
    let usage: OpenAI.CompletionUsage | null | undefined
    for await (const chunk of stream) {
      const choice = chunk.choices[0]
      content += choice?.delta?.content ?? ''
      for (const call of choice?.delta?.tool_calls ?? []) {
        const entry = calls.get(call.index) ?? { arguments: '' }
        entry.id ??= call.id
        entry.name ??= call.function?.name
        entry.arguments += call.function?.arguments ?? ''
        calls.set(call.index, entry)
      }
      finish = choice?.finish_reason ?? finish
      usage = chunk.usage ?? usage
    }
    expect(content).toContain('weather tool')
    expect([...calls.values()]).toEqual([
      { id: 'weather_e8p4pn45zt0t', name: 'weather', arguments: '{"location": "San Francisco"}' },
      { id: 'cityAttractions_pyxssbwnq9fq', name: 'cityAttractions', arguments: '{"city": "San Francisco"}' },
    ])
    expect(finish).toBe('tool_calls')
    expect(usage).toMatchObject({ prompt_tokens: 1549, completion_tokens: 95 })
    expect(upstream.only().json.tools).toEqual([{ type: 'function', function: { name: 'weather', parameters: weather.function.parameters } }])
  })

  it('embeddings: the SDK\'s default base64 is encoded from Cohere\'s floats and decodes to the recorded vector', async () => {
    const result = await openai.embeddings.create({ model: 'cohere/embed-v4.0', input: 'Hello, world!' })
    const vector = result.data[0]!.embedding
    const recorded = cohereEmbed.embeddings.float[0] as number[]
    expect(vector).toHaveLength(1536)
    vector.forEach((value, index) => expect(value).toBeCloseTo(recorded[index]!, 6))
    expect(result.usage).toMatchObject({ prompt_tokens: 4 })
    expect(upstream.only().json).toEqual({ model: 'embed-v4.0', texts: ['Hello, world!'], input_type: 'search_query', embedding_types: ['float'] })
  })
})

describe('ollama and custom providers', () => {
  it('ollama: no key configured, none sent; the model tag is kept', async () => {
    const completion = await openai.chat.completions.create({ model: 'ollama/llama3.1:8b', messages: hello })
    expect(completion.choices[0]!.message.content).toContain('Galaxy Day')
    const request = upstream.only()
    expect(request.path).toBe('/ollama/v1/chat/completions')
    expect(request.json.model).toBe('llama3.1:8b')
    expect(request.headers.authorization).toBeUndefined()
  })

  it('custom openai dialect: mycorp/some-model goes to the configured base URL with the configured key', async () => {
    const completion = await openai.chat.completions.create({ model: 'mycorp/some-model', messages: hello })
    expect(completion.choices[0]!.message.content).toContain('Galaxy Day')
    const request = upstream.only()
    expect(request.path).toBe('/mycorp/v1/chat/completions')
    expect(request.json).toEqual({ model: 'some-model', messages: hello })
    expectKey(request, KEYS.mycorp)
  })

  it('custom openai dialect: streams are relayed, the usage chunk asked for and kept back', async () => {
    const response = await openai.chat.completions.create({ model: 'mycorp/some-model', messages: hello, stream: true }).asResponse()
    const lines = chunkLines('openai/chat-stream-text.chunks.txt')
    expect(await response.text()).toBe(frameDataEvents(lines.slice(0, -1)).join(''))
    expect(upstream.only().json.stream_options).toEqual({ include_usage: true })
  })
})

describe('custom anthropic dialect (its own gateway: mycorp speaks the Messages API)', () => {
  let claudeGateway: LaunchedGateway
  let client: OpenAI
  beforeAll(async () => {
    claudeGateway = await launchGateway({
      providers: { mycorp: { custom: { base_url: `${upstream.url}/anthropic-compatible/v1`, dialect: 'anthropic' }, keys: key(KEYS.mycorp) } },
    })
    client = new OpenAI({ baseURL: `${claudeGateway.url}/openai`, apiKey: CALLER_KEY, maxRetries: 0 })
  })
  afterAll(async () => {
    await claudeGateway?.close()
  })

  it('OpenAI SDK -> mycorp/some-model: translated to a Messages request with the key as x-api-key', async () => {
    const completion = await client.chat.completions.create({ model: 'mycorp/some-model', messages: hello, max_tokens: 100 })
    expect(completion.choices[0]!.message.content).toMatch(/^Hello! I'm doing well/)
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    const request = upstream.only()
    expect(request.path).toBe('/anthropic-compatible/v1/messages')
    expect(request.json).toMatchObject({ model: 'some-model', max_tokens: 100, messages: [{ role: 'user', content: 'Say hello.' }] })
    expect(request.headers['x-api-key']).toBe(KEYS.mycorp)
    expect(request.headers['anthropic-version']).toBeTruthy()
  })

  it('OpenAI SDK stream -> the Anthropic SSE answer arrives as chat completion chunks', async () => {
    const stream = await client.chat.completions.create({ model: 'mycorp/some-model', messages: hello, stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    // The text of anthropic/messages-stream-text.sse.
    expect(text).toBe('Hello there!')
    expect(upstream.only().json.stream).toBe(true)
  })
})

describe('loading by name with the real packages', () => {
  it('preset ids resolve to @switchyard/provider-openai\'s presets; cohere and ollama to their own packages', async () => {
    const config = parseConfig({ providers: { mistral: {}, groq: {}, huggingface: {}, cohere: {}, ollama: {}, vllm: { network_config: { base_url: 'http://gpu:8000/v1' } } } })
    const { providers } = await loadExtensions(config, { builtins: BUILTIN_PROVIDERS })
    expect(providers.get('mistral')).toBe(presets.mistral)
    expect(providers.get('groq')).toBe(presets.groq)
    expect(providers.get('huggingface')).toBe(presets.huggingface)
    expect(providers.get('vllm')).toBe(presets.vllm)
    expect(providers.get('cohere')).toMatchObject({ id: 'cohere', dialect: 'cohere' })
    expect(providers.get('ollama')).toMatchObject({ id: 'ollama', dialect: 'openai', baseURL: 'http://localhost:11434/v1' })
    // The /openai surface is mounted once, by the openai provider itself.
    expect([...providers.values()].filter((definition) => definition.surface?.basePath === '/openai')).toHaveLength(1)
  })

  it('without a config file, the usual environment variables configure presets and cohere', async () => {
    const config = configFromEnv({ MISTRAL_API_KEY: 'm', PERPLEXITY_API_KEY: 'p', TOGETHER_API_KEY: 't', COHERE_API_KEY: 'c' })
    const { providers } = await loadExtensions(config, { builtins: BUILTIN_PROVIDERS })
    expect(providers.get('mistral')).toBe(presets.mistral)
    expect(providers.get('perplexity')).toBe(presets.perplexity)
    expect(providers.get('together')).toBe(presets.together)
    expect(providers.get('cohere')?.dialect).toBe('cohere')
  })

  it('vllm without a base URL stops the start with a message naming the setting', async () => {
    await expect(loadExtensions(parseConfig({ providers: { vllm: {} } }), { builtins: BUILTIN_PROVIDERS })).rejects.toThrow('provider "vllm": this provider has no default address; set providers.vllm.network_config.base_url')
  })
})
