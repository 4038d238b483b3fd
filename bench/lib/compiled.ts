/**
 * The engine's bench children (leech, seed, check) run as JavaScript compiled
 * by tsc into bench/.work/dist, not through tsx: tsx's loader thread and
 * esbuild service cost the child about 30-40 MiB of RSS and a few hundred ms
 * of CPU, which would be charged to the engine. Compiled once per bench
 * process (a couple of seconds); `--tsx` on a bench's command line keeps the
 * old way, for comparison. BENCH_NODE_ARGS (space-separated) adds node
 * options to the child, e.g. `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"`
 * (node refuses --cpu-prof in NODE_OPTIONS).
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { benchDir, projectRoot, workDir } from './paths.ts'

let built = false

/** Compile the bench children (bench/tsconfig.dist.json) unless done already in this process. */
const build = (): void => {
  if (built) return
  const tsc = join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc')
  execFileSync(process.execPath, [tsc, '-p', join(benchDir, 'tsconfig.dist.json')], { cwd: projectRoot, stdio: 'inherit' })
  built = true
}

/**
 * Node arguments that run bench child `name` (e.g. 'leech-engine'): the
 * compiled file, or the TypeScript source through tsx when `useTsx`.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [...engineChild('seed-engine'), '--torrent', t, '--data', dir, '--port', '6881'])
 * ```
 */
export const engineChild = (name: 'leech-engine' | 'seed-engine' | 'check-engine', useTsx = process.argv.includes('--tsx')): string[] => {
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
  if (useTsx) return [...extra, '--import', 'tsx', join(benchDir, `${name}.ts`)]
  build()
  return [...extra, join(workDir, 'dist', 'bench', `${name}.js`)]
}
