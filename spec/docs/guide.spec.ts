/**
 * docs/guide.md's snippets are real code. Every fenced `ts` block is written
 * out as a module of this package (so `import ... from 'torrent-patron'`
 * resolves to this checkout, as a user's import resolves to the installed
 * package) and type-checked, strict, with tsc. Then each block is run with
 * tsx, in a folder holding `a.torrent`, `b.torrent` and `c.torrent` that
 * aria2c seeds through a local tracker: it must end by itself, exit 0 and
 * leave the data it downloaded intact. A block that says it "runs until
 * disposed" (seeding for an hour) is type-checked only.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { root } from '../support/build.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { compareTrees, makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { startTracker } from '../support/peers/tracker-server.ts'

const run = promisify(execFile)

const snippets = async (): Promise<string[]> => {
  const guide = await readFile(join(root, 'docs', 'guide.md'), 'utf8')
  return [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

test('every ts snippet of docs/guide.md type-checks against the package, and runs against real seeders', { timeout: 300_000 }, async (t) => {
  const blocks = await snippets()
  assert.ok(blocks.length >= 8, `the guide has its snippets (${blocks.length})`)
  // Inside the checkout (.build-* is ignored), so that 'torrent-patron' is this package.
  const dir = await mkdtemp(join(root, '.build-guide-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const files: string[] = []
  for (const [i, block] of blocks.entries()) {
    const file = join(dir, `snippet-${i + 1}.ts`)
    // A snippet without imports or exports would be a script; `export {}` keeps each one a module of its own.
    await writeFile(file, `${block}\nexport {}\n`)
    files.push(file)
  }
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { noEmit: true, noUnusedLocals: false }, include: ['*.ts', '../types'] }))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const checked = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: root, maxBuffer: 16 << 20 }).then(
    () => '',
    (e: { stdout?: string }) => e.stdout ?? String(e)
  )
  assert.equal(checked, '', 'every snippet type-checks')

  // The files the snippets name, seeded by aria2c and found through a local tracker.
  const tmp = await makeTempDir('guide-')
  t.after(() => tmp.close())
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  await mkdir(join(tmp.path, 'work'))
  const trees = new Map<string, string>()
  for (const name of ['a', 'b', 'c']) {
    const tree = await makeRandomTree(join(tmp.path, `seed-${name}`, `data-${name}`), { totalBytes: 512 * 1024, fileCount: 2 })
    const torrent = await mktorrent(tree.root, join(tmp.path, 'work', `${name}.torrent`), { announce: [tracker.httpAnnounce], pieceLengthLog2: 15 })
    const seeder = await startAria2Seeder({ torrentPath: torrent.path, dir: join(tmp.path, `seed-${name}`) })
    t.after(() => seeder.close())
    trees.set(`data-${name}`, tree.root)
  }
  const tsx = import.meta.resolve('tsx')
  let ran = 0
  for (const [i, block] of blocks.entries()) {
    if (/runs until disposed/.test(block)) continue
    const r = await run(process.execPath, ['--conditions=source', '--import', tsx, files[i]!], {
      cwd: join(tmp.path, 'work'),
      timeout: 90_000,
      env: { ...process.env, TORRENT_PATRON_DHT: 'off', TORRENT_PATRON_PORT_MAPPING: 'off' }
    }).then(
      (ok) => ({ code: 0, out: ok.stdout + ok.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string; signal?: string }) => ({ code: e.code ?? e.signal, out: `${e.stdout ?? ''}${e.stderr ?? ''}` })
    )
    assert.equal(r.code, 0, `snippet ${i + 1} ended by itself with 0:\n${block}\n---\n${r.out}`)
    ran++
  }
  assert.ok(ran >= blocks.length - 1, `ran ${ran} of ${blocks.length}`)
  // The queue snippet fetched all three torrents.
  for (const [name, source] of trees) assert.equal(await compareTrees(source, join(tmp.path, 'work', 'downloads', name)), undefined, `${name} downloaded intact`)
})
