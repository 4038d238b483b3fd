/**
 * `npm run soak`: the long variants of the churn and crash tests, too slow for
 * CI. Runs the churn property with many more cases (CHURN_RUNS, default 200)
 * and the kill -9 / restart test several times (SOAK_KILLS, default 10), each
 * repetition in a fresh process so one failure cannot hide behind another.
 * Then spec/engine/kill-points.spec.ts (kill -9 at random points while downloading
 * and while seeding) with many more kill points per run (SOAK_KILL_POINTS,
 * default 12) over several seeds (SOAK_KILL_ROUNDS, default 3); each run
 * prints its seed, replayable with KILL_SEED=S KILL_POINTS=N.
 *
 * Usage: npm run soak [-- --churn-runs N --kills N --kill-points N --kill-rounds N]
 */
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    'churn-runs': { type: 'string' },
    kills: { type: 'string' },
    'kill-points': { type: 'string' },
    'kill-rounds': { type: 'string' }
  }
})
const churnRuns = Number(values['churn-runs'] ?? process.env['CHURN_RUNS'] ?? 200)
const kills = Number(values.kills ?? process.env['SOAK_KILLS'] ?? 10)
const killPoints = Number(values['kill-points'] ?? process.env['SOAK_KILL_POINTS'] ?? 12)
const killRounds = Number(values['kill-rounds'] ?? process.env['SOAK_KILL_ROUNDS'] ?? 3)

const runSpec = (file: string, env: Record<string, string>): boolean => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', file], {
    stdio: 'inherit',
    env: { ...process.env, ...env }
  })
  return r.status === 0
}

const failures: string[] = []
console.log(`soak: churn property with ${churnRuns} runs`)
if (!runSpec('spec/service/churn.property.spec.ts', { CHURN_RUNS: String(churnRuns) })) failures.push('churn')
for (let i = 1; i <= kills; i++) {
  // The kill point differs each time: the test kills once the download passes
  // a fraction, and the seeder's timing moves where in a piece that lands.
  console.log(`soak: kill -9 and restart, round ${i} of ${kills}`)
  if (!runSpec('spec/engine/disk/resume-kill.spec.ts', {})) failures.push(`kill round ${i}`)
}
for (let i = 1; i <= killRounds; i++) {
  // A fresh seed each round (printed by the spec); KILL_SEED from the caller replays one.
  console.log(`soak: ${killPoints} random kill points while downloading and seeding, round ${i} of ${killRounds}`)
  if (!runSpec('spec/engine/kill-points.spec.ts', { KILL_POINTS: String(killPoints) })) failures.push(`kill points round ${i}`)
}
console.log(failures.length === 0 ? 'soak: all passed' : `soak: FAILED: ${failures.join(', ')}`)
process.exit(failures.length === 0 ? 0 : 1)
