import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['switchyard-source'] },
  ssr: { resolve: { conditions: ['switchyard-source'], externalConditions: ['switchyard-source'] } },
  test: {
    include: ['core/src/**/*.test.ts', 'providers/*/src/**/*.test.ts', 'providers/*/test/**/*.test.ts', 'plugins/*/src/**/*.test.ts', 'runtimes/*/src/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
