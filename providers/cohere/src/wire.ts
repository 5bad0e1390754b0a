import * as v from 'valibot'
import { GatewayError } from '@switchyard/core'

/** Helpers shared by the Cohere codecs. */

export type Json = Record<string, unknown>

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Copies defined values only, so no `undefined` member reaches the wire. */
export function defined(object: Json): Json {
  const out: Json = {}
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value
  return out
}

/** The members of `object` whose names are not in `known`, or undefined when there are none. */
export function restOf(object: Json, known: ReadonlySet<string>): Json | undefined {
  let rest: Json | undefined
  for (const key of Object.keys(object)) if (!known.has(key)) (rest ??= {})[key] = object[key]
  return rest
}

/** Validates an upstream body; a body this codec cannot read is a 502 naming the bad field. */
export function readWire<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value)
  if (result.success) return result.output
  const issue = result.issues[0]
  const path = issue.path?.map((item) => String((item as { key: unknown }).key)).join('.') ?? ''
  throw new GatewayError({ status: 502, code: 'upstream', message: `malformed ${what} from cohere${path ? ` at '${path}'` : ''}: ${issue.message}` })
}

/** UTF-8 text of base64 data (Web APIs only, so every runtime can run it). */
export function textOfBase64(data: string): string {
  const binary = atob(data)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return new TextDecoder().decode(bytes)
}
