/**
 * Entry for `deno serve`, Deno's own server runner, which adds multi-core with `--parallel`
 * (one isolate per core, sharing the port):
 *
 *   deno serve --parallel --port 8080 --allow-net --allow-env --allow-read --allow-write \
 *     npm:@switchyard/deno/serve -- --config config.json --data-dir .switchyard
 *
 * `deno serve` owns the listening side (`--port`, `--host`, `--parallel`, its start line and
 * shutdown); `--config` and `--data-dir` after `--` mean what they mean for `switchyard-deno`.
 */
import { createLogger } from '@switchyard/core'
import { buildGateway, logLevelFrom, parseServeArgs, readConfig } from '@switchyard/core/serve'
import { resolve } from 'node:path'
import { requireDeno } from './deno-api.js'
import { createDenoStorage } from './index.js'
import { denoFetchFor } from './proxy.js'

const Deno = requireDeno()
const env = Deno.env.toObject()
const args = parseServeArgs(Deno.args, env)
const logger = createLogger(logLevelFrom(env))
const { config } = await readConfig({ path: args.configPath && resolve(args.configPath), env, readText: (path) => Deno.readTextFile(path) })
const gateway = await buildGateway({ config, storage: createDenoStorage(args.dataDir), logger, importModule: (specifier) => import(specifier), fetchFor: denoFetchFor })

/** The fetch handler `deno serve` calls. */
export default { fetch: (request: Request) => gateway.fetch(request) }
