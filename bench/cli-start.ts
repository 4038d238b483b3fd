/**
 * First contact: how fast the compiled CLI answers `--help`, `--version` and
 * `info` on a small torrent (wall time and peak RSS of the whole process,
 * beside a bare `node -e 0`), and how much a library install weighs (the
 * packed tarball installed by npm into a fresh folder, with @most/core and
 * @most/scheduler as the README says).
 *
 *   npm run bench:cli [-- --runs N] [--docs|--no-docs]
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeTorrent } from '../lib/index.ts'
import { ensureBuilt } from '../spec/support/build.ts'
import { newProject, packageCount, packTarball, treeBytes } from '../spec/support/packed.ts'
import { runMeasured } from './lib/measure.ts'
import { MiB, projectRoot } from './lib/paths.ts'
import { machineLine, parseBenchArgs, stamp, table, updateSection } from './lib/report.ts'
import { cell, fmt, summarize, type Summary } from './lib/stats.ts'

const bin = join(projectRoot, 'bin', 'torrent-patron.js')

interface Row {
  readonly what: string
  readonly target: string
  readonly wallMs: Summary
  readonly rssMiB: Summary
}

/**
 * Every command once per round, `runs` rounds: the commands take turns, so
 * that load from other work on the machine falls on each of them alike.
 */
const measureRounds = async (commands: ReadonlyArray<readonly [string, string, readonly string[]]>, runs: number, log: (s: string) => void): Promise<Row[]> => {
  const wall = commands.map((): number[] => [])
  const rss = commands.map((): number[] => [])
  for (let i = 0; i < runs; i++) {
    log(`round ${i + 1} of ${runs}`)
    for (const [k, [what, , args]] of commands.entries()) {
      const m = await runMeasured(process.execPath, args, { timeoutMs: 60_000 })
      if (m.exitCode !== 0) throw new Error(`${what} exited ${m.exitCode}: ${m.stderr}`)
      wall[k]!.push(m.wallS * 1000)
      rss[k]!.push(m.peakRssBytes / MiB)
    }
  }
  return commands.map(([what, target], k) => ({ what, target, wallMs: summarize(wall[k]!), rssMiB: summarize(rss[k]!) }))
}

/** The `n` largest packages under `nodeModules` (scoped ones one by one), by bytes. */
const largestPackages = async (nodeModules: string, n: number): Promise<Array<[string, number]>> => {
  const sizes: Array<[string, number]> = []
  for (const e of await readdir(nodeModules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue
    const names = e.name.startsWith('@') ? (await readdir(join(nodeModules, e.name))).map((s) => `${e.name}/${s}`) : [e.name]
    for (const name of names) sizes.push([name, await treeBytes(join(nodeModules, name))])
  }
  return sizes.sort((a, b) => b[1] - a[1]).slice(0, n)
}

export const runCliStartBench = async (runs: number, log: (s: string) => void = console.log): Promise<string> => {
  ensureBuilt()
  const tmp = await mkdtemp(join(tmpdir(), 'bench-cli-'))
  try {
    const small = join(tmp, 'small.bin')
    await writeFile(small, Buffer.alloc(256 * 1024, 7))
    const torrent = join(tmp, 'small.torrent')
    await writeFile(torrent, await makeTorrent(small, { announce: ['http://127.0.0.1:9/announce'] }))

    const rows = await measureRounds(
      [
        ['`node -e 0` (Node itself)', '', ['-e', '0']],
        ['`torrent-patron --help`', '< 150 ms', [bin, '--help']],
        ['`torrent-patron --version`', '< 150 ms', [bin, '--version']],
        ['`torrent-patron info small.torrent`', '< 300 ms', [bin, 'info', torrent]]
      ],
      runs,
      log
    )

    log('packing the package and installing it into a fresh folder')
    const tarball = await packTarball(tmp)
    const app = join(tmp, 'my-app')
    await mkdir(app)
    await newProject(app, [tarball, '@most/core', '@most/scheduler'])
    const installed = await treeBytes(join(app, 'node_modules'))
    const packages = await packageCount(join(app, 'node_modules'))
    const largest = await largestPackages(join(app, 'node_modules'), 4)
    const tarballBytes = (await stat(tarball)).size

    return [
      '## CLI start and install size',
      '',
      `Measured ${stamp()} on ${machineLine()}. The machine was loaded by other work while measuring`,
      '(several engineers share its 2 cores): the figures are upper bounds of what an idle machine shows. Each',
      `row is the median of ${runs} runs (min–max) of the whole process, start to exit, under \`/usr/bin/time\`; the`,
      'commands take turns, round after round, so that the load falls on each alike.',
      'The CLI runs the compiled `dist/cli/main.js`; each command loads only its own modules (the engine only',
      'for `get`, `seed` and `demo`).',
      '',
      table(
        ['command', 'target', 'wall ms', 'ms beyond Node itself', 'peak RSS MiB'],
        rows.map((r) => [r.what, r.target, cell(r.wallMs, 0), r === rows[0] ? '' : fmt(r.wallMs.median - rows[0]!.wallMs.median, 0), cell(r.rssMiB, 0)])
      ),
      '',
      'A library install: `npm pack`, then in a fresh folder `npm install <tarball> @most/core @most/scheduler`',
      '(`most` 1.x is an optional peer dependency, not installed).',
      '',
      table(
        ['measure', 'target', 'value'],
        [
          ['tarball', '', `${fmt(tarballBytes / MiB)} MiB`],
          ['node_modules', '< 15 MB', `${fmt(installed / 1e6)} MB (${fmt(installed / MiB)} MiB)`],
          ['packages in node_modules', '', String(packages)],
          ...largest.map(([name, size]): [string, string, string] => [`of which \`${name}\``, '', `${fmt(size / 1e6)} MB`])
        ]
      ),
      '',
      installed < 15e6
        ? 'The install is within its target. The engine speaks to trackers with its own HTTP and UDP client, so no'
        : 'The install is over its target. The engine speaks to trackers with its own HTTP and UDP client, so no',
      'tracker library (and none of the fetch and WebRTC polyfills such libraries bring) is installed;',
      '`utp-native` is the optional native uTP transport (`npm install --omit=optional` leaves it out). The package',
      'itself ships only `dist/` (no source maps, no TypeScript sources), `bin/` and the typings of its untyped',
      'dependencies.'
    ].join('\n')
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const opts = parseBenchArgs(process.argv.slice(2))
  const markdown = await runCliStartBench(opts.quick ? 3 : Math.max(opts.runs, 7))
  console.log(markdown)
  if (opts.docs) updateSection('cli', markdown)
}
