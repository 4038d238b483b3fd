/**
 * Which handshake to open an outgoing connection with: message stream
 * encryption (MSE/PE, the "obfuscated" handshake) or plain BitTorrent, by
 * libtorrent's three levels:
 *
 * - `disabled`: plaintext only.
 * - `enabled` (the default): obfuscated first; when the peer refuses it
 *   (closes or stays silent once the transport is up), plaintext at once; what
 *   completed is remembered per peer and tried first next time. A peer
 *   remembered as plaintext that then refuses plaintext goes back to the
 *   obfuscated handshake next time (it may have started to require it).
 * - `forced`: obfuscated only, never a plaintext retry.
 *
 * The payload: plaintext is preferred whenever both ends allow it (it keeps
 * the copy-free parser, and RC4 costs about 10 CPU s per GiB in JavaScript:
 * bittorrent-protocol's RC4 is JavaScript, as OpenSSL 3 keeps RC4 in its
 * legacy provider). So the first obfuscated opening offers plaintext payload
 * only ('obfuscated'). A peer that answers the key exchange and then closes
 * refused that offer (it requires RC4, as Transmission with `"encryption": 2`
 * or aria2c with `--bt-require-crypto` do): the retry, at once, offers RC4 as
 * well ('obfuscated-rc4'), and that is remembered for the peer. Offering both
 * from the start, as libtorrent does, would let a peer that merely prefers RC4
 * (Transmission's default) pick it. A peer that closes before answering the
 * key exchange does not speak MSE, and gets plaintext. A failure to reach the
 * peer at all (the connection refused or timed out) says nothing about
 * encryption and changes nothing here.
 *
 * Pure: no clock, no I/O; the memory is bounded (least recently used first out).
 *
 * @internal
 * @module
 */

/**
 * Outgoing encryption level (libtorrent's `out_enc_policy`).
 *
 * @example
 * ```ts
 * const level: EncryptionLevel = 'enabled'
 * ```
 */
export type EncryptionLevel = 'disabled' | 'enabled' | 'forced'

/**
 * How a connection's payload travels, by what its opening negotiated (on
 * either side): `'rc4'` = MSE handshake and RC4-encrypted payload,
 * `'obfuscated'` = MSE handshake and plaintext payload (libtorrent's
 * "plaintext encrypted"), `'none'` = plain BitTorrent handshake.
 *
 * @example
 * ```ts
 * const encrypted = (peers: { encryption: PeerEncryption }[]) => peers.filter((p) => p.encryption === 'rc4').length
 * ```
 */
export type PeerEncryption = 'rc4' | 'obfuscated' | 'none'

/**
 * The handshake an attempt opens with: MSE offering plaintext payload only,
 * MSE offering RC4 as well, or plain BitTorrent.
 */
export type Handshake = 'obfuscated' | 'obfuscated-rc4' | 'plaintext'

/**
 * Where an attempt failed: reaching the peer; in the handshake once the
 * transport was up; or after the peer answered the MSE key exchange (it
 * refused the payload methods offered).
 */
export type FailureStage = 'connect' | 'handshake' | 'payload-offer'

/** Peers remembered by default. */
export const MSE_MEMORY = 10_000

/** bittorrent-protocol's `peEnabled` for a handshake: 0 = none, 1 = MSE (the payload offer is set by the opening). */
export const peEnabledFor = (h: Handshake): 0 | 1 => (h === 'plaintext' ? 0 : 1)

/**
 * Per-peer memory of what handshake worked, and the decision of what to try.
 *
 * @example
 * ```ts
 * const mse = new MsePolicy('enabled')
 * let h = mse.first('198.51.100.7:6881')            // 'obfuscated'
 * const retry = mse.failed('198.51.100.7:6881', h, 'handshake') // 'plaintext'
 * if (retry) mse.succeeded('198.51.100.7:6881', retry)
 * mse.first('198.51.100.7:6881')                    // 'plaintext'
 * ```
 */
export class MsePolicy {
  private readonly worked = new Map<string, Handshake>()

  constructor (
    readonly level: EncryptionLevel = 'enabled',
    private readonly capacity = MSE_MEMORY
  ) {}

  /** The handshake to open a new connection to `peer` (host:port) with. */
  first (peer: string): Handshake {
    if (this.level === 'disabled') return 'plaintext'
    const known = this.worked.get(peer)
    if (this.level === 'forced') return known === 'obfuscated-rc4' ? known : 'obfuscated'
    return known ?? 'obfuscated'
  }

  /**
   * An attempt with `tried` failed at `stage`: the handshake to retry with at
   * once, or null for none (the ordinary redial back-off applies).
   */
  failed (peer: string, tried: Handshake, stage: FailureStage): Handshake | null {
    if (stage === 'connect' || this.level === 'disabled') return null
    if (stage === 'payload-offer' && tried === 'obfuscated') {
      this.remember(peer, 'obfuscated-rc4')
      return 'obfuscated-rc4'
    }
    if (this.level === 'forced') return null
    if (tried !== 'plaintext') {
      this.remember(peer, 'plaintext')
      return 'plaintext'
    }
    this.worked.delete(peer)
    return null
  }

  /** A handshake completed with `used`: try it first next time. */
  succeeded (peer: string, used: Handshake): void {
    if (this.level === 'enabled' || (this.level === 'forced' && used !== 'plaintext')) this.remember(peer, used)
  }

  /** Peers remembered (for stats and tests). */
  get size (): number {
    return this.worked.size
  }

  private remember (peer: string, h: Handshake): void {
    this.worked.delete(peer)
    this.worked.set(peer, h)
    if (this.worked.size > this.capacity) {
      const oldest = this.worked.keys().next().value
      if (oldest !== undefined) this.worked.delete(oldest)
    }
  }
}

/**
 * Parse a level from configuration text; undefined when it is not one.
 *
 * @example
 * ```ts
 * parseEncryptionLevel('forced') // 'forced'
 * parseEncryptionLevel('yes')    // undefined
 * ```
 */
export const parseEncryptionLevel = (s: string): EncryptionLevel | undefined =>
  s === 'disabled' || s === 'enabled' || s === 'forced' ? s : undefined
