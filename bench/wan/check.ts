/**
 * `npm run bench:wan-check`: the link emulator measured against its own
 * settings, so that WAN figures can be trusted. For each link setting it
 * reports the TCP connect RTT (least of 5, as ping reports its minimum), a bulk TCP transfer's rate and
 * the UDP round-trip loss, beside what the settings predict.
 */
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { once } from 'node:events'
import { benchDir } from '../lib/paths.ts'
import { startTopology, type HostSpec } from './topology.ts'

interface Probe { rttMs: number; mbit: number; udpSent: number; udpEchoed: number }

const probe = join(benchDir, 'wan', 'probe.mjs')
const cases: { label: string; far: HostSpec }[] = [
  { label: '25 ms one way, 100 Mbit/s', far: { name: 'far', delayMs: 25, rateMbit: 100 } },
  { label: '100 ms one way, 100 Mbit/s', far: { name: 'far', delayMs: 100, rateMbit: 100 } },
  { label: '10 ms one way, 2% loss, 50 Mbit/s', far: { name: 'far', delayMs: 10, lossPercent: 2, rateMbit: 50 } }
]

export async function runWanCheck (bytes = 16 << 20): Promise<string[]> {
  const rows: string[] = ['| link | RTT set / measured (ms) | rate set / TCP measured (Mbit/s) | UDP round-trip loss expected / measured |', '|---|---|---|---|']
  for (const c of cases) {
    const topo = await startTopology([c.far, { name: 'near', delayMs: 0, rateMbit: 0 }])
    try {
      const [far, near] = topo.hosts
      const [cmd, ...args] = topo.exec(near!, process.execPath, [probe, 'server', '5001'])
      const server = spawn(cmd!, args, { stdio: 'ignore' })
      try {
        // The server is up when its namespace answers a connect: retry the client until then.
        let out = ''
        for (let i = 0; i < 50 && out === ''; i++) {
          try {
            const [ccmd, ...cargs] = topo.exec(far!, process.execPath, [probe, 'client', near!.address, '5001', String(bytes)])
            out = execFileSync(ccmd!, cargs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
          } catch { await new Promise((r) => setTimeout(r, 100)) }
        }
        const p = JSON.parse(out) as Probe
        const loss = (c.far.lossPercent ?? 0) / 100
        const expectedLoss = 1 - (1 - loss) ** 2
        rows.push(`| ${c.label} | ${4 * c.far.delayMs / 2} / ${p.rttMs.toFixed(1)} | ${c.far.rateMbit} / ${p.mbit.toFixed(1)} | ${(100 * expectedLoss).toFixed(1)}% / ${(100 * (1 - p.udpEchoed / p.udpSent)).toFixed(1)}% |`)
      } finally {
        server.kill('SIGKILL')
        await once(server, 'exit')
      }
    } finally {
      await topo.close()
    }
  }
  return rows
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  for (const row of await runWanCheck()) console.log(row)
}
