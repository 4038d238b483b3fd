/** Where the benchmarks keep their files. bench/.work/ is gitignored. */
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

export const benchDir = dirname(dirname(fileURLToPath(import.meta.url)))
export const projectRoot = dirname(benchDir)
export const workDir = join(benchDir, '.work')
export const docsFile = join(projectRoot, 'docs', 'benchmarks.md')

export const KiB = 1024
export const MiB = 1024 * 1024
export const GiB = 1024 * MiB
/** Throughputs are reported in decimal megabytes per second, like the anchors. */
export const MB = 1e6
