import type { ChatRequest } from '@switchyard/core'
import { runProviderContract } from '@switchyard/core/testing'
import { describe, expect, it } from 'vitest'
import echo, { answerOf, reverseText, wordsOf } from '../src/index.js'

const ask = (model: string, text: string, stream = false): ChatRequest => ({
  model,
  messages: [
    { role: 'system', content: [{ type: 'text', text: 'You are an echo.' }] },
    { role: 'user', content: [{ type: 'text', text }] },
  ],
  stream,
  extra: {},
})

// The same suite every Switchyard provider runs; an in-process provider brings `invocations`.
runProviderContract({
  provider: echo,
  fixtures: {
    invocations: [
      { name: 'echoes the last user message', operation: 'chat', request: ask('hello', 'Hello, Switchyard!') },
      { name: 'reverses it for the model "reverse"', operation: 'chat', request: ask('reverse', 'stressed') },
      { name: 'streams word by word', operation: 'chat', request: ask('hello', 'one two three', true) },
      { name: 'streams with a prefix and a delay', operation: 'chat', request: ask('reverse', 'a b', true), options: { prefix: '> ', word_delay_ms: 1 } },
      { name: 'serves the Responses API too', operation: 'responses', request: ask('hello', 'via responses') },
      { name: 'refuses a request without user text', operation: 'chat', request: { model: 'hello', messages: [], extra: {} }, expectError: { status: 400, retryable: false } },
    ],
  },
})

describe('echo provider', () => {
  it('reverses by code point', () => {
    expect(reverseText('abc')).toBe('cba')
    expect(reverseText('hi 👋🏽')).toBe('🏽👋 ih')
  })

  it('splits into words that join back to the text', () => {
    for (const text of ['one two  three', '  leading', 'trailing  ', 'single', ' ']) expect(wordsOf(text).join('')).toBe(text)
  })

  it('puts the configured prefix first', () => {
    expect(answerOf(ask('hello', 'hi'), { prefix: 'echo: ' }, 'echo')).toBe('echo: hi')
    expect(answerOf(ask('reverse', 'hi'), {}, 'echo')).toBe('ih')
  })

  it('stream deltas add up to the answer', async () => {
    const stream = (await echo.invoke.chat(ask('hello', 'the quick brown fox', true), {
      providerId: 'echo',
      key: undefined,
      baseURL: '',
      config: { keys: [] },
      signal: new AbortController().signal,
    })) as ReadableStream<{ type: string; delta?: string }>
    let text = ''
    for await (const event of stream) if (event.type === 'text-delta') text += event.delta
    expect(text).toBe('the quick brown fox')
  })
})
