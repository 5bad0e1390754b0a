import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cleanEnv, run, type PackedPackage } from './build.js'

/**
 * Creates an empty project in a temp directory and installs the given tarballs into it,
 * as a user would from the registry. Third-party dependencies come from the npm cache.
 */
export async function installProject(label: string, tarballs: PackedPackage[]): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `switchyard-${label}-`))
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: `switchyard-${label}-check`, private: true, type: 'module' }, null, 2)}\n`)
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs.map((entry) => entry.tarball)], { cwd: dir })
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

export interface RunningProcess {
  child: ChildProcess
  url: string
  lines: string[]
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>
}

/**
 * Starts a `switchyard` command and resolves once it logs `listening on <url>`
 * (rejects if it exits first, or after `timeoutMs`).
 */
export function startServer(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<RunningProcess> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = async (graceMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  return new Promise((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => {
      void stop(0)
      reject(new Error(`no "listening on" line within ${options.timeoutMs ?? 30_000} ms:\n${lines.join('\n')}${buffer}`))
    }, options.timeoutMs ?? 30_000)
    const onData = (data: Buffer) => {
      buffer += data.toString()
      let newline: number
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        lines.push(line)
        const match = /listening on (http:\/\/[^"\s]+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolve({ child, url: match[1]!, lines, stop })
        }
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening:\n${lines.join('\n')}${buffer}`))
    })
  })
}
