/**
 * Checking existing data, v2 (SHA-256 merkle, BEP 52) against v1 (SHA-1), by
 * this project's checker (bench/check-engine.ts, both cores) and by
 * libtorrent 2.0.8's force_recheck, over the same bytes in one run. Prints a
 * markdown table for docs/benchmarks.md.
 *
 *   node --import tsx bench/check-v2.ts [--size MiB] [--runs N]
 */
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadavg } from 'node:os'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { makeTorrent } from '../lib/maker/index.ts'
import { argValues } from './lib/engine.ts'
import { ensureRandomFile } from './lib/data.ts'
import { summarize } from './lib/stats.ts'

const run = promisify(execFile)
const argv = process.argv.slice(2)
const sizeMiB = Number(argValues(argv, 'size')[0] ?? 1024)
const runs = Number(argValues(argv, 'runs')[0] ?? 3)
const work = fileURLToPath(new URL('./.work/check-v2/', import.meta.url))
const data = join(work, 'data')
const file = join(data, 'blob.bin')
const here = fileURLToPath(new URL('.', import.meta.url))

async function engineCheck (torrent: string): Promise<{ seconds: number; valid: number; pieces: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(here, 'check-engine.ts'), '--torrent', torrent, '--data', data, '--workers', '2'], { maxBuffer: 1 << 24 })
  const line = JSON.parse(stdout.trim().split('\n').pop() as string) as { checkMs: number; validPieces: number; pieces: number }
  return { seconds: line.checkMs / 1000, valid: line.validPieces, pieces: line.pieces }
}

async function ltCheck (torrent: string): Promise<{ seconds: number; progress: number }> {
  const script = fileURLToPath(new URL('../spec/support/peers/lt_peer.py', import.meta.url))
  const { stdout } = await run('/usr/bin/python3', [script, 'recheck', torrent, data], { maxBuffer: 1 << 24 })
  return JSON.parse(stdout.trim().split('\n').pop() as string) as { seconds: number; progress: number }
}

const median = (xs: number[]): number => summarize(xs).median

ensureRandomFile(file, sizeMiB * 1024 * 1024)
const rows: string[] = []
for (const version of ['v1', 'v2'] as const) {
  const torrent = join(work, `${version}.torrent`)
  await writeFile(torrent, await makeTorrent(file, { announce: 'http://127.0.0.1:1/announce', pieceLength: 256 * 1024, version }))
  const ours: number[] = []
  const theirs: number[] = []
  for (let i = 0; i < runs; i++) {
    const e = await engineCheck(torrent)
    if (e.valid !== e.pieces) throw new Error(`${version}: engine found ${e.valid}/${e.pieces} pieces valid`)
    ours.push(e.seconds)
    const l = await ltCheck(torrent)
    if (l.progress < 1) throw new Error(`${version}: libtorrent found ${l.progress} of the data valid`)
    theirs.push(l.seconds)
  }
  const mbs = (s: number): string => ((sizeMiB * 1024 * 1024) / s / 1e6).toFixed(0)
  rows.push(`| ${version} | ${mbs(median(ours))} (${mbs(Math.max(...ours))}–${mbs(Math.min(...ours))}) | ${mbs(median(theirs))} (${mbs(Math.max(...theirs))}–${mbs(Math.min(...theirs))}) | ${runs} |`)
}
console.log(`Checking ${sizeMiB} MiB (one file, 256 KiB pieces, data in page cache), ${new Date().toISOString().slice(0, 16)} UTC, 1-min load average ${loadavg()[0]?.toFixed(1)}:\n`)
console.log('| torrent | torrent-patron MB/s (2 hash workers) | libtorrent 2.0.8 force_recheck MB/s | runs |')
console.log('|---|---|---|---|')
for (const r of rows) console.log(r)
