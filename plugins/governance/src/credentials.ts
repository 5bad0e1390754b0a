import { VIRTUAL_KEY_PREFIXES } from './entities.js'

/** Where a virtual key was found. */
export type KeyHeader = 'x-bf-vk' | 'authorization' | 'x-api-key' | 'x-goog-api-key' | 'api-key'

/** Headers besides `x-bf-vk` that carry a virtual key when its value has a virtual key prefix. */
const CREDENTIAL_HEADERS: readonly Exclude<KeyHeader, 'x-bf-vk' | 'authorization'>[] = ['x-api-key', 'x-goog-api-key', 'api-key']

export const hasKeyPrefix = (value: string) => VIRTUAL_KEY_PREFIXES.some((prefix) => value.startsWith(prefix))

/** The bearer token of an `Authorization` header. */
export function bearerOf(headers: Headers): string | undefined {
  const authorization = headers.get('authorization')
  if (!authorization || authorization.length <= 7 || authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined
  return authorization.slice(7).trim()
}

/**
 * The virtual key of a request: `x-bf-vk` (any value), else `Authorization: Bearer`, `x-api-key`,
 * `x-goog-api-key` or `api-key` when the value starts with `sk-bf-` or `vk_` (so an SDK can send
 * the virtual key as its API key). Anything else in those headers is not a virtual key.
 */
export function readVirtualKey(headers: Headers): { value: string; header: KeyHeader } | undefined {
  const explicit = headers.get('x-bf-vk')
  if (explicit !== null && explicit.trim() !== '') return { value: explicit.trim(), header: 'x-bf-vk' }
  const bearer = bearerOf(headers)
  if (bearer && hasKeyPrefix(bearer)) return { value: bearer, header: 'authorization' }
  for (const name of CREDENTIAL_HEADERS) {
    const value = headers.get(name)?.trim()
    if (value && hasKeyPrefix(value)) return { value, header: name }
  }
  return undefined
}

/** Compares without stopping at the first difference, so timing does not reveal how much matched. */
export function sameSecret(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length
  for (let index = 0; index < expected.length; index++) difference |= (given.charCodeAt(index % Math.max(1, given.length)) | 0) ^ expected.charCodeAt(index)
  return difference === 0
}
