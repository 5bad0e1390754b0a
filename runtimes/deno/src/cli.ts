import { runServer } from '@switchyard/core/serve'
import { denoHost } from './index.js'

await runServer(denoHost())
