/**
 * A v2 (BEP 52) download against the v1 download of the same bytes, in one
 * run: one file, a v1 and a v2 torrent of it (made by makeTorrent), each seeded
 * by its own python3-libtorrent 2.0.8 on 127.0.0.1; the engine
 * (bench/leech-engine.ts, a child process) downloads each in turn into a fresh
 * folder, v1 and v2 alternating. Prints a markdown table for docs/benchmarks.md.
 *
 *   node --import tsx bench/download-v2.ts [--size MiB] [--runs N]
 */
import { execFile, spawn } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { loadavg } from 'node:os'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { makeTorrent } from '../lib/maker/index.ts'
import { argValues } from './lib/engine.ts'
import { ensureRandomFile } from './lib/data.ts'
import { summarize } from './lib/stats.ts'
import { freePort } from './lib/net.ts'

const run = promisify(execFile)
const argv = process.argv.slice(2)
const sizeMiB = Number(argValues(argv, 'size')[0] ?? 256)
const runs = Number(argValues(argv, 'runs')[0] ?? 3)
const work = fileURLToPath(new URL('./.work/download-v2/', import.meta.url))
const seedDir = join(work, 'seed')
const file = join(seedDir, 'blob.bin')
const here = fileURLToPath(new URL('.', import.meta.url))
const script = fileURLToPath(new URL('../spec/support/peers/lt_peer.py', import.meta.url))

async function seed (torrent: string, port: number): Promise<() => void> {
  const child = spawn('/usr/bin/python3', [script, 'seed', torrent, seedDir, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('"seeding"')) resolve() })
    child.once('exit', (code) => reject(new Error(`libtorrent seeder exited (${String(code)})`)))
  })
  return () => child.kill('SIGKILL')
}

const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex')
const median = (xs: number[]): number => summarize(xs).median

ensureRandomFile(file, sizeMiB * 1024 * 1024)
const want = await sha(file)
const versions = ['v1', 'v2'] as const
const stops: Array<() => void> = []
const ports = new Map<string, number>()
const torrents = new Map<string, string>()
try {
  for (const v of versions) {
    const t = join(work, `${v}.torrent`)
    await writeFile(t, await makeTorrent(file, { announce: 'http://127.0.0.1:1/announce', pieceLength: 256 * 1024, version: v }))
    const port = await freePort()
    stops.push(await seed(t, port))
    ports.set(v, port)
    torrents.set(v, t)
  }
  const times = new Map<string, number[]>(versions.map(v => [v, []]))
  const cpu = new Map<string, number[]>(versions.map(v => [v, []]))
  for (let i = 0; i < runs; i++) {
    for (const v of versions) {
      const out = join(work, `out-${v}`)
      await rm(out, { recursive: true, force: true })
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(here, 'leech-engine.ts'), '--torrent', torrents.get(v) as string, '--out', out, '--peer', `127.0.0.1:${ports.get(v) as number}`], { maxBuffer: 1 << 24 })
      const line = JSON.parse(stdout.trim().split('\n').pop() as string) as { transferMs: number; resourceUsage?: { userCPUTime: number; systemCPUTime: number } }
      if (await sha(join(out, 'blob.bin')) !== want) throw new Error(`${v}: downloaded bytes differ`)
      times.get(v)?.push(line.transferMs / 1000)
      const ru = line.resourceUsage
      if (ru !== undefined) cpu.get(v)?.push((ru.userCPUTime + ru.systemCPUTime) / 1e6 / (sizeMiB / 1024))
      await rm(out, { recursive: true, force: true })
    }
  }
  const mbs = (s: number): string => ((sizeMiB * 1024 * 1024) / s / 1e6).toFixed(0)
  console.log(`${sizeMiB} MiB, one file, 256 KiB pieces, one libtorrent 2.0.8 seeder per torrent on 127.0.0.1, ${runs} runs each alternating, ${new Date().toISOString().slice(0, 16)} UTC, 1-min load average ${loadavg()[0]?.toFixed(1)}:\n`)
  console.log('| torrent | transfer MB/s | CPU s per GiB (whole leecher process) | runs |')
  console.log('|---|---|---|---|')
  for (const v of versions) {
    const ts = times.get(v) as number[]
    const cs = cpu.get(v) as number[]
    console.log(`| ${v} | ${mbs(median(ts))} (${mbs(Math.max(...ts))}–${mbs(Math.min(...ts))}) | ${cs.length > 0 ? median(cs).toFixed(2) : '–'} | ${ts.length} |`)
  }
} finally {
  for (const stop of stops) stop()
}
