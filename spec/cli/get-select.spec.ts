/**
 * `get --only` / `--skip` against a real aria2c seeder: only the chosen
 * files reach the save folder, byte-identical; a magnet's selection is
 * applied once aria2c gave the metadata, and an index past its files fails
 * the torrent then; bad values exit 2 before any folder is made.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { listFiles } from '../support/peers/data.ts'
import { jsonLines, oneLineError, runCli, swarm } from './support.ts'

type T = { after: (f: () => Promise<void>) => void }

/** aria2c seeding four files (64 KiB pieces, files not on piece boundaries); their paths in torrent order (torrent name first). */
const seeded = async (t: T) => {
  const s = await swarm(t, { totalBytes: 3 << 20 })
  const meta = await parseMetainfo(s.torrent.bytes)
  assert.ok(meta.ok)
  const files = meta.value.files.filter((f) => !f.pad).map((f) => ({ path: f.path.join('/'), inTree: f.path.slice(1).join('/'), length: f.length }))
  assert.equal(files.length, 4)
  return { ...s, files, infoHash: meta.value.infoHash }
}

/** The files under `out`'s torrent folder are exactly `want` (indices), each identical to the seeder's. */
const onlyThese = async (out: string, s: Awaited<ReturnType<typeof seeded>>, want: number[]) => {
  const got = await listFiles(join(out, 'payload'))
  assert.deepEqual(got, want.map((i) => s.files[i]!.inTree).sort(), 'only the chosen files are in the save folder')
  for (const i of want) {
    assert.deepEqual(await readFile(join(out, 'payload', s.files[i]!.inTree)), await readFile(join(s.tree.root, s.files[i]!.inTree)), `${s.files[i]!.path} identical`)
  }
}

test('get --only 1,3 of a .torrent: only those files, identical; the Summary counts their bytes', { timeout: 120_000 }, async (t) => {
  const s = await seeded(t)
  const out = join(s.tmp.path, 'out')
  const r = await runCli(['get', s.torrent.path, '--out', out, '--peer', s.seeder.peer, '--only', '1,3', '--json'], { timeoutMs: 90_000 })
  assert.equal(r.code, 0, `stderr: ${r.stderr}\nstdout tail: ${r.stdout.slice(-2000)}`)
  const last = jsonLines(r.stdout).at(-1)!
  assert.equal(last['result'], 'complete')
  assert.equal(last['size'], s.files[1]!.length + s.files[3]!.length)
  await onlyThese(out, s, [1, 3])
})

test('get --skip by name and glob, plain lines: every other file, identical', { timeout: 120_000 }, async (t) => {
  const s = await seeded(t)
  const out = join(s.tmp.path, 'out')
  const base = s.files[0]!.path.split('/').at(-1)!
  const r = await runCli(['get', s.torrent.path, '--out', out, '--peer', s.seeder.peer, '--skip', `${base},${s.files[2]!.inTree.replace(/\.bin$/, '.*')}`], { timeoutMs: 90_000 })
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stdout.trim().split('\n').at(-1)!, /^payload: .* complete and verified in /)
  await onlyThese(out, s, [1, 3])
})

test('get <magnet> --only 2: the selection applies once the metadata came from aria2c; only that file, identical', { timeout: 120_000 }, async (t) => {
  const s = await seeded(t)
  const out = join(s.tmp.path, 'out')
  const r = await runCli(['get', `magnet:?xt=urn:btih:${s.infoHash}&x.pe=${s.seeder.peer}`, '--out', out, '--only', '2', '--json'], { timeoutMs: 90_000 })
  assert.equal(r.code, 0, `stderr: ${r.stderr}\nstdout tail: ${r.stdout.slice(-2000)}`)
  const lines = jsonLines(r.stdout)
  assert.equal((lines.find((l) => l['type'] === 'TorrentStatusUpdate')!['statsdictionary'] as { activity: string }).activity, 'fetching metadata')
  assert.equal(lines.at(-1)!['size'], s.files[2]!.length)
  await onlyThese(out, s, [2])
})

test('get <magnet> --only 9 of a 4-file torrent: fails once the metadata says so (exit 1), no file made', { timeout: 120_000 }, async (t) => {
  const s = await seeded(t)
  const out = join(s.tmp.path, 'out')
  const r = await runCli(['get', `magnet:?xt=urn:btih:${s.infoHash}&x.pe=${s.seeder.peer}`, '--out', out, '--only', '0,9'], { timeoutMs: 90_000 })
  const line = oneLineError(r)
  assert.equal(r.code, 1, line)
  assert.match(line, /bad priorities: 10 priorities for a torrent of 4 files \(no file 9: they are numbered 0 to 3\)/)
  assert.equal(existsSync(join(out, 'payload')), false, 'none of the torrent\'s files was created')
})

test('bad --only / --skip values exit 2 with a clear message, before any folder is made', { timeout: 120_000 }, async (t) => {
  const s = await seeded(t)
  const out = join(s.tmp.path, 'never-made')
  const magnet = `magnet:?xt=urn:btih:${s.infoHash}`
  const cases: Array<{ args: string[]; message: RegExp }> = [
    { args: [s.torrent.path, '--only', '4'], message: /--only 4: no such file, the torrent has 4 files \(numbered 0 to 3\)/ },
    { args: [s.torrent.path, '--only', 'x'], message: /--only x: no file of the torrent has that name or index/ },
    { args: [s.torrent.path, '--only', ''], message: /--only wants a comma-separated list/ },
    { args: [s.torrent.path, '--only', '0,,1'], message: /--only wants a comma-separated list/ },
    { args: [s.torrent.path, '--only', '0', '--skip', '1'], message: /cannot be used together/ },
    { args: [s.torrent.path, '--skip', '0,1,2,3'], message: /leaves no file to download/ },
    { args: [magnet, '--only', 'a.bin'], message: /a magnet's file names are known only once its metadata arrives/ },
    { args: [s.torrent.path, '--only'], message: /argument missing/ }
  ]
  for (const c of cases) {
    const r = await runCli(['get', c.args[0]!, '--out', out, ...c.args.slice(1)])
    const line = oneLineError(r)
    assert.equal(r.code, 2, `${c.args.join(' ')}: ${line}`)
    assert.match(line, c.message, c.args.join(' '))
    assert.equal(existsSync(out), false, `${c.args.join(' ')} created ${out}`)
  }
})
