import { describe, expect, it } from 'vitest'
import { fromGeminiSchema, toGeminiSchema } from './schema.js'

describe('toGeminiSchema', () => {
  it('inlines $ref from $defs and definitions, sibling keywords winning', () => {
    const { schema, dropped } = toGeminiSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        home: { $ref: '#/$defs/Address', description: 'Where they live' },
        work: { $ref: '#/definitions/Address' },
      },
      required: ['home'],
      $defs: { Address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], description: 'An address' } },
      definitions: { Address: { type: 'object', properties: { street: { type: 'string' } } } },
    })
    expect(schema).toEqual({
      type: 'object',
      properties: {
        home: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], description: 'Where they live' },
        work: { type: 'object', properties: { street: { type: 'string' } } },
      },
      required: ['home'],
    })
    expect(dropped).toEqual(['$schema at /'])
  })

  it('cuts recursive references to an object, and reports it', () => {
    const { schema, dropped } = toGeminiSchema({
      $defs: { Node: { type: 'object', properties: { value: { type: 'number' }, next: { $ref: '#/$defs/Node' } } } },
      $ref: '#/$defs/Node',
    })
    expect(schema).toEqual({ type: 'object', properties: { value: { type: 'number' }, next: { type: 'object' } } })
    expect(dropped).toEqual(['recursive $ref #/$defs/Node at /properties/next'])
  })

  it('turns const into enum, null members and type arrays into nullable', () => {
    const { schema, dropped } = toGeminiSchema({
      type: 'object',
      properties: {
        kind: { const: 'circle' },
        name: { type: ['string', 'null'] },
        size: { anyOf: [{ type: 'number', minimum: 0 }, { type: 'null' }] },
        either: { type: ['string', 'integer'] },
        choice: { oneOf: [{ type: 'string' }, { type: 'number' }] },
        color: { enum: ['red', 'blue', null] },
        exactly: { const: 3 },
      },
    })
    expect(schema.properties).toEqual({
      kind: { enum: ['circle'], type: 'string' },
      name: { type: 'string', nullable: true },
      size: { type: 'number', minimum: 0, nullable: true },
      either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
      choice: { anyOf: [{ type: 'string' }, { type: 'number' }] },
      color: { enum: ['red', 'blue'], nullable: true },
      exactly: { type: 'integer' },
    })
    expect(dropped).toEqual(['oneOf at /properties/choice (sent as anyOf: Gemini has no exclusive choice)', 'const 3 at /properties/exactly'])
  })

  it('merges allOf, keeps known formats, drops and reports the rest', () => {
    const { schema, dropped } = toGeminiSchema({
      allOf: [
        { type: 'object', properties: { a: { type: 'string', format: 'date-time' } }, required: ['a'] },
        { properties: { b: { type: 'string', format: 'email', examples: ['x@y.z'] } }, required: ['b'] },
      ],
      additionalProperties: false,
      properties: { c: { type: 'integer', format: 'int64', exclusiveMinimum: 0, multipleOf: 2 }, d: { type: 'array', items: { type: 'string' }, uniqueItems: true } },
    })
    expect(schema).toEqual({
      type: 'object',
      properties: {
        c: { type: 'integer', format: 'int64' },
        d: { type: 'array', items: { type: 'string' } },
        a: { type: 'string', format: 'date-time' },
        b: { type: 'string', example: 'x@y.z' },
      },
      required: ['a', 'b'],
    })
    expect(dropped).toEqual([
      'additionalProperties at /',
      'exclusiveMinimum at /properties/c', 'multipleOf at /properties/c',
      'uniqueItems at /properties/d',
      'format "email" at /allOf/1/properties/b',
    ])
  })

  it('leaves the input unchanged', () => {
    const input = { type: 'object', properties: { x: { $ref: '#/$defs/X' } }, $defs: { X: { const: 'x' } } }
    const copy = structuredClone(input)
    toGeminiSchema(input)
    expect(input).toEqual(copy)
  })
})

describe('fromGeminiSchema', () => {
  it('reads Gemini OpenAPI schemas as JSON Schema', () => {
    expect(fromGeminiSchema({
      type: 'OBJECT',
      properties: { n: { type: 'NUMBER', nullable: true }, tags: { type: 'ARRAY', items: { type: 'STRING', format: 'enum', enum: ['a', 'b'] } }, any: { anyOf: [{ type: 'STRING' }], nullable: true } },
      propertyOrdering: ['n', 'tags'],
      example: { n: 1 },
    })).toEqual({
      type: 'object',
      properties: { n: { type: ['number', 'null'] }, tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] } }, any: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
      examples: [{ n: 1 }],
    })
  })

  it('round-trips through toGeminiSchema for the common keywords', () => {
    const gemini = { type: 'object', properties: { s: { type: 'string', nullable: true, description: 'd' }, i: { type: 'integer', minimum: 1 } }, required: ['i'] }
    expect(toGeminiSchema(fromGeminiSchema(gemini)).schema).toEqual(gemini)
  })
})
