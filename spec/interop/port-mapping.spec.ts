/**
 * Port mapping through a real home router: Debian's miniupnpd in a ROUTER
 * namespace that masquerades the INNER namespace where the CLI seeds (port
 * mapping on by default there), and a second engine in the OUTER namespace
 * that can only reach the seeder through the router's external address. Once
 * with PCP and NAT-PMP on (PCP is the engine's first choice), once with UPnP
 * IGD only: the mapping appears in miniupnpd's rules and lease file, the
 * seeder's status says `pcp:` / `upnp:` with the external address, the outer
 * peer connects in through the mapped port and downloads the data byte for
 * byte, and the mapping is gone after the seeder closes. NAT-PMP itself
 * (miniupnpd answers both on one switch) is checked with a mapper told to
 * skip PCP: its rules and lease appear and go.
 *
 * Runs as root (CI does); miniupnpd, nft and ip missing make it FAIL
 * (scripts/install-peers.sh installs them).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { root } from '../support/build.ts'
import { writeRandomFile, firstDifference } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { spawnLogged, type ChildHandle } from '../support/peers/process.ts'
import { makeTempDir, type TempDir } from '../support/peers/tmp.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { LAB, STUN_RESPONDER, miniupnpdConfig, openNatLab, type NatLab } from '../support/nat-lab.ts'

const PORT = 6881
const STUN_PORT = 3478

let tmp: TempDir
let lab: NatLab
let stun: ChildHandle
const children: ChildHandle[] = []

const have = (bin: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const start = (ns: string, file: string, args: readonly string[], log: string, env: NodeJS.ProcessEnv = process.env): ChildHandle => {
  const [cmd, argv] = lab.command(ns, file, args)
  const child = spawnLogged(cmd, argv, { logPath: join(tmp.path, log), cwd: root, env })
  children.push(child)
  return child
}

/** The CLI, run from the sources (cli/main.ts runs its command when imported). */
const cli = (ns: string, args: readonly string[], log: string, env: NodeJS.ProcessEnv): ChildHandle =>
  start(ns, process.execPath, ['--import', 'tsx', join(root, 'cli', 'main.ts'), ...args], log, env)

/** Status lines of a `--json` CLI log. */
const statuses = (text: string): Array<{ statsdictionary?: { portMapping?: string } }> =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as { statsdictionary?: { portMapping?: string } }
      } catch {
        return {}
      }
    })

/** The child's exit, waited for at most `ms` (children are unreferenced: this timer keeps the test alive meanwhile). */
const exitOf = async (child: ChildHandle, ms: number): Promise<{ code: number | null }> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<{ code: null }>((resolve) => (timer = setTimeout(() => resolve({ code: null }), ms)))
  try {
    return await Promise.race([child.exited, late])
  } finally {
    clearTimeout(timer)
  }
}

const leases = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '')

let torrentPath = ''
let seedDir = ''

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the port-mapping spec runs as root (network namespaces)')
  for (const bin of ['miniupnpd', 'nft', 'ip']) assert.ok(have(bin), `${bin} is missing: scripts/install-peers.sh installs it`)
  tmp = await makeTempDir('t15n-nat-', { worldReadable: true })
  seedDir = join(tmp.path, 'seed')
  mkdirSync(seedDir)
  await writeRandomFile(join(seedDir, 'mapped.bin'), 3 * 1024 * 1024 + 777)
  torrentPath = (await mktorrent(join(seedDir, 'mapped.bin'), join(tmp.path, 'mapped.torrent'), { announce: ['http://127.0.0.1:1/announce'], pieceLengthLog2: 16 })).path
  lab = openNatLab(tmp.path)
  stun = start(LAB.outer.ns, process.execPath, ['-e', STUN_RESPONDER, LAB.outer.address, LAB.outer.second, String(STUN_PORT), String(STUN_PORT + 1)], 'stun.log')
  await pollUntil(async () => (await stun.readLog()).includes('stun ready'), { timeoutMs: 30_000, what: 'the STUN responder', explain: () => stun.logTail() })
})

after(async () => {
  for (const c of children.reverse()) await c.close(2000)
  lab?.close()
  await tmp?.close()
})

/** miniupnpd in the router namespace (PCP and NAT-PMP on or off, UPnP IGD on), once it listens. */
const startRouter = async (name: string, natpmp: boolean): Promise<{ router: ChildHandle; leaseFile: string }> => {
  const leaseFile = join(tmp.path, `${name}.leases`)
  const conf = join(tmp.path, `${name}.conf`)
  writeFileSync(conf, miniupnpdConfig({ natpmp, leaseFile, stunPort: STUN_PORT }))
  const router = start(LAB.router.ns, 'miniupnpd', ['-d', '-f', conf, '-P', join(tmp.path, `${name}.pid`)], `${name}-miniupnpd.log`)
  await pollUntil(async () => /HTTP listening on port \d+/.test(await router.readLog()) || (router.exitInfo() !== undefined ? Promise.reject(new Error(`miniupnpd exited:\n${router.logTail()}`)) : false), {
    timeoutMs: 30_000,
    what: 'miniupnpd listening',
    explain: () => router.logTail()
  })
  assert.doesNotMatch(await router.readLog(), /Port forwarding is impossible/)
  return { router, leaseFile }
}

/** A port mapper alone in the inner namespace, NAT-PMP only: prints its note, removes its mapping on SIGTERM. */
const NATPMP_ONLY = (port: number): string => `
import(${JSON.stringify(join(root, 'lib', 'engine', 'nat', 'port-mapper.ts'))}).then(async ({ PortMapper }) => {
  const m = new PortMapper({ pcp: false, upnp: false }, [{ protocol: 'tcp', port: ${port} }, { protocol: 'udp', port: ${port} }])
  m.start()
  await m.settled()
  console.log('NOTE ' + m.note())
  const keep = setInterval(() => {}, 1000)
  process.once('SIGTERM', async () => { await m.close(); console.log('CLOSED'); clearInterval(keep) })
})
`

test('natpmp: a NAT-PMP-only mapper maps through miniupnpd (its rules and lease file) and removes the mapping on close', { timeout: 120_000 }, async (t) => {
  const mark = children.length
  t.after(async () => {
    for (const c of children.splice(mark).reverse()) await c.close(3000)
  })
  const { router, leaseFile } = await startRouter('natpmp', true)
  const port = PORT + 10
  const mapper = start(LAB.inner.ns, process.execPath, ['--import', 'tsx', '-e', NATPMP_ONLY(port)], 'natpmp-mapper.log')
  const note = await pollUntil(async () => /^NOTE (.*)$/m.exec(await mapper.readLog())?.[1], { timeoutMs: 30_000, what: 'the mapper\'s note', explain: () => `${mapper.logTail()}\n${router.logTail()}` })
  const wan = LAB.router.wanAddress.replace(/\./g, '\\.')
  assert.match(note, new RegExp(`^natpmp: tcp ${wan}:${port}, udp ${wan}:${port}$`), `${note}\n${router.logTail()}`)
  const inner = LAB.inner.address.replace(/\./g, '\\.')
  assert.match(lab.routerRules(), new RegExp(`(tcp|@nh,72,8 0x6 th) dport ${port} dnat (ip )?to ${inner}:${port}`))
  assert.match(leases(leaseFile), new RegExp(`^UDP:${port}:${inner}:${port}:`, 'm'))
  mapper.signal('SIGTERM')
  await pollUntil(async () => (await mapper.readLog()).includes('CLOSED'), { timeoutMs: 20_000, what: 'the mapper closed', explain: () => mapper.logTail() })
  assert.doesNotMatch(lab.routerRules(), new RegExp(`dport ${port} `))
  assert.doesNotMatch(leases(leaseFile), new RegExp(`:${port}:`))
  await router.close(3000)
})

for (const method of ['pcp', 'upnp'] as const) {
  test(`${method}: miniupnpd maps the seeder's port, the outer peer downloads through it, the mapping is gone after close`, { timeout: 240_000 }, async (t) => {
    // this round's processes go with it, also when it fails (the next round reuses the port)
    const mark = children.length
    t.after(async () => {
      for (const c of children.splice(mark).reverse()) await c.close(3000)
    })
    const { router, leaseFile } = await startRouter(method, method === 'pcp')

    // The CLI maps by default: the environment must not turn it off for the seeder.
    const env: NodeJS.ProcessEnv = { ...process.env, TORRENT_PATRON_DHT: 'off' }
    delete env.TORRENT_PATRON_PORT_MAPPING
    const seeder = cli(LAB.inner.ns, ['seed', torrentPath, '-o', seedDir, '--port', String(PORT), '--json', '--no-dht'], `${method}-seeder.log`, env)
    const note = await pollUntil(
      async () => {
        if (seeder.exitInfo() !== undefined) throw new Error(`the seeder exited:\n${seeder.logTail()}`)
        const last = statuses(await seeder.readLog()).reverse().find((s) => s.statsdictionary?.portMapping !== undefined && s.statsdictionary.portMapping !== 'mapping')
        return last?.statsdictionary?.portMapping
      },
      { timeoutMs: 60_000, what: 'the seeder\'s port mapping', explain: () => `${seeder.logTail()}\n${router.logTail()}` }
    )
    assert.match(note, new RegExp(`^${method}: tcp ${LAB.router.wanAddress.replace(/\./g, '\\.')}:${PORT}, udp ${LAB.router.wanAddress.replace(/\./g, '\\.')}:${PORT}`), `${note}\n${router.logTail()}`)
    // in miniupnpd's table: the DNAT rules and the lease file
    const rules = lab.routerRules()
    // miniupnpd's nft rules name the protocol by the IPv4 header's byte 9 (6: TCP, 0x11: UDP)
    const inner = LAB.inner.address.replace(/\./g, '\\.')
    assert.match(rules, new RegExp(`(tcp|@nh,72,8 0x6 th) dport ${PORT} dnat (ip )?to ${inner}:${PORT}`), rules)
    assert.match(rules, new RegExp(`(udp|@nh,72,8 0x11 th) dport ${PORT} dnat (ip )?to ${inner}:${PORT}`), rules)
    assert.match(leases(leaseFile), new RegExp(`^TCP:${PORT}:${LAB.inner.address.replace(/\./g, '\\.')}:${PORT}:`, 'm'))

    // The outer peer knows only the router's external address.
    const leechDir = join(tmp.path, `${method}-leech`)
    mkdirSync(leechDir)
    const leecher = cli(LAB.outer.ns, ['get', torrentPath, '-o', leechDir, '-p', `${LAB.router.wanAddress}:${PORT}`, '--no-dht', '--json', '--timeout', '120'], `${method}-leecher.log`, {
      ...process.env,
      TORRENT_PATRON_DHT: 'off',
      TORRENT_PATRON_PORT_MAPPING: 'off'
    })
    const exit = await exitOf(leecher, 150_000)
    assert.equal(exit.code, 0, `the outer leecher failed:\n${leecher.logTail()}\n${seeder.logTail()}`)
    assert.equal(await firstDifference(join(seedDir, 'mapped.bin'), join(leechDir, 'mapped.bin')), undefined)

    // Ctrl-C: the seeder closes and removes its mappings.
    seeder.signal('SIGINT')
    assert.equal((await exitOf(seeder, 30_000)).code, 0, seeder.logTail())
    await pollUntil(() => !new RegExp(`dport ${PORT} `).test(lab.routerRules()) && !leases(leaseFile).includes(`:${PORT}:`), {
      timeoutMs: 20_000,
      what: 'the mappings removed',
      explain: () => `${lab.routerRules()}\n${leases(leaseFile)}\n${router.logTail()}`
    })
    await router.close(3000)
  })
}
