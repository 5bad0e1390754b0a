import { describe, expect, it } from 'vitest'
import type { ChatRequest, UpstreamContext } from '@switchyard/core'
import { inputTokensCodec, parseInputTokensResponse, toInputTokensBody } from './input-tokens.js'

const context: UpstreamContext = { providerId: 'openai', key: { value: 'sk-test', models: [], weight: 1 }, baseURL: 'https://api.openai.com/v1', config: { keys: [] }, signal: new AbortController().signal }

const request: ChatRequest = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'system', content: [{ type: 'text', text: 'Be brief.' }] }, { role: 'user', content: [{ type: 'text', text: 'Weather?' }] }],
  tools: [{ type: 'function', name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
  toolChoice: 'auto',
  // Output settings the Responses API refuses (stop, top_k, seed) or that do not change the count.
  stop: ['END'], topK: 4, seed: 1, n: 1, maxTokens: 10, temperature: 0.2, stream: true,
  reasoning: { budgetTokens: 1024 },
  extra: {},
}

describe('POST /responses/input_tokens', () => {
  it('counts the prompt: input, tools (non-strict unless said), tool choice; output settings left out', () => {
    expect(toInputTokensBody(request)).toEqual({
      model: 'gpt-4o-mini',
      input: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather?' }],
      tools: [{ type: 'function', name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }],
      tool_choice: 'auto',
    })
    const strict = toInputTokensBody({ ...request, tools: [{ ...request.tools![0]!, strict: true }], reasoning: { effort: 'low' } })
    expect(strict.tools).toEqual([expect.objectContaining({ strict: true })])
    expect(strict.reasoning).toEqual({ effort: 'low' })
  })

  it('is the provider\'s countTokens codec: URL, bearer, answer', () => {
    const codec = inputTokensCodec((ctx) => ({ 'content-type': 'application/json', authorization: `Bearer ${ctx.key!.value}` }))
    const built = codec.request(request, context)
    expect(built.url).toBe('https://api.openai.com/v1/responses/input_tokens')
    expect(built.headers.authorization).toBe('Bearer sk-test')
    expect(JSON.parse(built.body as string)).toEqual(toInputTokensBody(request))
    expect(codec.response({ object: 'response.input_tokens', input_tokens: 31 }, context)).toEqual({ inputTokens: 31 })
    expect(() => parseInputTokensResponse({ object: 'response.input_tokens' })).toThrow(expect.objectContaining({ status: 502 }))
  })
})
