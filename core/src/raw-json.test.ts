import { describe, expect, it } from 'vitest'
import { replaceModel, spliceModel } from './raw-json.js'

const replace = (raw: string, model: string) => replaceModel(raw, JSON.parse(raw), model)

describe('replaceModel', () => {
  it('returns the raw text itself when the model does not change', () => {
    const raw = '{ "model":"claude-sonnet-4-5" , "max_tokens": 1.0e3 }'
    expect(replace(raw, 'claude-sonnet-4-5')).toBe(raw)
  })

  it('splices the new value in, keeping every other byte', () => {
    const raw = '{\n  "max_tokens" : 64,\n  "model" :\t"anthropic/claude-haiku-4-5",\n  "messages": [{"role":"user","content":"caf\\u00e9"}]\n}'
    expect(replace(raw, 'claude-haiku-4-5')).toBe(raw.replace('"anthropic/claude-haiku-4-5"', '"claude-haiku-4-5"'))
  })

  it('re-serializes when the same value also appears as a nested "model" (ambiguous)', () => {
    const raw = '{"metadata":{"model":"anthropic/x"},"model":"anthropic/x"}'
    expect(spliceModel(raw, 'anthropic/x', 'x')).toBeUndefined()
    expect(JSON.parse(replace(raw, 'x'))).toEqual({ metadata: { model: 'anthropic/x' }, model: 'x' })
  })

  it('escapes the new model as JSON and ignores "model" used as a string value elsewhere', () => {
    const raw = '{"messages":[{"role":"user","content":"\\"model\\""}],"model":"p/a\\"b"}'
    const out = replace(raw, 'a"b')
    expect(JSON.parse(out)).toEqual({ messages: [{ role: 'user', content: '"model"' }], model: 'a"b' })
    expect(out.startsWith('{"messages":[{"role":"user","content":"\\"model\\""}],')).toBe(true)
  })
})
