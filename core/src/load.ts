import type { Config } from './config.js'
import type { PluginDefinition } from './plugin.js'
import type { ProviderDefinition } from './provider.js'

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
 * Loads the provider and plugin packages a config names, by package name, exactly as a
 * third party's package would be loaded.
 */
export async function loadExtensions(config: Config, options: LoadOptions = {}): Promise<{ providers: Map<string, ProviderDefinition>; plugins: PluginDefinition[] }> {
  const load = options.importModule ?? ((specifier: string) => import(specifier))
  const providers = new Map<string, ProviderDefinition>()
  const ids = new Set([...(options.builtins ?? []), ...Object.keys(config.providers)])
  for (const id of ids) {
    const name = id.includes('/') ? id : providerPackage(id, config)
    let module: unknown
    try {
      module = await load(name)
    } catch (error) {
      throw new Error(`provider "${id}": cannot load package "${name}": ${(error as Error).message}`)
    }
    const definition = defaultOf(module) as ProviderDefinition
    if (!definition || typeof definition !== 'object' || definition.spec !== 1 || typeof definition.id !== 'string') {
      throw new Error(`provider "${id}": package "${name}" does not default-export a provider (defineProvider with spec: 1)`)
    }
    // A package may serve a configured id other than its own (presets, custom ids).
    providers.set(id, definition.id === id ? definition : { ...definition, id })
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
