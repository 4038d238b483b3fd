/**
 * The CLI starts light: the bin runs the compiled dist/ (no tsx), and a
 * command loads only what it needs. `--help` loads no more than the
 * dispatcher, `--version` adds only the uTP probe (wire/utp.js, which says
 * whether utp-native loads, and why not); `info` and `make` read torrents without the engine,
 * the peer wire or the trackers. Seen through a module-resolution hook that
 * records every URL the process loads. (Start times are measured by
 * bench/cli-start.ts, never asserted here.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { runCli } from './support.ts'
import { makeTempDir } from '../support/peers/tmp.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** Run the CLI with a resolve hook that appends every resolved URL to a file; the URLs it loaded. */
const loadedBy = async (dir: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; urls: string[] }> => {
  const log = join(dir, `loaded-${Math.random().toString(16).slice(2)}.txt`)
  const hooks = join(dir, 'hooks.mjs')
  await writeFile(
    hooks,
    `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n')
  return r
}
`
  )
  const register = join(dir, 'register.mjs')
  await writeFile(register, `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
  const r = await runCli(args, { env: { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` } })
  const urls = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l.length > 0)
  return { code: r.code, stdout: r.stdout, urls }
}

const heavy = /\/dist\/lib\/(engine\/(?!metainfo\/|disk\/make-folder\.js|wire\/utp\.js)|service\/|patron\.js|index\.js)|node_modules\/(bittorrent-protocol|bittorrent-tracker|bittorrent-dht|cli-progress|tsx|esbuild|utp-native)\//

test('--help loads the dispatcher only, --version the uTP probe besides; info and make load no engine', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('cli-start-')
  t.after(() => tmp.close())

  for (const args of [['--help'], ['--version'], ['help', 'get']]) {
    const r = await loadedBy(tmp.path, args)
    assert.equal(r.code, 0)
    const ours = r.urls.filter((u) => u.startsWith(pathToFileURL(root).href))
    assert.ok(ours.some((u) => u.endsWith('/dist/cli/main.js')), `the bin runs the compiled CLI: ${ours.join(' ')}`)
    assert.ok(!ours.some((u) => u.endsWith('.ts')), `no TypeScript source is loaded: ${ours.join(' ')}`)
    const loaded = r.urls.filter((u) => heavy.test(u))
    assert.deepEqual(loaded, [], `${args.join(' ')} loads nothing of the engine`)
    if (args[0] === '--help') assert.ok(!ours.some((u) => /\/dist\/cli\/(get|seed|make|info|demo)\.js$/.test(u)), `--help loads no command: ${ours.join(' ')}`)
  }

  const file = join(tmp.path, 'data.bin')
  await writeFile(file, Buffer.alloc(100_000, 1))
  const torrent = join(tmp.path, 'data.torrent')
  const made = await loadedBy(tmp.path, ['make', file, '--announce', 'http://127.0.0.1:9/announce', '-o', torrent])
  assert.equal(made.code, 0, made.stdout)
  assert.deepEqual(made.urls.filter((u) => heavy.test(u)), [], 'make loads nothing of the engine')
  const info = await loadedBy(tmp.path, ['info', torrent])
  assert.equal(info.code, 0)
  assert.match(info.stdout, /^name: {5}data\.bin$/m)
  assert.deepEqual(info.urls.filter((u) => heavy.test(u)), [], 'info loads nothing of the engine')
})

test('--version says whether uTP is available, and why not with TORRENT_PATRON_UTP=off', async () => {
  const on = await runCli(['--version'], { env: { TORRENT_PATRON_UTP: '' } })
  assert.equal(on.code, 0)
  assert.equal(on.stdout.split('\n')[1], `uTP: utp-native installed (${process.platform}-${process.arch} build)`)
  const off = await runCli(['--version'], { env: { TORRENT_PATRON_UTP: 'off' } })
  assert.equal(off.code, 0)
  assert.equal(off.stdout.split('\n')[1], 'uTP: unavailable (turned off by TORRENT_PATRON_UTP=off); peers are reached over TCP only')
})

test('--version is the package version; tsx is a development dependency only; most is optional', async () => {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    version: string
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
    peerDependencies?: Record<string, string>
    peerDependenciesMeta?: Record<string, { optional?: boolean }>
  }
  const r = await runCli(['--version'])
  assert.equal(r.stdout.split('\n')[0], `torrent-patron ${pkg.version}`)
  assert.equal(pkg.dependencies['tsx'], undefined)
  assert.ok(pkg.devDependencies['tsx'] !== undefined)
  assert.equal(pkg.dependencies['most'], undefined)
  assert.ok(pkg.peerDependencies?.['most'] !== undefined)
  assert.equal(pkg.peerDependenciesMeta?.['most']?.optional, true)
})
