import { GatewayError } from '../errors.js'
import type { StreamEvent } from '../ir/stream-event.js'
import type { Operation, OperationTypes } from '../provider.js'

/** Replays a complete IR answer as stream events (cache hits and in-process answers for streaming callers). */
export function eventsFromResponse(operation: Operation, response: unknown): ReadableStream<StreamEvent> {
  const events: StreamEvent[] = []
  if (operation === 'chat' || operation === 'responses') {
    const chat = response as OperationTypes['chat']['response']
    events.push({ type: 'response-start', id: chat.id, model: chat.model, created: chat.created })
    for (const choice of chat.choices) {
      choice.message.content.forEach((part, index) => {
        const id = `${choice.index}:${index}`
        const base = { id, choice: choice.index }
        if (part.type === 'text') events.push({ type: 'text-start', ...base }, { type: 'text-delta', ...base, delta: part.text }, { type: 'text-end', ...base })
        else if (part.type === 'reasoning') {
          events.push({ type: 'reasoning-start', ...base, redacted: part.redacted }, { type: 'reasoning-delta', ...base, delta: part.text })
          if (part.signature) events.push({ type: 'reasoning-signature', ...base, signature: part.signature })
          events.push({ type: 'reasoning-end', ...base })
        } else if (part.type === 'tool-call') {
          events.push({ type: 'tool-call-start', ...base, toolCallId: part.id, name: part.name }, { type: 'tool-call-delta', ...base, argumentsDelta: part.arguments }, { type: 'tool-call-end', ...base })
        } else if (part.type === 'refusal') events.push({ type: 'refusal-delta', ...base, delta: part.text })
      })
      events.push({ type: 'choice-end', choice: choice.index, finishReason: choice.finishReason })
    }
    events.push({ type: 'finish', finishReason: chat.choices[0]?.finishReason ?? { unified: 'other', raw: undefined }, usage: chat.usage })
  } else if (operation === 'completions') {
    const completion = response as OperationTypes['completions']['response']
    events.push({ type: 'response-start', id: completion.id, model: completion.model, created: completion.created })
    for (const choice of completion.choices) {
      const base = { id: `${choice.index}:0`, choice: choice.index }
      events.push({ type: 'text-start', ...base }, { type: 'text-delta', ...base, delta: choice.text }, { type: 'text-end', ...base })
      events.push({ type: 'choice-end', choice: choice.index, finishReason: choice.finishReason })
    }
    events.push({ type: 'finish', finishReason: completion.choices[0]?.finishReason ?? { unified: 'other', raw: undefined }, usage: completion.usage })
  } else {
    throw GatewayError.badRequest(`streaming is not supported for ${operation}`, 'stream')
  }
  let index = 0
  return new ReadableStream<StreamEvent>({
    pull(controller) {
      if (index < events.length) controller.enqueue(events[index++]!)
      else controller.close()
    },
  })
}
