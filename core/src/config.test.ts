import { describe, expect, it } from 'vitest'
import { ConfigError, configFromEnv, parseConfig } from './config.js'

describe('parseConfig', () => {
  it('accepts the documented shape and fills defaults', () => {
    const config = parseConfig(
      {
        providers: {
          openai: {
            keys: [{ value: 'env.OPENAI_API_KEY', models: ['gpt-4o-mini'], weight: 1.0 }],
            network_config: { default_request_timeout_in_seconds: 30, max_retries: 2, retry_backoff_initial_ms: 100, retry_backoff_max_ms: 2000 },
            concurrency_and_buffer_size: { concurrency: 5, buffer_size: 20 },
          },
        },
      },
      { OPENAI_API_KEY: 'sk-real' },
    )
    expect(config.providers.openai!.keys[0]!.value).toBe('sk-real')
    expect(config.client.allow_direct_keys).toBe(false)
    expect(config.client.max_request_body_size_mb).toBe(100)
  })

  it('names the path of every bad field', () => {
    try {
      parseConfig({ providers: { openai: { keys: [{ value: 'k', weight: 'heavy' }], network_config: { base_url: 'not a url' } } }, client: { allow_direct_keys: 'yes' } })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      const issues = (error as ConfigError).issues.join('\n')
      expect(issues).toContain('providers.openai.keys[0].weight')
      expect(issues).toContain('providers.openai.network_config.base_url')
      expect(issues).toContain('client.allow_direct_keys')
    }
  })

  it('reports a missing environment variable by path', () => {
    expect(() => parseConfig({ providers: { openai: { keys: [{ value: 'env.NOPE_KEY' }] } } }, {})).toThrow(/providers\.openai\.keys\[0\]\.value: environment variable NOPE_KEY/)
  })

  it('rejects provider ids that are not lower-case identifiers', () => {
    expect(() => parseConfig({ providers: { 'Open AI': {} } })).toThrow(ConfigError)
  })
})

describe('configFromEnv', () => {
  it('always offers mock and adds providers whose env key is set', () => {
    const config = configFromEnv({ OPENAI_API_KEY: 'sk-1', ANTHROPIC_API_KEY: '' })
    expect(Object.keys(config.providers).sort()).toEqual(['mock', 'openai'])
    expect(config.providers.openai!.keys[0]!.value).toBe('sk-1')
  })
})

describe('client.prometheus_labels', () => {
  it('defaults to none and takes header names only, naming the bad entry', () => {
    expect(parseConfig({}).client.prometheus_labels).toEqual([])
    expect(parseConfig({ client: { prometheus_labels: ['x-team', 'X-Env'] } }).client.prometheus_labels).toEqual(['x-team', 'X-Env'])
    expect(() => parseConfig({ client: { prometheus_labels: ['x-team', 'not a header'] } })).toThrow(/client\.prometheus_labels\[1\]: prometheus_labels entries are header names/)
  })
})
