import * as v from 'valibot'
import { GatewayError, type Warning } from '@switchyard/core'

/**
 * Small helpers the Gemini codecs share: validation with `param` paths, pass-through of the
 * members the IR does not model, and the record of how a Gemini body spelled things the IR does
 * not distinguish. https://ai.google.dev/api/generate-content
 */

export type Json = Record<string, unknown>
/** `request`: input from a caller (bad input is a 400); `response`: a body from the upstream (a 502). */
export type Side = 'request' | 'response'

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A caller's bad input is a 400 naming the field; a bad upstream body is a 502. */
export function fail(side: Side, message: string, param: string | undefined, provider = 'gemini'): never {
  if (side === 'request') throw GatewayError.badRequest(param ? `Invalid '${param}': ${message}` : message, param)
  throw new GatewayError({ status: 502, code: 'upstream', provider, message: `[${provider}] malformed response from upstream${param ? ` at '${param}'` : ''}: ${message}` })
}

/** Validates `value` against a valibot wire schema; a failure names the bad field's path under `base`. */
export function validateWire<S extends v.GenericSchema>(schema: S, value: unknown, base: string, side: Side = 'request', provider?: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value)
  if (result.success) return result.output
  const issue = result.issues[0]
  let param = base
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key
    param += typeof key === 'number' ? `[${key}]` : param ? `.${String(key)}` : String(key)
  }
  return fail(side, issue.message, param || undefined, provider)
}

/** The members of `object` whose names are not in `known`, or undefined when there are none. */
export function restOf(object: Json, known: ReadonlySet<string>): Json | undefined {
  let rest: Json | undefined
  for (const key of Object.keys(object)) if (!known.has(key)) (rest ??= {})[key] = object[key]
  return rest
}

/** Copies defined values only, so no `undefined` member reaches the wire. */
export function defined(object: Json): Json {
  const out: Json = {}
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value
  return out
}

/**
 * Copies `extra` onto a wire object: a member the object already has and that is an object on
 * both sides is merged one level deep (`generationConfig`, `functionCall` ...); the encoder's own
 * value wins inside it. Other members are added when absent.
 */
export function mergeExtra(target: Json, extra: Json | undefined, skip: ReadonlySet<string> = NO_KEYS): Json {
  if (!extra) return target
  for (const [key, value] of Object.entries(extra)) {
    if (skip.has(key)) continue
    const own = target[key]
    if (own === undefined) target[key] = value
    else if (isObject(own) && isObject(value)) target[key] = mergeDeep(value, own)
  }
  return target
}
const NO_KEYS: ReadonlySet<string> = new Set()

/** `base` with `over` laid on top, objects merged recursively. */
function mergeDeep(base: Json, over: Json): Json {
  const out: Json = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const under = out[key]
    out[key] = isObject(under) && isObject(value) ? mergeDeep(under, value) : value
  }
  return out
}

export const unsupported = (warnings: Warning[] | undefined, feature: string, details?: string) => {
  warnings?.push(details === undefined ? { type: 'unsupported', feature } : { type: 'unsupported', feature, details })
}

/** Like {@link unsupported}, once per feature: a hint on every part of a long conversation is one warning. */
export const unsupportedOnce = (warnings: Warning[] | undefined, feature: string, details: string) => {
  if (warnings && !warnings.some((warning) => warning.type === 'unsupported' && warning.feature === feature)) unsupported(warnings, feature, details)
}

/** A JSON value parsed from tool-call arguments text; `undefined` when it is not valid JSON. */
export function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) }
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Wire spelling the IR does not distinguish

/**
 * How a Gemini body spelled something that means the same either way: an empty
 * `generationConfig`, a function schema in Gemini's OpenAPI dialect (`type: "OBJECT"`), a content
 * without `role`. Kept beside the IR objects (not in `extra`, whose members other dialects report
 * as unsupported) so a Gemini encode of a Gemini-parsed request gives the same body back. A
 * copied IR object has no entry and gets the canonical spelling.
 */
export interface WireShape {
  /** The request had `generationConfig` (possibly `{}`). */
  generationConfig?: boolean
  /** The function declaration's schema as sent (`parameters` or `parametersJsonSchema`), and the IR schema made from it. */
  parameters?: { key: 'parameters' | 'parametersJsonSchema'; wire: unknown; ir: unknown }
  /** The request set `thinkingConfig.thinkingLevel` (Gemini 3), read as the IR's reasoning effort. */
  thinkingLevel?: boolean
  /** The response schema as sent (`responseSchema` or `responseJsonSchema`), and the IR schema made from it. */
  responseSchema?: { key: 'responseSchema' | 'responseJsonSchema'; wire: unknown; ir: unknown }
  /** The content had no `role`. */
  noRole?: boolean
  /**
   * The `role` a `systemInstruction` carried (`@google/genai` sends `"user"`): meaningless there, so
   * not an extra another dialect would report, but given back to Gemini.
   */
  systemRole?: string
  /** The tool call id was made up by the gateway (Gemini sent none): never put on the wire. */
  syntheticId?: boolean
  /** The function a Gemini `functionResponse` named (used when its call is not in the conversation). */
  toolName?: string
  /** The message was split from the same Gemini content as the one before it (function responses beside text). */
  continues?: boolean
}
const shapes = new WeakMap<object, WireShape>()
export const shapeOf = (target: object): WireShape | undefined => shapes.get(target)
export function setShape(target: object, shape: WireShape): void {
  shapes.set(target, { ...shapes.get(target), ...shape })
}

/**
 * Parts the IR has no part for (`executableCode`, `codeExecutionResult`, future kinds) are kept
 * verbatim: in the extra of the next modeled part, of the last one when they trail, or of the
 * message when it has no modeled part at all.
 */
export const PARTS_BEFORE = 'gemini_parts_before'
export const PARTS_AFTER = 'gemini_parts_after'
export const PARTS = 'gemini_parts'
export const SYNTHETIC = new Set([PARTS_BEFORE, PARTS_AFTER, PARTS])

/**
 * The tool call id the gateway gives a Gemini function call that came without one: stable
 * (`call_<n>_<name>`, `n` counting the calls of one turn), so a re-sent turn gets the same ids.
 */
export function syntheticToolCallId(index: number, name: string): string {
  return `call_${index}_${name}`
}

/** True for an id of {@link syntheticToolCallId}'s form for `name`: such ids never go on the wire. */
export function isSyntheticToolCallId(id: string, name: string): boolean {
  const prefix = /^call_\d+_/.exec(id)
  return prefix !== null && id.slice(prefix[0].length) === name
}
