/**
 * The third-party examples (`examples/provider-echo-ts`, `examples/plugin-header-stamp`) load
 * into the gateway by package name from a config file and serve requests.
 *
 * They are consumed the way an outside user would consume them: each is built against the
 * published `@switchyard/core` types, packed, and installed from its tarball next to the
 * packed `@switchyard/node` in an empty project; `switchyard --config` there names them. They
 * are deliberately not npm workspaces, so nothing private to this repository (source
 * conditions, hoisted dependencies they did not declare) can make them work by accident.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createGateway, silentLogger } from '@switchyard/core'
import { runPluginContract, type ContractDialect } from '@switchyard/core/testing'
import openai from '@switchyard/provider-openai'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import createHeaderStamp from '../examples/plugin-header-stamp/src/index.js'
import { cleanEnv, ensurePacked } from './packaging/build.js'
import { installProject, startServer, type RunningProcess } from './packaging/project.js'

let project: Awaited<ReturnType<typeof installProject>> | undefined
let server: RunningProcess | undefined
let client: OpenAI

beforeAll(async () => {
  project = await installProject('examples', await ensurePacked())
  await writeFile(
    join(project.dir, 'config.json'),
    JSON.stringify({
      providers: { echo: { package: '@acme/switchyard-provider-echo', options: { prefix: 'echo: ' } } },
      plugins: [{ name: '@acme/switchyard-plugin-header-stamp', config: { header: 'x-served-by', value: 'example-test' } }],
    }),
  )
  server = await startServer(join(project.dir, 'node_modules', '.bin', 'switchyard'), ['--config', 'config.json', '--port', '0', '--data-dir', 'data'], {
    cwd: project.dir,
    env: cleanEnv({ OPENAI_API_KEY: '' }),
  })
  client = new OpenAI({ baseURL: `${server.url}/openai`, apiKey: 'unused', maxRetries: 0 })
}, 600_000)

afterAll(async () => {
  await server?.stop()
  await project?.remove()
})

describe('examples loaded by name from config.json (installed from their tarballs)', () => {
  it('the gateway starts with the echo provider', () => {
    const started = JSON.parse(server!.lines.find((line) => line.includes('listening'))!) as { providers: string[] }
    expect(started.providers).toEqual(expect.arrayContaining(['echo', 'mock']))
  })

  it('model "echo/hello" answers through the OpenAI SDK, with the header stamped', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'echo/hello', messages: [{ role: 'user', content: 'Hello, third party!' }] })
      .withResponse()
    expect(data.choices[0]!.message.content).toBe('echo: Hello, third party!')
    expect(data.choices[0]!.finish_reason).toBe('stop')
    expect(response.headers.get('x-served-by')).toBe('example-test')
    expect(Number(response.headers.get('x-served-by-count'))).toBeGreaterThanOrEqual(1)
  })

  it('"echo/reverse" streams the reversed text', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'echo/reverse', messages: [{ role: 'user', content: 'drawer live' }], stream: true })
      .withResponse()
    expect(response.headers.get('x-served-by')).toBe('example-test')
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('echo: evil reward')
  })

  it('numbers requests, built-in providers keep working beside the plugin', async () => {
    const first = await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'one' }] }).withResponse()
    const second = await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'two' }] }).withResponse()
    expect(first.data.choices[0]!.message.content).toBe('one')
    expect(Number(second.response.headers.get('x-served-by-count'))).toBe(Number(first.response.headers.get('x-served-by-count')) + 1)
  })

  it("the provider's errors reach the SDK in OpenAI's dialect, stamped too", async () => {
    const error = await client.chat.completions.create({ model: 'echo/hello', messages: [{ role: 'system', content: 'no user turn' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('nothing to echo')
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).headers?.get('x-served-by')).toBe('example-test')
  })

  it('lists the echo models', async () => {
    const ids: string[] = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toEqual(expect.arrayContaining(['echo/hello', 'echo/reverse']))
  })

  it('on SIGTERM the plugin logs its totals and the process exits 0', async () => {
    expect(await server!.stop()).toBe(0)
    const totals = server!.lines.map((line) => JSON.parse(line) as { msg: string }).find((entry) => entry.msg === 'header-stamp: totals')
    // Five model calls went through the hooks (listing models does not); one failed.
    expect(totals).toMatchObject({ stamped: 5, finished: 5, failed: 1, aborted: 0 })
    server = undefined
  })
})

/** OpenAI chat completions, for running the plugin contract through the `/openai` surface. */
const openaiChat: ContractDialect = {
  path: '/openai/v1/chat/completions',
  body: (model, text, stream) => ({ model, messages: [{ role: 'user', content: text }], stream }),
  isError: (body) => typeof (body as { error?: { message?: unknown } })?.error?.message === 'string',
  textOf: (body) => (body as { choices?: Array<{ message?: { content?: string } }> })?.choices?.[0]?.message?.content,
}

// The header-stamp plugin under the contract again, this time behind the OpenAI surface.
runPluginContract({
  plugin: createHeaderStamp,
  options: { header: 'x-served-by' },
  dialect: openaiChat,
  createGateway: (input) => createGateway({ ...input, providers: [openai, ...input.providers], logger: silentLogger }),
})
