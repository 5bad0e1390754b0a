import { parseArgs } from 'node:util'
import { createLogger, type LogLevel } from '@switchyard/core'
import { startGateway } from './index.js'

const usage = `Usage: switchyard [--config FILE] [--port 8080] [--host 127.0.0.1] [--data-dir DIR]

  --config FILE    config.json (default: providers from OPENAI_API_KEY, ANTHROPIC_API_KEY ...)
  --port N         port to listen on (default 8080, or $PORT)
  --host ADDR      address to bind (default 127.0.0.1; 0.0.0.0 for all interfaces)
  --data-dir DIR   file store directory (default ./.switchyard)
  --help           this text`

const log = createLogger((process.env.SWITCHYARD_LOG_LEVEL as LogLevel | undefined) ?? 'info', (line) => process.stderr.write(`${line}\n`))

async function main(): Promise<void> {
  let values
  try {
    ;({ values } = parseArgs({
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }))
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`)
    process.exit(2)
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`)
    return
  }
  const port = Number(values.port ?? process.env.PORT ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a port number, got "${values.port}"\n`)
    process.exit(2)
  }
  let running
  try {
    running = await startGateway({ configPath: values.config ?? process.env.SWITCHYARD_CONFIG, port, host: values.host, dataDir: values['data-dir'], logger: log })
  } catch (error) {
    process.stderr.write(`switchyard: ${(error as Error).message}\n`)
    process.exit(1)
  }
  log.info(`switchyard listening on ${running.url}`, { providers: running.gateway.providers, config: running.configSource })
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info('shutting down', { signal })
    running.close().then(
      () => process.exit(0),
      (error) => {
        log.error('shutdown failed', { error: String(error) })
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

void main()
