/**
 * The engine's bench children (leech, seed, check) run as JavaScript compiled
 * by tsc into bench/.work/dist, not through tsx: tsx's loader thread and
 * esbuild service cost the child about 30-40 MiB of RSS and a few hundred ms
 * of CPU, which would be charged to the engine. Compiled once per bench
 * process (a couple of seconds); `--tsx` on a bench's command line keeps the
 * old way, for comparison.
 *
 * The children also run with `--max-semi-space-size=4` (MiB): V8's young
 * generation otherwise grows to tens of MiB under the engine's allocation rate
 * (promises, views, messages), all of it resident. At 1 MiB (the first
 * choice) peak RSS of a 1 GiB download fell by 12-20 MiB while the engine
 * still made ~0.6 GiB of buffer garbage per GiB, whose collections also swept
 * the heap; once that garbage was gone (spare piece buffers, wire-parser's
 * carry), 1 MiB let short-lived objects reach the old generation (heap 40 MiB)
 * and 4 MiB gave the lowest peak RSS (97-108 MiB against 96-110 at 8 and
 * 103-115 at 16, two runs each). Applications embedding the engine can pass
 * the same flag.
 * BENCH_NODE_ARGS (space-separated) adds node
 * options to the child, e.g. `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"`
 * (node refuses --cpu-prof in NODE_OPTIONS).
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { projectRoot, workDir } from './paths.ts'

/** Young-generation cap for the engine's bench children (see above). */
export const SEMI_SPACE = '--max-semi-space-size=4'

const built = new Set<string>()

/** Compile the bench children (bench/tsconfig.dist.json) of the checkout at `root` unless done already in this process. */
const build = (root: string): void => {
  if (built.has(root)) return
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  execFileSync(process.execPath, [tsc, '-p', join(root, 'bench', 'tsconfig.dist.json')], { cwd: root, stdio: 'inherit' })
  built.add(root)
}

/**
 * Node arguments that run bench child `name` (e.g. 'leech-engine'): the
 * compiled file, or the TypeScript source through tsx when `useTsx`; of
 * this checkout, or of the one at `root` (an A/B, `--ab`).
 *
 * @example
 * ```ts
 * spawn(process.execPath, [...engineChild('seed-engine'), '--torrent', t, '--data', dir, '--port', '6881'])
 * ```
 */
export const engineChild = (
  name: 'leech-engine' | 'seed-engine' | 'check-engine' | 'stream-engine',
  useTsx = process.argv.includes('--tsx'),
  root = projectRoot
): string[] => {
  const extra = [SEMI_SPACE, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')]
  if (useTsx) return [...extra, '--import', 'tsx', join(root, 'bench', `${name}.ts`)]
  build(root)
  return [...extra, root === projectRoot ? join(workDir, 'dist', 'bench', `${name}.js`) : join(root, 'bench', '.work', 'dist', 'bench', `${name}.js`)]
}

/**
 * Node arguments that run this checkout's library leecher (bench/leech-library.ts,
 * compiled like the engine's children) with Node's default options, as an
 * application embedding the library gets them (BENCH_NODE_ARGS still apply).
 *
 * @example
 * ```ts
 * spawn(process.execPath, [...libraryChild(), '--torrent', t, '--out', dir, '--peer', peer])
 * ```
 */
export const libraryChild = (): string[] => {
  build(projectRoot)
  return [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''), join(workDir, 'dist', 'bench', 'leech-library.js')]
}

/**
 * The command line tool as installed (`bin/torrent-patron.js` over `dist/`),
 * with `dist/` built first from this checkout (`npm run build`'s tsc), once
 * per bench process, so the measured CLI is the code of the tree.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [...cliChild(), 'get', t, '--out', dir])
 * ```
 */
export const cliChild = (): string[] => {
  if (!built.has('cli')) {
    execFileSync(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(projectRoot, 'tsconfig.build.json')], { cwd: projectRoot, stdio: 'inherit' })
    built.add('cli')
  }
  return [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''), join(projectRoot, 'bin', 'torrent-patron.js')]
}

/** One sentence for the docs: how the engine's child ran. */
export const engineRuntimeNote = (useTsx = process.argv.includes('--tsx')): string =>
  useTsx
    ? `The engine's child ran through tsx (--tsx), with node ${SEMI_SPACE}.`
    : `The engine's child runs as JavaScript compiled by tsc (bench/tsconfig.dist.json), with node ${SEMI_SPACE} (bench/lib/compiled.ts).`
