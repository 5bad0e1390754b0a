/** Structured logger handed to plugins and providers as `ctx.log`. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const levels: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

/** A logger that writes one JSON line per entry through `write` (default: console.error). */
export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => console.error(line)): Logger {
  const min = levels[level]
  const emit = (lvl: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => {
    if (levels[lvl] < min) return
    write(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg: message, ...fields }))
  }
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  }
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger('silent')
