import { isObject, type Json } from './wire.js'

/**
 * JSON Schema (what the IR and the OpenAI and Anthropic dialects carry) <-> the schema Gemini
 * accepts for function `parameters` and `responseSchema`: a subset of the OpenAPI 3.0 Schema
 * object. https://ai.google.dev/api/caching#Schema
 *
 * Gemini has no `$ref`, `additionalProperties`, `const`, `oneOf`, `allOf`, type arrays or most
 * validation keywords. Converting:
 * - `$ref` (local: `#/$defs/...`, `#/definitions/...`, any `#/` pointer) is inlined; a recursive
 *   reference cannot be, and becomes `{type: "object"}`;
 * - `const: "x"` becomes `enum: ["x"]`;
 * - `anyOf` / `oneOf` with a `{type: "null"}` member, a `["string", "null"]` type array and a `null`
 *   in `enum` become `nullable: true`; `oneOf` becomes `anyOf`; other type arrays become `anyOf`;
 * - `allOf` members are merged into one schema (properties and `required` joined);
 * - `examples[0]` becomes `example`;
 * - `format` is kept where Gemini knows it (`enum`, `date-time` for strings, `int32`/`int64`,
 *   `float`/`double`);
 * - everything else is dropped and reported (`dropped`), so the caller hears about it.
 */

/** Keywords Gemini's Schema accepts, kept as they are (after their values are converted). */
const KEPT = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering',
  'default', 'items', 'minimum', 'maximum',
])
/** Keywords consumed by the conversion itself (inlined or turned into another keyword), never reported. */
const CONSUMED = new Set(['$ref', '$defs', 'definitions', 'const', 'oneOf', 'allOf', 'examples'])
const FORMATS: Readonly<Record<string, ReadonlySet<string>>> = {
  string: new Set(['enum', 'date-time']),
  integer: new Set(['int32', 'int64']),
  number: new Set(['float', 'double']),
}

/** The result of {@link toGeminiSchema}: the schema, and each keyword dropped with its JSON pointer. */
export interface SchemaConversion {
  schema: Json
  dropped: string[]
}

/** JSON Schema -> Gemini Schema (see the module comment). `schema` itself is not changed. */
export function toGeminiSchema(schema: Json): SchemaConversion {
  const dropped: string[] = []
  const converted = convert(schema, '', { root: schema, stack: [], dropped })
  return { schema: converted, dropped }
}

interface ConvertState {
  root: Json
  /** `$ref`s being inlined on the current path (a repeat is recursion). */
  stack: string[]
  dropped: string[]
}

const pointer = (path: string) => path || '/'

function resolveRef(ref: string, root: Json): unknown {
  if (ref === '#') return root
  if (!ref.startsWith('#/')) return undefined
  let node: unknown = root
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')
    if (!isObject(node) || !(key in node)) return undefined
    node = node[key]
  }
  return node
}

/** `base` with the members of `over` merged in: properties and `required` joined, other keywords of `base` kept. */
function mergeSchemas(base: Json, over: Json): Json {
  const out: Json = { ...base }
  for (const [key, value] of Object.entries(over)) {
    if (key === 'properties' && isObject(out.properties) && isObject(value)) out.properties = { ...out.properties, ...value }
    else if (key === 'required' && Array.isArray(out.required) && Array.isArray(value)) out.required = [...new Set([...(out.required as unknown[]), ...value])]
    else if (!(key in out)) out[key] = value
  }
  return out
}

const isNullSchema = (value: unknown) => isObject(value) && value.type === 'null' && Object.keys(value).length === 1

function convert(input: unknown, path: string, state: ConvertState): Json {
  if (input === true || (isObject(input) && Object.keys(input).length === 0)) return {}
  if (!isObject(input)) {
    state.dropped.push(`${JSON.stringify(input)} schema at ${pointer(path)}`)
    return {}
  }
  let node: Json = input
  // `$ref`: inline the target; sibling keywords (a description ...) are laid over it.
  if (typeof node.$ref === 'string') {
    const ref = node.$ref
    const { $ref: _ref, ...siblings } = node
    if (state.stack.includes(ref)) {
      state.dropped.push(`recursive $ref ${ref} at ${pointer(path)}`)
      return mergeSchemas(convert(siblings, path, state), { type: 'object' })
    }
    const target = resolveRef(ref, state.root)
    if (target === undefined) {
      state.dropped.push(`unresolvable $ref ${ref} at ${pointer(path)}`)
      return convert(siblings, path, state)
    }
    state.stack.push(ref)
    const inlined = convert(target, path, state)
    state.stack.pop()
    return mergeSchemas(convert(siblings, path, state), inlined)
  }
  if (Array.isArray(node.allOf)) {
    const { allOf, ...rest } = node
    let merged = convert(rest, path, state)
    allOf.forEach((member, index) => {
      merged = mergeSchemas(merged, convert(member, `${path}/allOf/${index}`, state))
    })
    return merged
  }

  const out: Json = {}
  let nullable = node.nullable === true
  for (const [key, value] of Object.entries(node)) {
    const at = `${path}/${key}`
    switch (key) {
      case 'type':
        if (Array.isArray(value)) {
          const types = value.filter((type) => type !== 'null')
          if (types.length < value.length) nullable = true
          if (types.length === 1) out.type = types[0]
          else if (types.length > 1) out.anyOf = types.map((type) => ({ type }))
          else out.type = 'null'
        } else out.type = value
        break
      case 'properties':
        if (isObject(value)) out.properties = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, convert(schema, `${at}/${name}`, state)]))
        break
      case 'items':
        if (Array.isArray(value)) state.dropped.push(`items (tuple form) at ${pointer(path)}`)
        else out.items = convert(value, at, state)
        break
      case 'anyOf':
      case 'oneOf': {
        if (!Array.isArray(value)) break
        if (key === 'oneOf') state.dropped.push(`oneOf at ${pointer(path)} (sent as anyOf: Gemini has no exclusive choice)`)
        const members = value.filter((member) => !isNullSchema(member))
        if (members.length < value.length) nullable = true
        const converted = members.map((member, index) => convert(member, `${at}/${index}`, state))
        if (converted.length === 1) Object.assign(out, mergeSchemas(out, converted[0]!))
        else if (converted.length > 1) out.anyOf = [...((out.anyOf as Json[] | undefined) ?? []), ...converted]
        break
      }
      case 'enum':
        if (Array.isArray(value)) {
          const values = value.filter((item) => item !== null)
          if (values.length < value.length) nullable = true
          out.enum = values
        }
        break
      case 'const':
        if (typeof value === 'string') {
          out.enum = [value]
          out.type ??= 'string'
        } else if (value === null) {
          out.type = 'null'
        } else {
          state.dropped.push(`const ${JSON.stringify(value)} at ${pointer(path)}`)
          if (typeof value === 'number') out.type ??= Number.isInteger(value) ? 'integer' : 'number'
          else if (typeof value === 'boolean') out.type ??= 'boolean'
        }
        break
      case 'examples':
        if (Array.isArray(value) && value.length > 0 && node.example === undefined) out.example = value[0]
        break
      case 'nullable':
        break // handled with the null members
      case 'format':
        break // checked once the type is known
      default:
        if (KEPT.has(key)) out[key] = value
        else if (!CONSUMED.has(key)) state.dropped.push(`${key} at ${pointer(path)}`)
    }
  }
  if (typeof node.format === 'string') {
    const type = typeof out.type === 'string' ? out.type.toLowerCase() : undefined
    if (type !== undefined && FORMATS[type]?.has(node.format)) out.format = node.format
    else state.dropped.push(`format "${node.format}" at ${pointer(path)}`)
  }
  if (nullable) out.nullable = true
  return out
}

/**
 * Gemini Schema -> JSON Schema, for a schema a Gemini caller sent (the IR carries JSON Schema):
 * type names in lower case, `nullable` as a type array (or an `anyOf` member), `example` as
 * `examples`; `propertyOrdering` and `format: "enum"` have no JSON Schema meaning and are left out.
 */
export function fromGeminiSchema(input: unknown): Json {
  if (!isObject(input)) return {}
  const out: Json = {}
  for (const [key, value] of Object.entries(input)) {
    switch (key) {
      case 'type':
        out.type = typeof value === 'string' ? value.toLowerCase() : value
        break
      case 'properties':
        if (isObject(value)) out.properties = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, fromGeminiSchema(schema)]))
        break
      case 'items':
        out.items = fromGeminiSchema(value)
        break
      case 'anyOf':
        if (Array.isArray(value)) out.anyOf = value.map((member) => fromGeminiSchema(member))
        break
      case 'example':
        out.examples = [value]
        break
      case 'nullable':
      case 'propertyOrdering':
        break
      case 'format':
        if (value !== 'enum') out.format = value
        break
      default:
        out[key] = value
    }
  }
  if (input.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null']
    else if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: 'null' }]
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null]
  }
  return out
}
