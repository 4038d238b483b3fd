/**
 * spec/support/netns.ts: a namespace made by openNetns reaches the test
 * process over its veth pair (a server started inside answers on the inner
 * address), is torn down by close() with whatever runs inside, replaces a
 * stale namespace of the same name, and refuses bad names and indexes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { openNetns } from './netns.ts'
import { spawnLogged } from './peers/process.ts'
import { makeTempDir } from './peers/tmp.ts'
import { pollUntil } from './peers/wait.ts'

const namespaces = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '')
const links = (): string => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })

const hello = (host: string, port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host, port })
    let got = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => (got += d))
    s.once('end', () => resolve(got))
    s.once('error', reject)
  })

test('a server inside the namespace answers on the inner address; close() kills it and removes the namespace and its veth', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('t15e-netns-')
  t.after(() => tmp.close())
  const ns = openNetns({ name: 't15e-spec', prefix: '192.0.2', index: 60 })
  t.after(() => ns.close())
  assert.equal(ns.hostAddress, '192.0.2.241')
  assert.equal(ns.innerAddress, '192.0.2.242')
  assert.ok(namespaces().includes('t15e-spec'))
  const script = `require('net').createServer((s) => s.end('inside')).listen(7001, '${ns.innerAddress}')`
  const [file, args] = ns.command(process.execPath, ['-e', script])
  const child = spawnLogged(file, args, { logPath: join(tmp.path, 'server.log') })
  t.after(() => child.close())
  const answer = await pollUntil(() => hello(ns.innerAddress, 7001).catch(() => undefined), { timeoutMs: 20_000, what: 'the server inside', explain: () => child.logTail() })
  assert.equal(answer, 'inside')
  // The inner address is not the test's own: nothing listens on it outside the namespace.
  assert.doesNotMatch(execFileSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }), /192\.0\.2\.242/)
  ns.close()
  // close() of the child only waits (the namespace's close already killed it): the child is unreferenced.
  await child.close(10_000)
  const exit = child.exitInfo()
  assert.equal(exit?.signal, 'SIGKILL', `the server was killed with its namespace: ${JSON.stringify(exit)}`)
  assert.ok(!namespaces().includes('t15e-spec'), 'namespace gone')
  assert.doesNotMatch(links(), /t15e-spec-h/, 'veth gone')
  ns.close() // idempotent
})

test('a stale namespace of the same name is replaced', { timeout: 30_000 }, (t) => {
  execFileSync('ip', ['netns', 'add', 't15e-stale'])
  t.after(() => {
    try {
      execFileSync('ip', ['netns', 'del', 't15e-stale'], { stdio: 'ignore' })
    } catch {
      // closed by the test
    }
  })
  const ns = openNetns({ name: 't15e-stale', prefix: '192.0.2', index: 61 })
  assert.match(execFileSync('ip', ['-n', 't15e-stale', '-o', 'addr', 'show'], { encoding: 'utf8' }), /192\.0\.2\.246\/30/)
  ns.close()
  assert.ok(!namespaces().includes('t15e-stale'))
})

test('bad names and pair indexes are refused before anything is made', () => {
  assert.throws(() => openNetns({ name: 'Bad Name', prefix: '192.0.2', index: 1 }), /namespace name/)
  assert.throws(() => openNetns({ name: 'much-too-long-name', prefix: '192.0.2', index: 1 }), /namespace name/)
  assert.throws(() => openNetns({ name: 't15e-x', prefix: '192.0.2', index: 64 }), /pair index/)
  assert.throws(() => openNetns({ name: 't15e-x', prefix: '192.0.2', index: 1.5 }), /pair index/)
  assert.ok(!namespaces().includes('t15e-x'))
})
