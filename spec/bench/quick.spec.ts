/**
 * CI runs the benchmark harness once, small: `npm run bench --
 * --quick` must exit 0, print each benchmark's result line, and leave
 * docs/benchmarks.md alone (no --docs). No figure is asserted: speed lives in
 * bench/, this only proves every benchmark still runs end to end.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

const root = join(import.meta.dirname, '..', '..')
const docs = join(root, 'docs', 'benchmarks.md')

/** Every step of bench/run.ts; each prints `[bench] result NAME: ...` when it succeeded. */
const BENCHMARKS = ['download', 'seed', 'check', 'routing', 'swarm', 'torrents', 'large']

test('npm run bench -- --quick runs every benchmark and leaves the docs alone', { timeout: 600_000 }, async (t) => {
  const docsBefore = readFileSync(docs, 'utf8')
  // Own process group, so the whole tree (npm, node, aria2c, seeders) can be ended on failure.
  const child = spawn('npm', ['run', 'bench', '--', '--quick'], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let exited = false
  t.after(() => {
    if (!exited && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const code = await new Promise<number | null>((resolve, reject) => {
    // A bound, not a speed check: on a machine loaded by other work the quick run has taken 275 s.
    const timer = setTimeout(() => reject(new Error(`bench --quick still running after 540 s\n${stdout.slice(-3000)}`)), 540_000)
    child.once('error', reject)
    child.once('exit', (c) => {
      exited = true
      clearTimeout(timer)
      resolve(c)
    })
  })
  assert.equal(code, 0, `exit ${code}\nstderr: ${stderr.slice(-3000)}\nstdout tail: ${stdout.slice(-3000)}`)
  for (const name of BENCHMARKS) assert.match(stdout, new RegExp(`^\\[bench\\] result ${name}: \\S`, 'm'), `no result line for ${name}`)
  assert.match(stdout, /^\[bench\] done in \d+ s$/m)
  assert.equal(readFileSync(docs, 'utf8'), docsBefore, 'docs/benchmarks.md rewritten without --docs')
})
