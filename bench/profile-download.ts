/**
 * Where the engine's download time goes: one download of the benchmark
 * torrent from an aria2c seeder by bench/leech-engine.ts under
 * `node --cpu-prof`, then the top functions by self time of each thread's
 * profile. The .cpuprofile files stay in bench/.work/profile/ (open them in
 * Chrome DevTools or speedscope for a flame graph).
 *
 *   node --import tsx bench/profile-download.ts [--quick] [--top N] [--docs]
 *
 * With --docs, the main thread's table goes to the "profile" section of
 * docs/benchmarks.md.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { startAria2Seeder } from './lib/aria2.ts'
import { ensureDataset, torrentWithAnnounce, warmCache } from './lib/data.ts'
import { leechOnce } from './lib/leech.ts'
import { engineChild, engineRuntimeNote } from './lib/compiled.ts'
import { freePort, waitFor } from './lib/net.ts'
import { GiB, MB, MiB, benchDir, projectRoot, workDir } from './lib/paths.ts'
import { startTracker } from './lib/tracker.ts'
import { machineLine, stamp, table, updateSection } from './lib/report.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
}

/** Self time by function (ms) of one .cpuprofile, largest first. */
export const topSelf = (profile: CpuProfile, top: number): { name: string; ms: number; share: number }[] => {
  const totalMs = (profile.endTime - profile.startTime) / 1000
  const perSample = totalMs / Math.max(1, profile.samples.length)
  const byName = new Map<string, number>()
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame
    const where = url ? `${relative(projectRoot, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : ''
    const name = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`
    byName.set(name, (byName.get(name) ?? 0) + (n.hitCount ?? 0) * perSample)
  }
  return [...byName.entries()]
    .map(([name, ms]) => ({ name, ms, share: ms / totalMs }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top)
}

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const topAt = argv.indexOf('--top')
const top = topAt >= 0 ? Number(argv[topAt + 1]) || 25 : 25
const size = quick ? 64 * MiB : GiB
const ds = ensureDataset(size)
warmCache(ds.file)
const profDir = join(workDir, 'profile')
rmSync(profDir, { recursive: true, force: true })
mkdirSync(profDir, { recursive: true })
const tracker = await startTracker()
const torrent = torrentWithAnnounce(ds.torrentFile, tracker.url, join(profDir, 'bench.torrent'))
const seeder = await startAria2Seeder(torrent, ds.dir, await freePort())
try {
  await waitFor('the aria2c seeder to announce', () => tracker.peerCount(ds.infoHash) > 0, 20_000)
  const run = await leechOnce(
    {
      name: 'engine-profiled',
      verify: 'full',
      command: (out) => [
        process.execPath,
        ['--cpu-prof', `--cpu-prof-dir=${profDir}`, ...engineChild('leech-engine'), '--torrent', torrent, '--out', out, '--peer', `127.0.0.1:${seeder.port}`]
      ]
    },
    ds.file,
    300_000
  )
  console.log(
    run.error
      ? `download failed: ${run.error}`
      : `profiled download: ${(size / MB / run.wallS).toFixed(0)} MB/s, ${(run.cpuS / (size / GiB)).toFixed(2)} CPU s/GiB (profiling slows it)`
  )
  const files = readdirSync(profDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(profDir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)
  for (const f of files) {
    const profile = JSON.parse(readFileSync(f, 'utf8')) as CpuProfile
    console.log(`\n${relative(projectRoot, f)} (${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s sampled)`)
    for (const t of topSelf(profile, top)) console.log(`${t.ms.toFixed(0).padStart(7)} ms ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}`)
  }
  const main = files[0]
  if (argv.includes('--docs') && main && !run.error) {
    const profile = JSON.parse(readFileSync(main, 'utf8')) as CpuProfile
    const rows = topSelf(profile, top).map((t) => [`\`${t.name.replace(/\|/g, '\\|')}\``, t.ms.toFixed(0), `${(t.share * 100).toFixed(1)}%`])
    updateSection(
      'profile',
      [
        '## Profile of an engine download',
        '',
        `One ${size >= GiB ? '1 GiB' : '64 MiB'} download by bench/leech-engine.ts from the aria2c seeder under \`node --cpu-prof\` ` +
          `(${(size / MB / run.wallS).toFixed(0)} MB/s and ${(run.cpuS / (size / GiB)).toFixed(2)} CPU s/GiB while profiled); ` +
          'self time of the main thread\'s top functions ("(idle)" is the event loop waiting; a native call such as ' +
          '`writeBuffer` may also count time the thread spent descheduled inside it). ' + engineRuntimeNote(),
        '',
        `Measured ${stamp()} on ${machineLine()}.`,
        '',
        table(['function', 'self ms', 'share'], rows),
        '',
        'Reproduce: `node --import tsx bench/profile-download.ts --docs` (profiles kept in bench/.work/profile/).'
      ].join('\n')
    )
  }
} finally {
  await seeder.stop()
  await tracker.close()
}
