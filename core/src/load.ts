import type { Config } from './config.js'
import type { PluginDefinition } from './plugin.js'
import type { ProviderDefinition, ProviderModule } from './provider.js'

export interface LoadOptions {
  /** Provider packages always loaded (their surfaces serve even when not configured). */
  builtins?: readonly string[]
  /** Module loader (default: dynamic `import()`); runtimes may resolve from another base. */
  importModule?: (specifier: string) => Promise<unknown>
}

const defaultOf = (module: unknown): unknown => (module as { default?: unknown })?.default ?? module

/** Package that implements a provider id: `providers.<id>.package`, else `@switchyard/provider-<id>`. */
export function providerPackage(id: string, config: Config): string {
  return config.providers[id]?.package ?? `@switchyard/provider-${id}`
}

/**
 * True when `import(specifier)` failed because that very package is not installed (Node, Bun and
 * Deno all say `ERR_MODULE_NOT_FOUND` and quote the specifier). A package that is installed but
 * broken, or misses a dependency of its own, is not "absent": that error must surface.
 */
export function isMissingPackage(error: unknown, specifier: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (code !== 'ERR_MODULE_NOT_FOUND' || typeof message !== 'string') return false
  return message.includes(`'${specifier}'`) || message.includes(`"${specifier}"`)
}

const isProvider = (value: unknown): value is ProviderDefinition =>
  typeof value === 'object' && value !== null && (value as ProviderDefinition).spec === 1 && typeof (value as ProviderDefinition).id === 'string'

/** A loaded provider package: its module and the name it was imported by. */
interface LoadedPackage {
  name: string
  module: Partial<ProviderModule>
  definition: ProviderDefinition
}

/** Serves `definition` under the configured `id` (a package may serve ids other than its own). */
const asId = (definition: ProviderDefinition, id: string): ProviderDefinition => (definition.id === id ? definition : { ...definition, id })

/**
 * Loads the provider and plugin packages a config names, by package name, exactly as a
 * third party's package would be loaded. A provider id resolves, in order, to:
 * 1. `providers.<id>.custom`: a config-only provider built by the loaded package of that dialect
 *    (its `customProvider`, else its default definition at the custom base URL);
 * 2. the package named by `providers.<id>.package` (its `presets[id]` when it has one, else its
 *    default export);
 * 3. `@switchyard/provider-<id>` when it is installed;
 * 4. a preset: the first loaded package whose `presets` export has `id`
 *    (`@switchyard/provider-openai` serves mistral, groq, deepseek ... this way).
 * A surface is mounted once: a package served under several ids keeps it on the first only.
 */
export async function loadExtensions(config: Config, options: LoadOptions = {}): Promise<{ providers: Map<string, ProviderDefinition>; plugins: PluginDefinition[] }> {
  const load = options.importModule ?? ((specifier: string) => import(specifier))
  const packages = new Map<string, LoadedPackage>()

  /** Imports a provider package once; `undefined` when it is optional and not installed. */
  async function importPackage(id: string, name: string, optional: boolean): Promise<LoadedPackage | undefined> {
    const known = packages.get(name)
    if (known) return known
    let module: unknown
    try {
      module = await load(name)
    } catch (error) {
      if (optional && isMissingPackage(error, name)) return undefined
      throw new Error(`provider "${id}": cannot load package "${name}": ${(error as Error).message}`)
    }
    const definition = defaultOf(module)
    if (!isProvider(definition)) throw new Error(`provider "${id}": package "${name}" does not default-export a provider (defineProvider with spec: 1)`)
    const loaded: LoadedPackage = { name, module: module as Partial<ProviderModule>, definition }
    packages.set(name, loaded)
    return loaded
  }

  const providers = new Map<string, ProviderDefinition>()
  const ids = new Set([...(options.builtins ?? []), ...Object.keys(config.providers)])
  const withoutPackage: string[] = []
  const custom: string[] = []
  for (const id of ids) {
    const entry = config.providers[id]
    if (entry?.custom) {
      custom.push(id)
      continue
    }
    const explicit = id.includes('/') || entry?.package !== undefined
    const name = id.includes('/') ? id : providerPackage(id, config)
    const loaded = await importPackage(id, name, !explicit)
    if (!loaded) {
      withoutPackage.push(id)
      continue
    }
    const preset = loaded.module.presets?.[id]
    if (preset !== undefined && !isProvider(preset)) throw new Error(`provider "${id}": package "${name}" exports presets.${id}, which is not a provider (spec: 1)`)
    providers.set(id, asId(preset ?? loaded.definition, id))
  }

  for (const id of withoutPackage) {
    const owner = [...packages.values()].find((loaded) => loaded.module.presets?.[id] !== undefined)
    if (!owner) {
      const offered = [...packages.values()].flatMap((loaded) => Object.keys(loaded.module.presets ?? {}))
      throw new Error(
        `provider "${id}": package "${providerPackage(id, config)}" is not installed and no loaded package provides a preset "${id}"` +
          (offered.length > 0 ? ` (presets: ${offered.join(', ')})` : '') +
          '; install the package, name one with providers.' + id + '.package, or describe the upstream with providers.' + id + '.custom',
      )
    }
    const preset = owner.module.presets![id]
    if (!isProvider(preset)) throw new Error(`provider "${id}": package "${owner.name}" exports presets.${id}, which is not a provider (spec: 1)`)
    providers.set(id, asId(preset, id))
  }

  for (const id of custom) providers.set(id, await loadCustom(id))

  async function loadCustom(id: string): Promise<ProviderDefinition> {
    const entry = config.providers[id]!
    const spec = entry.custom!
    let owner: LoadedPackage | undefined
    if (entry.package !== undefined) owner = await importPackage(id, entry.package, false)
    else {
      const speakers = [...packages.values()].filter((loaded) => loaded.definition.dialect === spec.dialect)
      owner = speakers.find((loaded) => loaded.definition.id === spec.dialect) ?? speakers[0] ?? (await importPackage(id, `@switchyard/provider-${spec.dialect}`, true))
      if (owner && owner.definition.dialect !== spec.dialect) owner = undefined
    }
    if (!owner) {
      const dialects = [...new Set([...packages.values()].map((loaded) => loaded.definition.dialect).filter(Boolean))]
      throw new Error(`provider "${id}": custom.dialect "${spec.dialect}" is not spoken by any loaded provider package (dialects: ${dialects.join(', ') || 'none'})`)
    }
    const options = { id, baseURL: spec.base_url.replace(/\/+$/, '') }
    const built = owner.module.customProvider ? owner.module.customProvider(options) : deriveCustom(owner.definition, options)
    if (!isProvider(built)) throw new Error(`provider "${id}": package "${owner.name}" built a custom provider that is not a provider (spec: 1)`)
    return asId(built, id)
  }

  for (const [id, definition] of providers) {
    if (definition.requiresBaseURL && !definition.baseURL && !config.providers[id]?.network_config?.base_url) {
      throw new Error(`provider "${id}": this provider has no default address; set providers.${id}.network_config.base_url`)
    }
  }

  // One mount per surface: the same package served under several ids keeps it on the first.
  const surfaces = new Set<unknown>()
  for (const [id, definition] of providers) {
    if (!definition.surface) continue
    if (surfaces.has(definition.surface)) providers.set(id, { ...definition, surface: undefined })
    else surfaces.add(definition.surface)
  }

  const plugins: PluginDefinition[] = []
  for (const entry of config.plugins) {
    if (!entry.enabled) continue
    let module: unknown
    try {
      module = await load(entry.name)
    } catch (error) {
      throw new Error(`plugin "${entry.name}": cannot load package: ${(error as Error).message}`)
    }
    const exported = defaultOf(module)
    const plugin = (typeof exported === 'function' ? (exported as (options: unknown) => PluginDefinition)(entry.config) : exported) as PluginDefinition
    if (!plugin || typeof plugin !== 'object' || typeof plugin.hooks !== 'object') throw new Error(`plugin "${entry.name}" does not export a plugin (definePlugin)`)
    plugins.push({ ...plugin, name: entry.name })
  }
  return { providers, plugins }
}

/**
 * A config-only provider from a package without `customProvider`: its default definition at the
 * custom base URL, keys optional, without the package's surface, model list or env key (they
 * describe the original upstream, not this one).
 */
function deriveCustom(definition: ProviderDefinition, options: { id: string; baseURL: string }): ProviderDefinition {
  const { surface: _surface, models: _models, envKey: _envKey, ...rest } = definition
  return { ...rest, id: options.id, baseURL: options.baseURL, requiresKey: false, requiresBaseURL: false }
}
