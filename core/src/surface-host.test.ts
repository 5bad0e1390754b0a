import { describe, expect, it } from 'vitest'
import { GatewayError } from './errors.js'
import { createGateway } from './gateway.js'
import { silentLogger } from './log.js'
import { parseConfig } from './config.js'
import type { ProviderDefinition, SurfaceDefinition } from './provider.js'
import type { SurfaceHost } from './surface-host.js'

/** A surface whose one route reports what `host.resolve` says. */
function probeSurface(onHost: (host: SurfaceHost) => void): SurfaceDefinition {
  return {
    basePath: '/probe',
    dialect: 'probe',
    defaultProvider: 'alpha',
    renderError: (error) => Response.json({ message: error.message, param: error.param }, { status: error.status }),
    routes(app, host) {
      onHost(host)
      app.get('/resolve/:model{.+}', (c) => c.json(host.resolve(c.req.param('model'))))
    },
  }
}

const provider = (id: string, dialect?: string): ProviderDefinition => ({ id, spec: 1, dialect, requiresKey: false, upstream: { error: (status) => new GatewayError({ status, code: 'upstream', message: 'x' }) } })

describe('SurfaceHost.resolve', () => {
  const gateway = createGateway({
    config: parseConfig({}),
    providers: [{ ...provider('alpha', 'probe'), surface: probeSurface(() => {}) }, provider('beta', 'other'), provider('gamma')],
    logger: silentLogger,
  })
  const resolve = async (model: string) => {
    const response = await gateway.fetch(new Request(`http://gw/probe/resolve/${model}`))
    return { status: response.status, body: await response.json() }
  }

  it('routes a bare model to the surface default provider', async () => {
    expect(await resolve('small-1')).toEqual({ status: 200, body: { provider: 'alpha', model: 'small-1', dialect: 'probe' } })
  })

  it('splits provider/model and reports the provider dialect', async () => {
    expect(await resolve('beta/big/2')).toEqual({ status: 200, body: { provider: 'beta', model: 'big/2', dialect: 'other' } })
  })

  it('reports an undeclared dialect as undefined', async () => {
    expect((await resolve('gamma/m')).body).toEqual({ provider: 'gamma', model: 'm' })
  })

  it('throws the router 400 for an unknown prefix, as a model call would', async () => {
    const { status, body } = await resolve('nosuch/m')
    expect(status).toBe(400)
    expect(body).toMatchObject({ param: 'model', message: expect.stringContaining('unknown provider "nosuch"') })
  })
})
