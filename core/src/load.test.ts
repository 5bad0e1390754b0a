import { describe, expect, it } from 'vitest'
import { parseConfig } from './config.js'
import { isMissingPackage, loadExtensions } from './load.js'
import { defineProvider, type ProviderDefinition, type SurfaceDefinition } from './provider.js'

const surface: SurfaceDefinition = { basePath: '/alpha', defaultProvider: 'alpha', renderError: () => new Response(null), routes: () => {} }
const error = () => {
  throw new Error('unused')
}

/** A provider package with a surface and two presets, and a plain one. */
const alpha = defineProvider({ id: 'alpha', spec: 1, dialect: 'alpha', baseURL: 'https://alpha.example/v1', models: ['a-1'], envKey: 'ALPHA_KEY', upstream: { error }, surface })
const presetOne = defineProvider({ id: 'one', spec: 1, dialect: 'alpha', baseURL: 'https://one.example/v1', upstream: { error } })
const presetSelfHosted = defineProvider({ id: 'selfhosted', spec: 1, dialect: 'alpha', requiresBaseURL: true, requiresKey: false, upstream: { error } })
const beta = defineProvider({ id: 'beta', spec: 1, dialect: 'beta', baseURL: 'https://beta.example', upstream: { error } })

const notFound = (specifier: string) => Object.assign(new Error(`Cannot find package '${specifier}' imported from /app/x.js`), { code: 'ERR_MODULE_NOT_FOUND' })

/** An `import()` over a fixed set of modules; anything else is "not installed", as Node says it. */
function modules(table: Record<string, unknown>) {
  const imported: string[] = []
  const importModule = async (specifier: string) => {
    imported.push(specifier)
    if (specifier in table) {
      const module = table[specifier]
      if (module instanceof Error) throw module
      return module
    }
    throw notFound(specifier)
  }
  return { importModule, imported }
}

const packages = {
  '@switchyard/provider-alpha': {
    default: alpha,
    presets: { one: presetOne, selfhosted: presetSelfHosted },
    customProvider: (options: { id: string; baseURL: string }): ProviderDefinition => ({ id: options.id, spec: 1, dialect: 'alpha', baseURL: options.baseURL, requiresKey: false, upstream: { error } }),
  },
  '@switchyard/provider-beta': { default: beta },
}

const load = (providers: Record<string, unknown>, table: Record<string, unknown> = packages) => {
  const { importModule, imported } = modules(table)
  const result = loadExtensions(parseConfig({ providers }), { builtins: ['alpha'], importModule })
  return { result, imported }
}

describe('loadExtensions: presets', () => {
  it('resolves an id with no package of its own to a loaded package\'s preset', async () => {
    const { result, imported } = load({ one: { keys: [{ value: 'k' }] } })
    const { providers } = await result
    expect(providers.get('one')).toBe(presetOne)
    // It tried the id's own package first, then asked the loaded ones.
    expect(imported).toEqual(['@switchyard/provider-alpha', '@switchyard/provider-one'])
  })

  it('prefers an installed @switchyard/provider-<id> over a preset of the same id', async () => {
    const own = defineProvider({ id: 'one', spec: 1, dialect: 'own', upstream: { error } })
    const { result } = load({ one: {} }, { ...packages, '@switchyard/provider-one': { default: own } })
    expect((await result).providers.get('one')).toBe(own)
  })

  it('picks the preset when providers.<id>.package names the package that has it', async () => {
    const { result } = load({ one: { package: '@switchyard/provider-alpha' } })
    expect((await result).providers.get('one')).toBe(presetOne)
  })

  it('serves a package under another id, keeping its surface mounted once', async () => {
    const { result } = load({ other: { package: '@switchyard/provider-alpha' } })
    const { providers } = await result
    expect(providers.get('alpha')!.surface).toBe(surface)
    expect(providers.get('other')).toMatchObject({ id: 'other', dialect: 'alpha', baseURL: 'https://alpha.example/v1' })
    expect(providers.get('other')!.surface).toBeUndefined()
  })

  it('fails at start naming the id, the package and the presets on offer when nothing provides it', async () => {
    const { result } = load({ nope: {} })
    await expect(result).rejects.toThrow(/provider "nope": package "@switchyard\/provider-nope" is not installed and no loaded package provides a preset "nope" \(presets: one, selfhosted\)/)
  })

  it('does not hide a package that is installed but broken', async () => {
    const broken = Object.assign(new Error("Cannot find package 'left-pad' imported from /app/node_modules/@switchyard/provider-one/index.js"), { code: 'ERR_MODULE_NOT_FOUND' })
    const { result } = load({ one: {} }, { ...packages, '@switchyard/provider-one': broken })
    await expect(result).rejects.toThrow(/provider "one": cannot load package "@switchyard\/provider-one": Cannot find package 'left-pad'/)
  })

  it('requires an explicitly named package to load (no preset fallback)', async () => {
    const { result } = load({ one: { package: '@acme/missing' } })
    await expect(result).rejects.toThrow(/provider "one": cannot load package "@acme\/missing"/)
  })

  it('requires network_config.base_url for a preset without a default address', async () => {
    await expect(load({ selfhosted: {} }).result).rejects.toThrow('provider "selfhosted": this provider has no default address; set providers.selfhosted.network_config.base_url')
    const { providers } = await load({ selfhosted: { network_config: { base_url: 'http://10.0.0.5:8000/v1' } } }).result
    expect(providers.get('selfhosted')).toBe(presetSelfHosted)
  })
})

describe('loadExtensions: custom providers', () => {
  it('builds one with the customProvider of the package that speaks the dialect', async () => {
    const { providers } = await load({ mycorp: { custom: { base_url: 'https://llm.mycorp.example/v1/', dialect: 'alpha' }, keys: [{ value: 'k' }] } }).result
    expect(providers.get('mycorp')).toMatchObject({ id: 'mycorp', dialect: 'alpha', baseURL: 'https://llm.mycorp.example/v1', requiresKey: false })
  })

  it('derives one from the default definition when the package has no customProvider (surface, models, env key left out)', async () => {
    const { providers, imported } = await (async () => {
      const run = load({ proxy: { custom: { base_url: 'https://proxy.example/beta', dialect: 'beta' } } })
      return { ...(await run.result), imported: run.imported }
    })()
    // The dialect's package was not loaded yet: it is imported by its conventional name.
    expect(imported).toContain('@switchyard/provider-beta')
    expect(providers.get('proxy')).toMatchObject({ id: 'proxy', dialect: 'beta', baseURL: 'https://proxy.example/beta', requiresKey: false })
    const derived = await load({ mirror: { custom: { base_url: 'https://mirror.example/v1', dialect: 'alpha' } } }, { '@switchyard/provider-alpha': { default: alpha } }).result
    const mirror = derived.providers.get('mirror')!
    expect(mirror).toMatchObject({ id: 'mirror', baseURL: 'https://mirror.example/v1', requiresKey: false })
    expect(mirror.surface).toBeUndefined()
    expect(mirror.models).toBeUndefined()
    expect(mirror.envKey).toBeUndefined()
  })

  it('fails at start when no package speaks the dialect', async () => {
    await expect(load({ x: { custom: { base_url: 'https://x.example', dialect: 'gamma' } } }).result).rejects.toThrow('provider "x": custom.dialect "gamma" is not spoken by any loaded provider package (dialects: alpha)')
  })

  it('validates custom in the config', () => {
    expect(() => parseConfig({ providers: { x: { custom: { base_url: 'not a url', dialect: 'openai' } } } })).toThrow(/providers\.x\.custom\.base_url/)
    expect(() => parseConfig({ providers: { x: { custom: { base_url: 'https://x.example' } } } })).toThrow(/providers\.x\.custom\.dialect/)
  })
})

describe('isMissingPackage', () => {
  it('recognizes Node and Bun (single quotes) and Deno (double quotes)', () => {
    expect(isMissingPackage(notFound('@switchyard/provider-x'), '@switchyard/provider-x')).toBe(true)
    expect(isMissingPackage(Object.assign(new TypeError('Import "@switchyard/provider-x" not a dependency'), { code: 'ERR_MODULE_NOT_FOUND' }), '@switchyard/provider-x')).toBe(true)
    expect(isMissingPackage(notFound('@switchyard/provider-xy'), '@switchyard/provider-x')).toBe(false)
    expect(isMissingPackage(new Error("Cannot find package '@switchyard/provider-x'"), '@switchyard/provider-x')).toBe(false)
  })
})
