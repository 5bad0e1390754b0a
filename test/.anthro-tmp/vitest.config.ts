import { defineConfig } from 'vitest/config'
export default defineConfig({
  root: '/work/main',
  resolve: { conditions: ['switchyard-source'] },
  ssr: { resolve: { conditions: ['switchyard-source'], externalConditions: ['switchyard-source'] } },
  test: { include: ['test/.anthro-tmp/*.test.ts'], testTimeout: 20_000, hookTimeout: 30_000, pool: 'forks' },
})
