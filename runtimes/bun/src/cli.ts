import { runServer } from '@switchyard/core/serve'
import { bunHost } from './index.js'

await runServer(bunHost())
