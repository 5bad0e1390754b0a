import { describe, expect, it } from 'vitest'
import { parseServeArgs, serveUsage, UsageError } from './args.js'

describe('parseServeArgs', () => {
  it('applies the defaults', () => {
    expect(parseServeArgs([])).toEqual({ configPath: undefined, port: 8080, host: '127.0.0.1', dataDir: '.switchyard', workers: 1, help: false })
  })

  it('reads --flag value and --flag=value; the last occurrence wins', () => {
    const args = parseServeArgs(['--config', 'a.json', '--port=0', '--host', '0.0.0.0', '--data-dir=/var/sy', '--workers', '4', '--port', '9000'])
    expect(args).toEqual({ configPath: 'a.json', port: 9000, host: '0.0.0.0', dataDir: '/var/sy', workers: 4, help: false })
  })

  it('falls back to $SWITCHYARD_CONFIG and $PORT', () => {
    expect(parseServeArgs([], { SWITCHYARD_CONFIG: 'env.json', PORT: '3000' })).toMatchObject({ configPath: 'env.json', port: 3000 })
    expect(parseServeArgs(['--port', '1'], { PORT: '3000' }).port).toBe(1)
  })

  it('takes --redis, else $SWITCHYARD_REDIS_URL', () => {
    expect(parseServeArgs(['--redis', 'redis://127.0.0.1:6379/2']).redis).toBe('redis://127.0.0.1:6379/2')
    expect(parseServeArgs([], { SWITCHYARD_REDIS_URL: 'rediss://cache:6380' }).redis).toBe('rediss://cache:6380')
    expect(parseServeArgs([]).redis).toBeUndefined()
  })

  it('takes --help and -h', () => {
    expect(parseServeArgs(['-h']).help).toBe(true)
    expect(parseServeArgs(['--help']).help).toBe(true)
  })

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['config.json'], "Unknown option 'config.json'"],
    [['--port'], "Option '--port <value>' argument missing"],
    [['--config', '--port', '1'], "Option '--config <value>' argument missing"],
    [['--port', '70000'], '--port must be a port number, got "70000"'],
    [['--port', '8080x'], '--port must be a port number, got "8080x"'],
    [['--workers', '0'], '--workers must be a whole number of processes (1 or more), got "0"'],
    [['--redis', 'localhost:6379'], '--redis must be a redis:// or rediss:// URL, got "localhost:6379"'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseServeArgs(argv)).toThrow(new UsageError(message))
  })

  it('names the command in the usage', () => {
    expect(serveUsage('switchyard-bun')).toMatch(/^Usage: switchyard-bun \[--config FILE\]/)
  })
})
