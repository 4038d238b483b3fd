/**
 * The package from a user's side, as the README tells it: `npm pack` of this
 * checkout, then the README's "Use it in your project" shell commands run
 * literally in a fresh folder (only the tarball's path filled in), its
 * `main.js` run against a real aria2c seeder whose tracker is dead (the peer
 * given on the command line), and every example of examples/ copied into that
 * project and run from there against real seeders, as user code importing
 * `torrent-patron`. npm prefers its cache, so this works offline once the
 * @most packages were fetched.
 */
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { access, copyFile, mkdir, open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { compareTrees, makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { makeTempDir, type TempDir } from '../support/peers/tmp.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { root } from '../support/build.ts'
import { packTarball, treeBytes } from '../support/packed.ts'
import { startCli, startNode } from '../cli/support.ts'

const run = promisify(execFile)
const tsx = import.meta.resolve('tsx')

let tmp: TempDir
let app: string

/** The fenced block of `lang` that follows `heading` in the README (the n-th one there). */
const readmeBlock = (readme: string, heading: string, lang: string, n = 0): string => {
  const at = readme.indexOf(`\n${heading}\n`)
  assert.ok(at >= 0, `README has "${heading}"`)
  const next = readme.indexOf('\n## ', at + heading.length + 2)
  const section = readme.slice(at, next < 0 ? undefined : next)
  const blocks = [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!)
  assert.ok(blocks[n] !== undefined, `"${heading}" has ${n + 1} ${lang} block(s)`)
  return blocks[n]!
}

before(async () => {
  tmp = await makeTempDir('user-project-')
  const tarball = await packTarball(tmp.path)
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const sh = readmeBlock(readme, '## Use it in your project', 'sh')
  assert.match(sh, /\/path\/to\/torrent-patron-0\.1\.0\.tgz/)
  const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version
  assert.ok(tarball.endsWith(`torrent-patron-${version}.tgz`), tarball)
  // Literally the README's commands; npm prefers its cache (the environment, not the commands, says so).
  await run('bash', ['-euo', 'pipefail', '-c', sh.replace('/path/to/torrent-patron-0.1.0.tgz', tarball)], {
    cwd: tmp.path,
    env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_loglevel: 'error' },
    maxBuffer: 16 << 20
  })
  app = join(tmp.path, 'my-app')
  await writeFile(join(app, 'main.js'), readmeBlock(readme, '## Use it in your project', 'js'))
}, { timeout: 240_000 })

test('the README project: ESM, installed from the tarball, no most; main.js downloads from a peer given by hand while the tracker is dead', { timeout: 120_000 }, async (t) => {
  const pkg = JSON.parse(await readFile(join(app, 'package.json'), 'utf8')) as { type: string; dependencies: Record<string, string> }
  assert.equal(pkg.type, 'module')
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['@most/core', '@most/scheduler', 'torrent-patron'])
  await assert.rejects(access(join(app, 'node_modules', 'most')), 'most 1.x is not installed (an optional peer)')
  await assert.rejects(access(join(app, 'node_modules', 'tsx')), 'tsx is not installed with the library')
  await assert.rejects(access(join(app, 'node_modules', 'bittorrent-tracker')), 'the engine speaks to trackers with its own client')
  // The install's weight (docs/benchmarks.md records it): under 15 MB of node_modules.
  const installed = await treeBytes(join(app, 'node_modules'))
  t.diagnostic(`node_modules: ${(installed / 1e6).toFixed(2)} MB`)
  assert.ok(installed < 15e6, `node_modules is ${(installed / 1e6).toFixed(2)} MB`)

  const data = await makeRandomTree(join(tmp.path, 'seed-main', 'photos'), { totalBytes: (2 << 20) + 777, fileCount: 3 })
  // A tracker nobody answers on: the peer on the command line is the only way in.
  const torrent = await mktorrent(data.root, join(app, 'photos.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const seeder = await startAria2Seeder({ torrentPath: torrent.path, dir: join(tmp.path, 'seed-main') })
  t.after(() => seeder.close())
  const r = await run(process.execPath, ['main.js', 'photos.torrent', seeder.peer], { cwd: app, timeout: 90_000, env: { ...process.env, TORRENT_PATRON_DHT: 'off' } })
  assert.match(r.stdout, /^seeding 1$/m, 'it printed the final status')
  assert.equal(await compareTrees(data.root, join(app, 'downloads', 'photos')), undefined)

  const help = await run(process.execPath, [join(app, 'node_modules', '.bin', 'torrent-patron'), '--help'], { cwd: app })
  assert.match(help.stdout, /^Usage: torrent-patron <command>/)
  // The legacy bridge is there, and needs its optional peer.
  const legacy = await run(process.execPath, ['--input-type=module', '-e', "await import('torrent-patron/most-legacy')"], { cwd: app }).then(
    () => 'loaded',
    (e: { stderr?: string }) => e.stderr ?? ''
  )
  assert.match(legacy, /Cannot find package 'most'/)
})

/** An example copied into the project, started there with tsx (what `npx tsx example.ts` runs). */
const startExample = (name: string, args: readonly string[], t: { after(f: () => unknown): void }) => {
  const child = startNode(['--import', tsx, join(app, name), ...args], { cwd: app, env: { TORRENT_PATRON_DHT: 'off' } })
  t.after(() => child.kill())
  return child
}

/** Two torrents seeded by aria2c and found through a local tracker. */
const twoTorrents = async (t: { after(f: () => unknown): void }) => {
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const made = []
  for (const name of ['alpha', 'bravo']) {
    const tree = await makeRandomTree(join(tmp.path, `seed-${name}`, name), { totalBytes: 1 << 20, fileCount: 2 })
    const torrent = await mktorrent(tree.root, join(app, `${name}.torrent`), { announce: [tracker.httpAnnounce], pieceLengthLog2: 15 })
    const seeder = await startAria2Seeder({ torrentPath: torrent.path, dir: join(tmp.path, `seed-${name}`) })
    t.after(() => seeder.close())
    made.push({ tree, torrent })
  }
  return { tracker, made }
}

test('examples run from a copy in the project: download-queue and shared-service', { timeout: 180_000 }, async (t) => {
  for (const f of ['download-queue.ts', 'shared-service.ts']) await copyFile(join(root, 'examples', f), join(app, f))
  const { made } = await twoTorrents(t)
  const [alpha, bravo] = made

  const queue = startExample('download-queue.ts', [alpha!.torrent.path, bravo!.torrent.path], t)
  await queue.waitForLine((l) => l === 'queue empty', 90_000)
  const end = await queue.exited
  assert.equal(end.code, 0, end.stderr)
  assert.match(end.stdout, /^alpha\.torrent: complete$/m)
  assert.match(end.stdout, /^bravo\.torrent: complete$/m)
  assert.equal(await compareTrees(alpha!.tree.root, join(app, 'downloads', 'alpha')), undefined)

  // Patron 3 seeds bravo for 2 s after it completes, then says it stopped; the others seed until Ctrl-C.
  const shared = startExample('shared-service.ts', [alpha!.torrent.path, bravo!.torrent.path, '2'], t)
  await shared.waitForLine((l) => l === 'patron 1: 100%, seeding until Ctrl-C', 60_000)
  await shared.waitForLine((l) => l === 'patron 2: 100%, seeding until Ctrl-C', 60_000)
  await shared.waitForLine((l) => l === 'patron 3: 100%, seeding until its share ratio is 1 or for 2 s', 60_000)
  await shared.waitForLine((l) => l === 'patron 3: stopped seeding', 30_000)
  assert.equal(shared.child.exitCode, null, 'still seeding for patrons 1 and 2')
  shared.child.kill('SIGINT')
  const stopped = await shared.exited
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.match(stopped.stdout, /stopped: every torrent is closed\n$/)
})

test('seed-watcher seeds a file once it stops changing, reports a failure as a line and goes on', { timeout: 180_000 }, async (t) => {
  await copyFile(join(root, 'examples', 'seed-watcher.ts'), join(app, 'seed-watcher.ts'))
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const incoming = join(app, 'incoming')
  await mkdir(incoming, { recursive: true })
  const watcher = startExample('seed-watcher.ts', [incoming, tracker.httpAnnounce], t)
  await watcher.waitForLine((l) => l.startsWith('watching '), 60_000)

  /** Write a file the ordinary way: opened once, filled in pieces with pauses (as `cat > file` does from a slow source). */
  const writeSlowly = async (path: string, pieces: number) => {
    const f = await open(path, 'w')
    try {
      for (let i = 0; i < pieces; i++) {
        await f.write(Buffer.alloc(64 * 1024, i + 1))
        await new Promise((r) => setTimeout(r, 300))
      }
    } finally {
      await f.close()
    }
  }
  // Its .torrent cannot be written (a folder is in the way): a line, and the watcher stays up.
  await mkdir(join(incoming, 'blocked.bin.torrent'))
  await writeSlowly(join(incoming, 'blocked.bin'), 3)
  await watcher.waitForLine((l) => l.startsWith('cannot seed blocked.bin: '), 60_000)
  assert.equal(watcher.child.exitCode, null, 'the watcher is still running')

  await writeSlowly(join(incoming, 'photo.bin'), 8)
  await watcher.waitForLine((l) => l === 'seeding photo.bin', 60_000)
  assert.doesNotMatch(watcher.stdout(), /changed size while hashing/)

  // What it seeds is the whole file: a real download through the tracker gets it all.
  const out = join(tmp.path, 'watched-out')
  const get = startCli(['get', join(incoming, 'photo.bin.torrent'), '--out', out, '--no-dht'], {})
  t.after(() => get.kill())
  const got = await get.exited
  assert.equal(got.code, 0, got.stderr + got.stdout)
  assert.deepEqual(await readFile(join(out, 'photo.bin')), await readFile(join(incoming, 'photo.bin')))
  assert.equal((await readFile(join(out, 'photo.bin'))).length, 8 * 64 * 1024)

  watcher.child.kill('SIGINT')
  const end = await watcher.exited
  assert.notEqual(end.signal, 'SIGKILL')
})
