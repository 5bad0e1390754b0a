import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { fixtureText } from './support/fixtures.js'
import { CALLER_KEY } from './support/gateway.js'
import { eventually, pollNative, useAsyncGateway } from './support/async.js'

/**
 * Who may read a job, and that a job's run meets the same hooks as a synchronous call. A test
 * plugin stands in for governance: it identifies the virtual key from `x-bf-vk` (as
 * `ctx.state['switchyard:virtual_key']`) and records every request it sees with its usage.
 */

const gw = useAsyncGateway()
const recordedChat = JSON.parse(fixtureText('openai/chat-text.json'))
const story: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Tell me a short story.' }]
const params = { model: 'openai/gpt-4o-mini', messages: story }

const clientWith = (apiKey: string) => new OpenAI({ baseURL: `${gw.url}/openai`, apiKey, maxRetries: 0 })

/** Submits as `vk` (none when undefined) and waits until the job is final; returns its id. */
async function submitAndFinish(vk: string | undefined, client = gw.openai): Promise<string> {
  const headers: Record<string, string> = { 'x-bf-async': 'true', ...(vk ? { 'x-bf-vk': vk } : {}) }
  const initial = await client.chat.completions.create(params, { headers })
  const auth = { authorization: `Bearer ${(client as OpenAI).apiKey}`, ...(vk ? { 'x-bf-vk': vk } : {}) }
  const view = await pollNative(gw.url, initial.id, auth)
  expect(view.status).toBe('completed')
  return initial.id
}

/** The poll's outcome: the HTTP status, and the completion when it succeeded. */
async function pollAs(id: string, vk: string | undefined, client = gw.openai): Promise<{ status: number; completion?: OpenAI.Chat.ChatCompletion }> {
  try {
    const completion = await client.chat.completions.create(params, { headers: { 'x-bf-async-id': id, ...(vk ? { 'x-bf-vk': vk } : {}) } })
    return { status: 200, completion }
  } catch (error) {
    expect(error).toBeInstanceOf(OpenAI.APIError)
    return { status: (error as InstanceType<typeof OpenAI.APIError>).status! }
  }
}

describe('job ownership', () => {
  it('a job submitted with a virtual key is readable with that key only (whatever the other credentials), a 404 for any other key or none', async () => {
    const id = await submitAndFinish('team-a')
    expect(await pollAs(id, 'team-a')).toEqual({ status: 200, completion: recordedChat })
    // The virtual key decides, not the rest of the credentials.
    expect((await pollAs(id, 'team-a', clientWith('another-caller-key'))).status).toBe(200)
    expect((await pollAs(id, 'team-b')).status).toBe(404)
    expect((await pollAs(id, undefined)).status).toBe(404)
  })

  it('a job submitted without a virtual key is a 404 to a caller with one, and to another credential', async () => {
    const id = await submitAndFinish(undefined)
    expect(await pollAs(id, undefined)).toEqual({ status: 200, completion: recordedChat })
    expect((await pollAs(id, 'team-a')).status).toBe(404)
    expect((await pollAs(id, undefined, clientWith('another-caller-key'))).status).toBe(404)
  })

  it('the native view needs the credentials the job was submitted with, and shows neither them nor the request', async () => {
    const id = await submitAndFinish('team-a')
    const own = await fetch(`${gw.url}/v1/async/${id}`, { headers: { authorization: `Bearer ${CALLER_KEY}`, 'x-bf-vk': 'team-a' } })
    expect(own.status).toBe(200)
    const text = await own.text()
    expect(JSON.parse(text)).toMatchObject({ id, status: 'completed', result: { status_code: 200, body: recordedChat } })
    expect(text).not.toContain(CALLER_KEY)
    expect(text).not.toContain('team-a')
    expect(text).not.toContain('Tell me a short story')
    const others: Array<Record<string, string>> = [{ authorization: `Bearer ${CALLER_KEY}`, 'x-bf-vk': 'team-b' }, { authorization: 'Bearer someone-else', 'x-bf-vk': 'team-a' }, {}]
    for (const headers of others) {
      const other = await fetch(`${gw.url}/v1/async/${id}`, { headers })
      expect(other.status).toBe(404)
      const deleted = await fetch(`${gw.url}/v1/async/${id}`, { method: 'DELETE', headers })
      expect(deleted.status).toBe(404)
    }
  })

  it('a submit the virtual key layer refuses is refused at once, and nothing is stored or sent', async () => {
    const error = await clientWith(CALLER_KEY)
      .chat.completions.create(params, { headers: { 'x-bf-async': 'true', 'x-bf-vk': 'blocked' } })
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(403)
    expect(gw.openaiMock.requests).toHaveLength(0)
  })
})

describe("a job's run goes through every hook, as the submitting key", () => {
  it('the run is seen by onRequest with the same virtual key, and its usage reaches afterUpstream for that key (governance and cost apply)', async () => {
    const id = await submitAndFinish('team-cost')
    expect((await pollAs(id, 'team-cost')).status).toBe(200)
    let records: Awaited<ReturnType<typeof gw.records>> = []
    await eventually(async () => {
      records = (await gw.records()).filter((record) => record.vk === 'team-cost')
      return records.some((record) => record.kind === 'run' && record.status !== undefined)
    }, 'the run was recorded')
    const runs = records.filter((record) => record.kind === 'run')
    expect(runs).toEqual([{ vk: 'team-cost', kind: 'run', model: 'openai/gpt-4o-mini', status: 200, inputTokens: recordedChat.usage.prompt_tokens, outputTokens: recordedChat.usage.completion_tokens }])
    // Submits and polls are authenticated too, and carry no usage: nothing was generated for them.
    const submits = records.filter((record) => record.kind === 'submit')
    expect(submits).toHaveLength(1)
    expect(submits[0]!.inputTokens).toBeUndefined()
    expect(records.filter((record) => record.kind === 'poll').every((record) => record.inputTokens === undefined && record.outputTokens === undefined)).toBe(true)
    expect(gw.openaiMock.requests).toHaveLength(1)
  })
})
