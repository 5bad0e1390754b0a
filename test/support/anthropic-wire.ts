import { expect } from 'vitest'
import { fixtureText, splitSseEvents } from './fixtures.js'

/** Helpers for reading Anthropic wire bodies in assertions, whatever equivalent spelling a codec chose. */

/** A message's content as blocks: a string is one text block, as the API reads it. */
export function blocksOf(content: unknown): any[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : (content as any[])
}

/** Messages with string content normalized to blocks and consecutive same-role turns joined (the API's reading). */
export function turnsOf(messages: any[]): Array<{ role: string; content: any[] }> {
  const turns: Array<{ role: string; content: any[] }> = []
  for (const message of messages) {
    const last = turns.at(-1)
    if (last && last.role === message.role) last.content.push(...blocksOf(message.content))
    else turns.push({ role: message.role, content: [...blocksOf(message.content)] })
  }
  return turns
}

/** A `system` member (string or text blocks) as blocks; none when absent. */
export function systemBlocks(system: unknown): any[] {
  if (system === undefined) return []
  return blocksOf(system)
}

/** The recorded Messages reply with some members replaced (a synthesized variant of a real body). */
export function messageVariant(changes: Record<string, unknown>): string {
  return JSON.stringify({ ...JSON.parse(fixtureText('anthropic/messages-text.json')), ...changes })
}

/** The recorded text stream with its `message_delta` stop reason replaced (synthesized variant). */
export function streamVariant(stopReason: string, name = 'messages-stream-text.sse'): string[] {
  return splitSseEvents(fixtureText(`anthropic/${name}`)).map((event) => event.replace('"stop_reason":"end_turn"', `"stop_reason":"${stopReason}"`).replace('"stop_reason":"tool_use"', `"stop_reason":"${stopReason}"`))
}

/** Frames Anthropic event objects as the API does: `event: <type>` + `data: <json>`. */
export function frameEvents(events: ReadonlyArray<Record<string, unknown>>): string[] {
  return events.map((event) => `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`)
}

/** Re-chunks SSE events at fixed byte sizes (frames split across writes). */
export function rechunk(events: readonly string[], size: number): string[] {
  const text = events.join('')
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

/** The `x-switchyard-warnings` header parsed (empty when absent). */
export function warningsOf(headers: Headers | { get(name: string): string | null } | undefined): Array<{ type: string; feature?: string; message?: string; details?: string }> {
  const value = headers?.get('x-switchyard-warnings')
  return value ? JSON.parse(value) : []
}

/** Expects a warning whose feature (or message) mentions `name`. */
export function expectWarning(headers: Headers | { get(name: string): string | null } | undefined, name: string | RegExp): void {
  const warnings = warningsOf(headers)
  const pattern = typeof name === 'string' ? new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i') : name
  expect(warnings.some((warning) => pattern.test(`${warning.feature ?? ''} ${warning.message ?? ''} ${warning.details ?? ''}`)), JSON.stringify(warnings)).toBe(true)
}
