/**
 * `@switchyard/core/serve`: the runtime-neutral half of every runtime's CLI. A runtime
 * package implements `ServeHost` (read a file, listen, signals, processes) and calls
 * `runServer`; flags, config loading, the start log, shutdown and worker supervision are here.
 */
export * from './args.js'
export * from './run.js'
export * from './supervise.js'
