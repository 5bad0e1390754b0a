import { readFileSync } from 'node:fs'
import { GatewayError, type ChatRequest, type Warning } from '@switchyard/core'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { estimateTokens, parseCountTokensRequest, parseCountTokensResponse, renderCountTokensResponse, toCountTokensBody } from './count-tokens.js'

type Json = Record<string, any>

const fixture = (name: string) => readFileSync(new URL(`../../../../shared/fixtures/anthropic/${name}`, import.meta.url), 'utf8')

function catchError(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (GatewayError.is(error)) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('count tokens request', () => {
  const body = {
    model: 'claude-sonnet-4-5',
    system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'How many tokens is this?' }],
    tools: [{ name: 'f', description: 'd', input_schema: { type: 'object', properties: {} } }, { type: 'web_search_20250305', name: 'web_search' }],
    tool_choice: { type: 'auto' },
    thinking: { type: 'enabled', budget_tokens: 1024 },
  }

  it('parses without max_tokens and encodes back exactly', () => {
    const request = parseCountTokensRequest(body, 'claude-sonnet-4-5')
    expect(request.maxTokens).toBeUndefined()
    expect(request.dialect).toBe('anthropic')
    const warnings: Warning[] = []
    expect(toCountTokensBody(request, warnings)).toEqual(body)
    expect(warnings).toEqual([])
  })

  it('round trips every recorded Messages body minus the fields count_tokens does not take', () => {
    const recorded = parseYaml(fixture('messages-parallel-tool-use.cassette.yaml')).interactions.map((interaction: Json) => interaction.request.parsed_body)
    for (const messagesBody of recorded) {
      const { max_tokens: _max, stream: _stream, ...countBody } = messagesBody
      expect(toCountTokensBody(parseCountTokensRequest(countBody, countBody.model))).toEqual(countBody)
    }
  })

  it('leaves out max_tokens, sampling, stop sequences, user and stream, and never raises a budget', () => {
    const request: ChatRequest = {
      model: 'claude-opus-4-1', extra: {}, messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
      maxTokens: 10, temperature: 0.2, topP: 0.5, topK: 3, stop: ['s'], user: 'u', stream: true, reasoning: { effort: 'high' },
    }
    expect(toCountTokensBody(request)).toEqual({ model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'x' }], thinking: { type: 'enabled', budget_tokens: 24576 } })
  })

  it('rejects bad input with a 400 naming the field', () => {
    const error = catchError(() => parseCountTokensRequest({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image', source: {} }] }] }, 'm'))
    expect(error.status).toBe(400)
    expect(error.param).toBe('messages[0].content[0].source.type')
    expect(catchError(() => parseCountTokensRequest({ model: 'm' }, 'm')).param).toBe('messages')
  })
})

describe('count tokens response', () => {
  it('reads and renders input_tokens', () => {
    expect(parseCountTokensResponse({ input_tokens: 2095 })).toBe(2095)
    expect(renderCountTokensResponse(2095)).toEqual({ input_tokens: 2095 })
    expect(parseCountTokensResponse(renderCountTokensResponse(7))).toBe(7)
  })

  it('rejects a malformed upstream body with a 502', () => {
    for (const body of [null, {}, { input_tokens: 'many' }, { input_tokens: -1 }, { input_tokens: 1.5 }]) {
      expect(catchError(() => parseCountTokensResponse(body)).status).toBe(502)
    }
  })
})

describe('estimateTokens', () => {
  const text = (value: string) => ({ type: 'text' as const, text: value })

  it('counts characters / 4 plus 4 per message', () => {
    expect(estimateTokens({ model: 'm', extra: {}, messages: [{ role: 'user', content: [text('a'.repeat(400))] }] })).toBe(100 + 4)
    expect(estimateTokens({ model: 'm', extra: {}, messages: [{ role: 'system', content: [text('abc')] }, { role: 'user', content: [text('d')] }] })).toBe(1 + 8)
  })

  it('counts tool calls, tool results, reasoning, tool definitions and server tools', () => {
    const request: ChatRequest = {
      model: 'm', extra: { tools_server: [{ type: 'web_search_20250305', name: 'web_search' }] },
      tools: [{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [
        { role: 'assistant', content: [{ type: 'reasoning', text: 'hmm', signature: 's'.repeat(400) }, { type: 'tool-call', id: 'c', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c', content: [text('sunny')] }] },
      ],
    }
    const characters = 3 + 'get_weather'.length + '{"city":"Paris"}'.length + 5
      + JSON.stringify({ name: 'get_weather', description: 'Weather for a city', parameters: request.tools![0]!.parameters }).length
      + JSON.stringify(request.extra.tools_server).length
    expect(estimateTokens(request)).toBe(Math.ceil(characters / 4) + 8)
  })

  it('adds a constant per image and per PDF, and counts plain-text files by their text', () => {
    const request: ChatRequest = {
      model: 'm', extra: {},
      messages: [{ role: 'user', content: [
        { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
        { type: 'file', source: { type: 'base64', mediaType: 'application/pdf', data: 'JVBERi0'.repeat(1000) }, mediaType: 'application/pdf' },
        { type: 'file', source: { type: 'base64', mediaType: 'text/plain', data: btoa('x'.repeat(40)) }, mediaType: 'text/plain' },
      ] }],
    }
    expect(estimateTokens(request)).toBe(1600 + 1500 + 10 + 4)
  })

  it('counts verbatim Anthropic blocks (web search results) as JSON', () => {
    const block = { type: 'web_search_tool_result', tool_use_id: 't', content: [] }
    const request: ChatRequest = { model: 'm', extra: {}, messages: [{ role: 'assistant', content: [{ ...text('ok'), extra: { anthropic_blocks_before: [block] } }] }] }
    expect(estimateTokens(request)).toBe(Math.ceil((2 + JSON.stringify([block]).length) / 4) + 4)
  })
})
