/**
 * The engine's port mappings on the home router: its TCP listen port and its
 * UDP ports (uTP, DHT) mapped to the same external port numbers, through PCP
 * or NAT-PMP (tried first: one datagram each way) or UPnP IGD (SSDP search,
 * then SOAP), renewed before the lease ends and removed on close within a
 * bounded wait. When (re)renewal is due and after failures is decided by
 * policy/port-mapping.ts; this file does the I/O and keeps the state that the
 * stats show (`note()`) and announces use (`externalPort`).
 *
 * Nothing here ever throws at the engine: a router that is silent, refuses
 * or answers junk leaves the mapping "not mapped", with the reasons in the
 * note, and the engine runs on without it.
 *
 * @internal
 * @module
 */
import { afterAttempt, defaultMappingPolicy, nextAttempt, type LeaseState, type MappingPolicy } from '../policy/port-mapping.ts'
import { defaultGateway } from './gateway.ts'
import { natPmpExternalAddress, natPmpMap, type NatPmpTarget } from './nat-pmp.ts'
import { pcpMap } from './pcp.ts'
import { SSDP_GROUP, ssdpSearch } from './ssdp.ts'
import { findIgdService, upnpAddMapping, upnpDeleteMapping, upnpExternalAddress, type IgdService } from './upnp-igd.ts'

/**
 * `ClientOptions.portMapping` as an object: where the router is, when the
 * defaults do not find it, and what to call the mappings.
 *
 * @example
 * ```ts
 * const portMapping: PortMappingSettings = { gateway: '192.0.2.1', upnp: false } // NAT-PMP to that router only
 * ```
 */
export interface PortMappingSettings {
  /** PCP / NAT-PMP gateway; default the default route's gateway. `false`: neither. */
  readonly gateway?: string | false
  /** `false`: no PCP (NAT-PMP and UPnP only); default on. */
  readonly pcp?: boolean
  /** `false`: no UPnP IGD (SSDP search); default on. */
  readonly upnp?: boolean
  /** Tests: where SSDP searches go (`host:port`); default 239.255.255.250:1900. */
  readonly ssdpTarget?: string
  /** Tests: the gateway's PCP / NAT-PMP port; default 5351. */
  readonly natPmpPort?: number
  /** Lease asked for, seconds; default 3600. */
  readonly lease?: number
  /** The mappings' description on the router (UPnP); default "torrent-patron". */
  readonly description?: string
}

export type MappingMethod = 'pcp' | 'natpmp' | 'upnp'

/** The methods, in the order tried when none has worked yet. */
const METHODS: readonly MappingMethod[] = ['pcp', 'natpmp', 'upnp']
export type Protocol = 'tcp' | 'udp'

/** A port to map (the same number is asked for outside). */
export interface WantedPort {
  readonly protocol: Protocol
  readonly port: number
}

interface Grant extends WantedPort {
  readonly external: number
}

/** The clock and timers (tests give a manual one). */
export interface MapperClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

const realClock: MapperClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout)
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const parseTarget = (s: string | undefined): { host: string; port: number } => {
  const m = s === undefined ? null : /^(.+):(\d+)$/.exec(s)
  return m === null ? SSDP_GROUP : { host: m[1]!, port: Number(m[2]) }
}

/**
 * Port mappings of one engine run.
 *
 * @example
 * ```ts
 * const mapper = new PortMapper({}, [{ protocol: 'tcp', port: 6881 }, { protocol: 'udp', port: 6881 }])
 * mapper.start()
 * await mapper.settled()
 * mapper.note() // 'upnp: tcp 198.51.100.65:6881, udp 198.51.100.65:6881'
 * await mapper.close()
 * ```
 */
export class PortMapper {
  private readonly wanted: WantedPort[]
  private readonly policy: MappingPolicy
  private grants: Grant[] = []
  private method: MappingMethod | null = null
  private igd: IgdService | null = null
  private gateway: string | null = null
  private address: string | null = null
  private lease: LeaseState | undefined
  private reasons: string[] = []
  private timer: unknown = null
  private running: Promise<void> | null = null
  private first: Promise<void>
  private firstDone!: () => void
  private closed = false
  /** PCP nonces by "protocol:port": renewals and deletions send the mapping's own. */
  private readonly nonces = new Map<string, Buffer>()
  /** A port was added during an attempt: run another one right after it. */
  private again = false

  constructor(
    private readonly settings: PortMappingSettings,
    wanted: readonly WantedPort[],
    private readonly clock: MapperClock = realClock,
    policy: Partial<MappingPolicy> = {}
  ) {
    this.wanted = [...wanted]
    this.policy = { ...defaultMappingPolicy, ...(settings.lease !== undefined ? { lease: settings.lease } : {}), ...policy }
    this.first = new Promise((resolve) => (this.firstDone = resolve))
  }

  /** Map the ports now, then keep them mapped. */
  start(): void {
    if (this.closed || this.running !== null || this.lease !== undefined) return
    this.run()
  }

  /** Also map `port` (e.g. the DHT's, once it listens): at the next attempt, which starts now when idle. */
  add(port: WantedPort): void {
    if (this.closed || this.wanted.some((w) => w.protocol === port.protocol && w.port === port.port)) return
    this.wanted.push(port)
    if (this.running !== null) this.again = true
    else if (this.lease !== undefined) {
      this.clock.clearTimeout(this.timer)
      this.run()
    }
  }

  /** Resolves once the first attempt is over (mapped or not), or the mapper closed. */
  settled(): Promise<void> {
    return this.first
  }

  /** The external port `port` of ours is reachable on, or null (not mapped). */
  externalPort(protocol: Protocol, port: number): number | null {
    return this.grants.find((g) => g.protocol === protocol && g.port === port)?.external ?? null
  }

  /** The router's external address, once mapped. */
  externalAddress(): string | null {
    return this.grants.length > 0 ? this.address : null
  }

  /** How the mapping stands, for the stats: the mapped external addresses and the method, or why not. */
  note(): string {
    if (this.closed) return 'closed'
    const failures = this.reasons.length > 0 ? ` (${this.reasons.join('; ')})` : ''
    if (this.grants.length > 0) {
      const ports = this.grants.map((g) => `${g.protocol} ${this.address ?? '?'}:${g.external}`).join(', ')
      return `${this.method}: ${ports}${failures}`
    }
    if (this.lease === undefined) return 'mapping'
    return `not mapped${failures}`
  }

  private run(): void {
    const p = this.attempt()
      .catch((e: unknown) => {
        this.reasons = [message(e)]
      })
      .finally(() => {
        this.running = null
        this.firstDone()
        if (this.again && !this.closed) {
          this.again = false
          this.run()
        } else this.schedule()
      })
    this.running = p
  }

  private schedule(): void {
    if (this.closed || this.lease === undefined) return
    const at = nextAttempt(this.lease, this.policy)
    if (at === null) return
    this.timer = this.clock.setTimeout(() => this.run(), Math.max(0, at - this.clock.now()))
  }

  /** One round: the method that worked last first, then the other. */
  private async attempt(): Promise<void> {
    const order = this.method === null ? METHODS : [this.method, ...METHODS.filter((m) => m !== this.method)]
    const reasons: string[] = []
    for (const m of order) {
      if (this.closed) return
      try {
        const { grants, lifetime, failed } = await (m === 'pcp' ? this.viaPcp() : m === 'natpmp' ? this.viaNatPmp() : this.viaUpnp())
        if (grants.length === 0) {
          reasons.push(...failed.map((f) => `${m}: ${f}`))
          continue
        }
        this.method = m
        this.grants = grants
        this.reasons = failed.map((f) => `${m}: ${f}`)
        this.lease = afterAttempt(this.lease, this.clock.now(), lifetime)
        return
      } catch (e) {
        reasons.push(`${m}: ${message(e)}`)
        if (m === 'upnp') this.igd = null
      }
    }
    this.grants = []
    this.reasons = reasons
    this.lease = afterAttempt(this.lease, this.clock.now(), null)
  }

  private natPmpTarget(tries?: number): NatPmpTarget {
    return { gateway: this.gateway!, ...(this.settings.natPmpPort !== undefined ? { port: this.settings.natPmpPort } : {}), ...(tries !== undefined ? { tries } : {}) }
  }

  private async findGateway(): Promise<void> {
    if (this.settings.gateway === false) throw new Error('off')
    this.gateway ??= this.settings.gateway ?? (await defaultGateway())
    if (this.gateway === null) throw new Error('no default gateway')
  }

  private async viaPcp(): Promise<{ grants: Grant[]; lifetime: number; failed: string[] }> {
    if (this.settings.pcp === false) throw new Error('off')
    await this.findGateway()
    // A gateway without PCP fails the first port: the others are not asked.
    return this.mapEach(async (w) => {
      const key = `${w.protocol}:${w.port}`
      const g = await pcpMap(this.natPmpTarget(3), w.protocol, w.port, this.policy.lease, this.nonces.get(key))
      this.nonces.set(key, g.nonce)
      this.address = g.externalAddress
      return { external: g.externalPort, lifetime: g.lifetime }
    }, true)
  }

  private async viaNatPmp(): Promise<{ grants: Grant[]; lifetime: number; failed: string[] }> {
    await this.findGateway()
    // A gateway that answers but will not tell its address (no external address yet, say) may still map.
    this.address = await natPmpExternalAddress(this.natPmpTarget()).catch((e: unknown) => {
      if (message(e).startsWith('gateway refused')) return null
      throw e
    })
    return this.mapEach(async (w) => {
      const g = await natPmpMap(this.natPmpTarget(), w.protocol, w.port, this.policy.lease)
      return { external: g.externalPort, lifetime: g.lifetime }
    })
  }

  private async viaUpnp(): Promise<{ grants: Grant[]; lifetime: number; failed: string[] }> {
    if (this.settings.upnp === false) throw new Error('off')
    if (this.igd === null) {
      const answer = await ssdpSearch(parseTarget(this.settings.ssdpTarget), 3000)
      this.igd = await findIgdService(answer.location)
    }
    const igd = this.igd
    this.address = await upnpExternalAddress(igd).catch(() => null)
    return this.mapEach(async (w) => ({
      external: w.port,
      lifetime: await upnpAddMapping(igd, w.protocol, w.port, this.policy.lease, this.settings.description ?? 'torrent-patron')
    }))
  }

  /** Map every wanted port with `map`; the grants, the shortest lease, and what failed. */
  private async mapEach(map: (w: WantedPort) => Promise<{ external: number; lifetime: number }>, firstFailsAll = false): Promise<{ grants: Grant[]; lifetime: number; failed: string[] }> {
    const grants: Grant[] = []
    const failed: string[] = []
    let lifetime = Infinity
    for (const w of [...this.wanted]) {
      if (this.closed) break
      try {
        const g = await map(w)
        grants.push({ ...w, external: g.external })
        // 0 is permanent: it never shortens the renewal of the others
        if (g.lifetime > 0) lifetime = Math.min(lifetime, g.lifetime)
      } catch (e) {
        if (firstFailsAll && grants.length === 0 && failed.length === 0) throw e
        failed.push(`${w.protocol} ${w.port}: ${message(e)}`)
      }
    }
    return { grants, lifetime: lifetime === Infinity ? 0 : lifetime, failed }
  }

  /**
   * Stop renewing and remove the mappings from the router, waiting at most
   * `waitMs` for it (a router that does not answer must not hold up the
   * engine's close; the lease then ends by itself). Idempotent.
   */
  async close(waitMs = 2000): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.firstDone()
    this.clock.clearTimeout(this.timer)
    let cap: NodeJS.Timeout | undefined
    const bounded = new Promise<void>((resolve) => {
      cap = setTimeout(resolve, waitMs)
      cap.unref()
    })
    const remove = async (): Promise<void> => {
      await this.running
      const grants = this.grants
      this.grants = []
      const igd = this.igd
      await Promise.allSettled(
        grants.map((g) =>
          this.method === 'pcp'
            ? pcpMap(this.natPmpTarget(3), g.protocol, g.port, 0, this.nonces.get(`${g.protocol}:${g.port}`))
            : this.method === 'natpmp'
            ? natPmpMap(this.natPmpTarget(3), g.protocol, g.port, 0)
            : igd !== null
              ? upnpDeleteMapping(igd, g.protocol, g.external)
              : Promise.resolve()
        )
      )
    }
    await Promise.race([remove(), bounded])
    clearTimeout(cap)
  }
}
