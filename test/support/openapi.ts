import { readFileSync } from 'node:fs'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import formats from 'ajv-formats'
import { parse } from 'yaml'

/**
 * Request-body validation against the official OpenAI OpenAPI document
 * (/work/shared/specs/openai-openapi.yaml, OpenAPI 3.1).
 *
 * The document's `components.schemas` are registered under one base id so every
 * `$ref: '#/components/schemas/X'` resolves. Two OpenAPI-isms are rewritten first:
 * `nullable: true` becomes "or null" (3.0 style, still present in parts of the file), and
 * `discriminator` is dropped (it only narrows which `oneOf` branch applies, and the
 * branches validate on their own). Unknown keywords (`x-oaiMeta`, `example` ...) and
 * unknown formats are ignored (`strict: false`).
 */

const SPEC_URL = new URL('../../../shared/specs/openai-openapi.yaml', import.meta.url)
const BASE_ID = 'https://switchyard.test/openai-openapi.json'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

interface Operation {
  operationId?: string
  requestBody?: { content?: Record<string, { schema?: Json }> }
  /** Documentation metadata; `examples[].response` holds the spec's example answers. */
  'x-oaiMeta'?: { examples?: unknown }
}

/** The parts of the spec document the tests read. */
export interface SpecDocument {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Json> }
}

export interface SpecOperation {
  operationId: string
  /** Validates a parsed JSON body; undefined when the operation takes no JSON body. */
  validate: ((body: unknown) => string[]) | undefined
  /**
   * Validates the fields of a `multipart/form-data` body (text values as sent, files as any
   * string, `name[]` fields as arrays); undefined when the operation takes no multipart body.
   * Text values are coerced to the schema's types first, as the API reads them.
   */
  validateForm: ((fields: Record<string, unknown>) => string[]) | undefined
}

export interface OpenAPIValidator {
  /** The operation for `method` + `path` (path below the API root, e.g. `/chat/completions`). */
  operation(method: string, path: string): SpecOperation | undefined
}

/** Keywords whose value maps names to schemas: the names are data, never keywords. */
const NAME_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'])

function normalizeEach(node: Json): Json {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return normalize(node)
  const out: { [key: string]: Json } = {}
  for (const [name, schema] of Object.entries(node)) out[name] = normalize(schema)
  return out
}

/** Rewrites `nullable` and drops `discriminator`, recursively (returns a new tree). */
function normalize(node: Json): Json {
  if (Array.isArray(node)) return node.map(normalize)
  if (node === null || typeof node !== 'object') return node
  const out: { [key: string]: Json } = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === 'discriminator' || key === 'nullable') continue
    out[key] = NAME_MAPS.has(key) ? normalizeEach(value) : normalize(value)
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null']
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null]
      return out
    }
    return { anyOf: [out, { type: 'null' }] }
  }
  return out
}

const formatError = (error: ErrorObject): string => {
  const where = error.instancePath || '(body)'
  const extra = error.keyword === 'additionalProperties' ? ` (${(error.params as { additionalProperty: string }).additionalProperty})` : ''
  return `${where} ${error.message ?? error.keyword}${extra}`
}

/** Readable, de-duplicated errors (anyOf/oneOf branches repeat themselves), at most 20. */
function summarize(errors: ErrorObject[] | null | undefined): string[] {
  if (!errors || errors.length === 0) return []
  const lines = errors.map(formatError)
  return [...new Set(lines)].slice(0, 20)
}

/** Turns `/responses/{response_id}` into a matcher. */
function pathMatcher(template: string): RegExp {
  const escaped = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')
  return new RegExp(`^${escaped}$`)
}

let document: SpecDocument | undefined

/** The parsed spec (read once per test worker): for the validator and for the spec's example answers. */
export function openAPIDocument(): SpecDocument {
  return (document ??= parse(readFileSync(SPEC_URL, 'utf8')) as SpecDocument)
}

function createAjv(schemas: Json, options: { coerceTypes?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false, validateFormats: true, ...options })
  // CommonJS default export: under NodeNext the callable is on `.default`.
  const addFormats = ((formats as unknown as { default?: typeof formats }).default ?? formats) as unknown as (ajv: Ajv2020) => void
  addFormats(ajv)
  ajv.addSchema({ $id: BASE_ID, components: { schemas } } as object)
  return ajv
}

function createValidator(): OpenAPIValidator {
  const spec = openAPIDocument()
  const schemas = normalizeEach(spec.components.schemas as Json)
  const ajv = createAjv(schemas)
  // Multipart values arrive as text: a second instance coerces them to the schema's types.
  let formAjv: Ajv2020 | undefined

  const routes = Object.entries(spec.paths).map(([template, operations]) => ({
    template,
    // Literal paths win over templated ones (`/responses/compact` vs `/responses/{id}`).
    literal: !template.includes('{'),
    matcher: pathMatcher(template),
    operations,
  }))
  routes.sort((a, b) => Number(b.literal) - Number(a.literal))

  const compiled = new Map<string, ValidateFunction | undefined>()
  function validatorFor(operation: Operation, contentType = 'application/json'): ValidateFunction | undefined {
    const id = `${operation.operationId ?? ''} ${contentType}`
    if (compiled.has(id)) return compiled.get(id)
    const schema = operation.requestBody?.content?.[contentType]?.schema
    let validate: ValidateFunction | undefined
    if (schema && typeof schema === 'object' && !Array.isArray(schema)) {
      const ref = (schema as { $ref?: string }).$ref
      const target = contentType === 'application/json' ? ajv : (formAjv ??= createAjv(schemas, { coerceTypes: true }))
      validate = target.compile(ref ? { $ref: `${BASE_ID}${ref}` } : { $id: `${BASE_ID}/op/${encodeURIComponent(id)}`, ...(normalize(schema) as object) })
    }
    compiled.set(id, validate)
    return validate
  }

  return {
    operation(method, path) {
      const lower = method.toLowerCase()
      for (const route of routes) {
        if (!route.matcher.test(path)) continue
        const operation = route.operations[lower]
        if (!operation) continue
        const validate = validatorFor(operation)
        const validateForm = validatorFor(operation, 'multipart/form-data')
        return {
          operationId: operation.operationId ?? `${lower} ${route.template}`,
          validate: validate ? (body) => (validate(body) ? [] : summarize(validate.errors)) : undefined,
          // Coercion rewrites the object it checks: it gets a copy.
          validateForm: validateForm ? (fields) => (validateForm({ ...fields }) ? [] : summarize(validateForm.errors)) : undefined,
        }
      }
      return undefined
    },
  }
}

let shared: OpenAPIValidator | undefined

/** The process-wide validator (the spec is ~3 MB; it is parsed once per test worker). */
export function openAPIValidator(): OpenAPIValidator {
  return (shared ??= createValidator())
}

/**
 * Validates a request the way api.openai.com would see it: `path` is the full path below
 * the host (`/v1/chat/completions`). Returns the problems found (empty = valid).
 */
export function validateOpenAIRequest(method: string, path: string, body: unknown, contentType: string | undefined, hasBody = body !== undefined): { operationId: string | undefined; errors: string[] } {
  const relative = path.replace(/^\/v1(?=\/)/, '').split('?')[0]!
  const operation = openAPIValidator().operation(method, relative)
  if (!operation) return { operationId: undefined, errors: [`no operation ${method.toUpperCase()} ${relative} in the OpenAI spec`] }
  if (!operation.validate) return { operationId: operation.operationId, errors: hasBody ? [`${operation.operationId} takes no body, but one was sent`] : [] }
  if (!contentType?.toLowerCase().startsWith('application/json')) {
    return { operationId: operation.operationId, errors: [`content-type is ${contentType ?? '(none)'}, expected application/json`] }
  }
  if (body === undefined) return { operationId: operation.operationId, errors: ['body is not valid JSON'] }
  return { operationId: operation.operationId, errors: operation.validate(body) }
}

/**
 * Validates the fields of a `multipart/form-data` request the way api.openai.com would read them
 * (`path` below the host, `/v1/images/edits`). `fields` maps each part name to its text (files to
 * any string; `name[]` parts gathered into an array under `name`). Returns the problems found.
 */
export function validateOpenAIForm(method: string, path: string, fields: Record<string, unknown>): { operationId: string | undefined; errors: string[] } {
  const relative = path.replace(/^\/v1(?=\/)/, '').split('?')[0]!
  const operation = openAPIValidator().operation(method, relative)
  if (!operation) return { operationId: undefined, errors: [`no operation ${method.toUpperCase()} ${relative} in the OpenAI spec`] }
  if (!operation.validateForm) return { operationId: operation.operationId, errors: [`${operation.operationId} takes no multipart/form-data body`] }
  return { operationId: operation.operationId, errors: operation.validateForm(fields) }
}
