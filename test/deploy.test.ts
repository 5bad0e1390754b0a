/**
 * `deploy/`: what can be checked without a container engine or a cluster. The manifests
 * parse and agree with each other and with the image; the Dockerfile has the stages, user,
 * port and healthcheck it claims; its entry command, run as a plain process from a built
 * tree, serves /health and /ready with the image's config and with the Kubernetes one; and its
 * runtime tree (production dependencies + dist only) runs on its own.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { cleanEnv, ensureBuilt, root } from './packaging/build.js'
import { startServer, type RunningProcess } from './packaging/project.js'

// ---- the Dockerfile, read as instructions ------------------------------------------------

interface Instruction {
  keyword: string
  args: string
  stage: number
}

/** Instructions with continuation lines joined and comments dropped; `stage` counts FROMs. */
function readDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let pending = ''
  let stage = -1
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && pending === '')) continue
    pending += `${pending ? ' ' : ''}${line.replace(/\\$/, '').trim()}`
    if (line.endsWith('\\')) continue
    const [, keyword, args] = /^(\w+)\s+([\s\S]*)$/.exec(pending) ?? []
    if (keyword) {
      if (keyword.toUpperCase() === 'FROM') stage++
      out.push({ keyword: keyword.toUpperCase(), args: args!.trim(), stage })
    }
    pending = ''
  }
  return out
}

const dockerfile = readDockerfile(readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8'))
const lastStage = Math.max(...dockerfile.map((instruction) => instruction.stage))
const finalStage = dockerfile.filter((instruction) => instruction.stage === lastStage)
const execForm = (keyword: string): string[] => {
  const found = finalStage.filter((instruction) => instruction.keyword === keyword).at(-1)
  expect(found, `${keyword} in the final stage`).toBeDefined()
  const parsed = JSON.parse(found!.args) as unknown
  expect(Array.isArray(parsed), `${keyword} uses the exec (JSON array) form`).toBe(true)
  return parsed as string[]
}
const entryCommand = [...execForm('ENTRYPOINT'), ...execForm('CMD')]

/** Where a `COPY <file> <absolute path>` of the final stage puts a repository file. */
const copiedFrom = (target: string) => {
  const copy = finalStage.find((instruction) => instruction.keyword === 'COPY' && !instruction.args.startsWith('--from') && instruction.args.endsWith(` ${target}`))
  return copy ? join(root, copy.args.split(/\s+/)[0]!) : undefined
}

// ---- the manifests ------------------------------------------------------------------------

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [field: string]: any }
const k8sDir = join(root, 'deploy', 'kubernetes')
const manifestFiles = readdirSync(k8sDir).filter((file) => /\.ya?ml$/.test(file))
const manifests: Array<Manifest & { file: string }> = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((document) => {
    expect(document.errors, file).toEqual([])
    return { ...(document.toJS() as Manifest), file }
  }),
)
const find = (kind: string, name: string) => {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata?.name === name)
  expect(found, `${kind}/${name}`).toBeDefined()
  return found!
}
const gatewayDeployment = find('Deployment', 'switchyard')
const gatewayPod = gatewayDeployment.spec.template.spec
const gatewayContainer = gatewayPod.containers[0]
const configMap = find('ConfigMap', 'switchyard-config')
const clusterConfig = JSON.parse(configMap.data['config.json']) as { providers: Record<string, { keys?: Array<{ value: string }> }>; storage?: string }
const argValue = (args: string[], flag: string) => args[args.indexOf(flag) + 1]

describe('deploy/kubernetes', () => {
  it('every file parses as YAML into objects with apiVersion, kind and a name', () => {
    expect(manifestFiles.length).toBeGreaterThanOrEqual(5)
    for (const manifest of manifests) {
      expect(manifest.apiVersion, manifest.file).toBeTypeOf('string')
      expect(manifest.kind, manifest.file).toBeTypeOf('string')
      if (manifest.kind !== 'Kustomization') expect(manifest.metadata.name, manifest.file).toBeTypeOf('string')
    }
  })

  it('kustomization.yaml lists every manifest but the example Secret', () => {
    const kustomization = manifests.find((manifest) => manifest.kind === 'Kustomization')!
    const listed = kustomization.resources as string[]
    expect(listed.sort()).toEqual(manifestFiles.filter((file) => file !== 'kustomization.yaml' && !file.includes('example')).sort())
  })

  it('a gateway Deployment with 3 replicas, a Service, a ConfigMap, a PodDisruptionBudget and Redis', () => {
    expect(gatewayDeployment.spec.replicas).toBe(3)
    const labels = gatewayDeployment.spec.template.metadata.labels
    expect(labels).toMatchObject(gatewayDeployment.spec.selector.matchLabels)
    const service = find('Service', 'switchyard')
    expect(labels).toMatchObject(service.spec.selector)
    expect(service.spec.ports[0].targetPort).toBe('http')
    expect(gatewayContainer.ports).toContainEqual({ name: 'http', containerPort: 8080, protocol: 'TCP' })
    expect(labels).toMatchObject(find('PodDisruptionBudget', 'switchyard').spec.selector.matchLabels)
    const redis = find('Deployment', 'switchyard-redis')
    const redisService = find('Service', 'switchyard-redis')
    expect(redis.spec.template.metadata.labels).toMatchObject(redisService.spec.selector)
    expect(redisService.spec.ports[0].port).toBe(6379)
    // The config points at the Redis Service by its cluster DNS name and port, through the Deployment's env.
    expect(clusterConfig.storage).toEqual({ type: 'redis', url: 'env.SWITCHYARD_REDIS_URL' })
    const redisUrl = (gatewayContainer.env as Array<{ name: string; value?: string }>).find((variable) => variable.name === 'SWITCHYARD_REDIS_URL')?.value
    expect(redisUrl).toBe(`redis://${redisService.metadata.name}:${redisService.spec.ports[0].port}`)
  })

  it('readiness on /ready, liveness on /health, both on the http port', () => {
    expect(gatewayContainer.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' })
    expect(gatewayContainer.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' })
  })

  it('resource requests and limits on every container', () => {
    for (const manifest of manifests.filter((entry) => entry.kind === 'Deployment')) {
      for (const container of manifest.spec.template.spec.containers) {
        expect(container.resources.requests, `${manifest.metadata.name}/${container.name}`).toMatchObject({ cpu: expect.anything(), memory: expect.anything() })
        expect(container.resources.limits, `${manifest.metadata.name}/${container.name}`).toMatchObject({ cpu: expect.anything(), memory: expect.anything() })
      }
    }
  })

  it('non-root, read-only root filesystem, no privilege escalation, all capabilities dropped', () => {
    for (const manifest of manifests.filter((entry) => entry.kind === 'Deployment')) {
      const pod = manifest.spec.template.spec
      expect(pod.securityContext.runAsNonRoot, manifest.metadata.name).toBe(true)
      expect(pod.securityContext.runAsUser, manifest.metadata.name).toBeGreaterThan(0)
      for (const container of pod.containers) {
        expect(container.securityContext, `${manifest.metadata.name}/${container.name}`).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
      }
    }
  })

  it('the gateway runs the image command: config from the ConfigMap, --data-dir on an emptyDir', () => {
    expect(gatewayContainer.command).toBeUndefined()
    expect(gatewayContainer.args).toEqual(execForm('CMD'))
    const mountOf = (path: string) => gatewayContainer.volumeMounts.find((mount: { mountPath: string }) => path === mount.mountPath || path.startsWith(`${mount.mountPath}/`))
    const volumeOf = (name: string) => gatewayPod.volumes.find((volume: { name: string }) => volume.name === name)
    const configPath = argValue(gatewayContainer.args, '--config')!
    const configMount = mountOf(configPath)
    expect(configMount.readOnly).toBe(true)
    expect(volumeOf(configMount.name).configMap.name).toBe(configMap.metadata.name)
    expect(Object.keys(configMap.data)).toContain(configPath.slice(configMount.mountPath.length + 1))
    expect(volumeOf(mountOf(argValue(gatewayContainer.args, '--data-dir')!).name).emptyDir).toBeDefined()
  })

  it('every env.VAR the config reads comes from a Secret', () => {
    const needed = Object.values(clusterConfig.providers).flatMap((provider) => (provider.keys ?? []).map((key) => key.value)).filter((value) => value.startsWith('env.')).map((value) => value.slice(4))
    expect(needed.length).toBeGreaterThan(0)
    for (const name of needed) {
      const variable = gatewayContainer.env.find((entry: { name: string }) => entry.name === name)
      expect(variable?.valueFrom?.secretKeyRef, name).toMatchObject({ name: expect.any(String), key: name })
    }
  })
})

describe('deploy/Dockerfile', () => {
  it('is multi-stage: npm ci and npm run build, then production dependencies only', () => {
    expect(lastStage).toBeGreaterThanOrEqual(1)
    const builds = dockerfile.filter((instruction) => instruction.stage < lastStage && instruction.keyword === 'RUN').map((instruction) => instruction.args).join('\n')
    expect(builds).toMatch(/npm ci\b/)
    expect(builds).toMatch(/npm run build\b/)
    expect(builds).toMatch(/npm ci [^\n]*--omit=dev/)
    expect(finalStage.some((instruction) => instruction.keyword === 'COPY' && instruction.args.startsWith('--from='))).toBe(true)
    expect(finalStage.some((instruction) => instruction.keyword === 'RUN' && /npm (ci|install)/.test(instruction.args))).toBe(false)
  })

  it('runs as a non-root user, exposes 8080, checks /health', () => {
    const user = finalStage.filter((instruction) => instruction.keyword === 'USER').at(-1)?.args
    expect(user).toBeDefined()
    expect(['root', '0', '0:0']).not.toContain(user)
    expect(finalStage.find((instruction) => instruction.keyword === 'EXPOSE')?.args).toBe('8080')
    expect(finalStage.find((instruction) => instruction.keyword === 'HEALTHCHECK')?.args).toMatch(/\/health/)
  })

  it('starts `switchyard --host 0.0.0.0 --config /etc/switchyard/config.json`', () => {
    expect(entryCommand[0]).toBe('switchyard')
    expect(argValue(entryCommand, '--host')).toBe('0.0.0.0')
    expect(argValue(entryCommand, '--config')).toBe('/etc/switchyard/config.json')
    expect(copiedFrom('/etc/switchyard/config.json'), 'the image ships a default config').toBeDefined()
  })
})

describe('the image entry command as a plain process from a built tree', () => {
  let work: string
  const running: RunningProcess[] = []

  beforeAll(async () => {
    await ensureBuilt()
    work = await mkdtemp(join(tmpdir(), 'switchyard-deploy-'))
  }, 600_000)

  afterAll(async () => {
    for (const server of running) await server.stop()
    if (work) await rm(work, { recursive: true, force: true })
  })

  /** The image's command with the paths of this machine: the bin of the built tree, a local port. */
  function localCommand(configPath: string, dataDir: string): string[] {
    const args = entryCommand.slice(1)
    args[args.indexOf('--host') + 1] = '127.0.0.1'
    args[args.indexOf('--config') + 1] = configPath
    if (args.includes('--data-dir')) args[args.indexOf('--data-dir') + 1] = dataDir
    return [join(root, 'runtimes', 'node', 'bin', 'switchyard.js'), ...args, '--port', '0']
  }

  /** Runs the HEALTHCHECK command of the image against `port`; resolves with its exit code. */
  function healthcheck(port: string): Promise<number | null> {
    const check = JSON.parse(finalStage.find((instruction) => instruction.keyword === 'HEALTHCHECK')!.args.replace(/^.*?CMD\s+/, '')) as string[]
    expect(check[0]).toBe('node')
    return new Promise((resolve) => spawn(process.execPath, check.slice(1), { env: cleanEnv({ PORT: port }), stdio: 'ignore' }).once('exit', resolve))
  }

  it("with the image's default config: /health, /ready, the healthcheck, a chat call", async () => {
    const server = await startServer(process.execPath, localCommand(copiedFrom('/etc/switchyard/config.json')!, join(work, 'image-data')), { cwd: root, env: cleanEnv() })
    running.push(server)
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' })
    expect((await fetch(`${server.url}/ready`)).status).toBe(200)
    expect(await healthcheck(new URL(server.url).port)).toBe(0)
    const reply = await fetch(`${server.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'from the image command' }] }),
    })
    expect(((await reply.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('from the image command')
    expect(await server.stop()).toBe(0)
  }, 60_000)

  it('with the ConfigMap config and the env the Deployment gives it', async () => {
    const configPath = join(work, 'cluster', 'config.json')
    await mkdir(dirname(configPath), { recursive: true })
    await writeFile(configPath, configMap.data['config.json'])
    const env: Record<string, string> = {}
    for (const variable of gatewayContainer.env as Array<{ name: string; value?: string; valueFrom?: unknown }>) env[variable.name] = variable.value ?? `secret-value-for-${variable.name}`
    // The cluster's Redis Service is this machine's Redis here; the URL keeps its shape.
    expect(env.SWITCHYARD_REDIS_URL).toBe('redis://switchyard-redis:6379')
    env.SWITCHYARD_REDIS_URL = env.SWITCHYARD_REDIS_URL!.replace('switchyard-redis', '127.0.0.1')
    const server = await startServer(process.execPath, localCommand(configPath, join(work, 'cluster-data')), { cwd: root, env: cleanEnv(env) })
    running.push(server)
    const started = JSON.parse(server.lines.find((line) => line.includes('listening'))!) as { providers: string[] }
    expect(started.providers).toEqual(expect.arrayContaining(Object.keys(clusterConfig.providers)))
    expect((await fetch(`${server.url}/ready`)).status).toBe(200)
    expect(await healthcheck(new URL(server.url).port)).toBe(0)
    // The secret never shows in the log.
    expect(server.lines.join('\n')).not.toContain('secret-value-for-')
    expect(await server.stop()).toBe(0)
  }, 60_000)

  it("the image's runtime tree (its own RUN step, production dependencies only) serves through `switchyard` on PATH", async () => {
    // The build-stage RUN that assembles /app, pointed at a temp dir. Two changes for this
    // machine: dependencies may come from the npm cache, and the cache is not wiped.
    const assemble = dockerfile.find((instruction) => instruction.stage < lastStage && instruction.keyword === 'RUN' && instruction.args.includes('mkdir -p /app'))
    expect(assemble, 'the RUN step that assembles /app').toBeDefined()
    const app = join(work, 'app')
    const script = assemble!.args
      .replace(/(^|[\s"'])\/app(?=[\s/"';]|$)/g, `$1${app}`)
      .replace(/npm ci --omit=dev/, 'npm ci --prefer-offline --omit=dev')
      .replace(/npm cache clean --force/, 'true')
    await new Promise<void>((resolve, reject) => {
      const child = spawn('sh', ['-c', script], { cwd: root, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (data) => (stderr += data))
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runtime tree step failed (${code}):\n${stderr}`))))
    })
    const installed = readdirSync(join(app, 'node_modules'))
    for (const devOnly of ['vitest', 'typescript', 'tsx', 'openai', 'yaml']) expect(installed, `${devOnly} is not in the runtime tree`).not.toContain(devOnly)
    for (const workspace of ['core', 'runtimes/node']) expect(readdirSync(join(app, workspace)).sort(), workspace).not.toContain('src')

    const path = finalStage.find((instruction) => instruction.keyword === 'ENV' && instruction.args.includes('PATH='))?.args
    expect(path).toContain('PATH=/app/node_modules/.bin:$PATH')
    const args = localCommand(copiedFrom('/etc/switchyard/config.json')!, join(work, 'tree-data')).slice(1)
    const server = await startServer(entryCommand[0]!, args, { cwd: app, env: cleanEnv({ PATH: `${join(app, 'node_modules', '.bin')}:${process.env.PATH}`, NODE_ENV: 'production' }) })
    running.push(server)
    expect((await fetch(`${server.url}/ready`)).status).toBe(200)
    expect(await server.stop()).toBe(0)
  }, 120_000)
})
