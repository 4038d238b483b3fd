/**
 * Who sent bad data. A piece with one sender that fails its hash strikes
 * that sender. A piece with several senders strikes nobody at first: each
 * block's hash is recorded with its sender, and once the piece passes
 * (re-downloaded), every sender whose recorded block differs from the good
 * one lied (libtorrent's "smart ban"). Enough strikes ban the sender.
 * A v2 piece does not wait for that: the true leaf hashes of the piece,
 * from a peer and proved against the piece hash (download/v2-blame.ts),
 * name the senders of the bad blocks at once.
 *
 * Pure bookkeeping: the caller hands in piece bytes and hears bans through
 * `onBan`.
 *
 * @internal
 * @module
 */
import { createHash } from 'node:crypto'
import type { PieceAttempt } from './assembly.ts'
import { soleRefetcher } from './refetch.ts'
import { lyingBlocks, pieceLeaves } from './v2-blame.ts'

/** Suspect records kept per piece; past it the oldest go (a piece failing over and over). */
export const MAX_SUSPECTS_PER_PIECE = 256

/** Recorded block of a piece that failed with several senders. */
interface SuspectBlock {
  readonly block: number
  /** Sender's address (the picker's peer id) and its ban key (peer id, else address). */
  readonly address: string
  readonly key: string
  /** SHA-1 (hex) of the block as that sender delivered it. */
  readonly hash: string
}

/** Construction options of {@link SmartBan}. */
export interface SmartBanOptions {
  /** The picker's side of a failed piece: it is missing again, maybe from one sender only. */
  readonly picker: { failed(piece: number): void; restrict(piece: number, peerId: string): void }
  /** May `address` re-download `piece` alone (connected, handshaken, has it)? */
  canRefetch(address: string, piece: number): boolean
  /** The torrent is closed: nothing more is recorded. */
  closed(): boolean
  /** Strikes before a sender is banned. */
  readonly banStrikes: number
  /** Block size of the piece layout (16384). */
  readonly blockSize: number
  /** A sender reached `banStrikes`: ban its peer id (`key`) and `address`. */
  readonly onBan: (key: string, address: string) => void
  /** A v2 torrent's block-level blame: the true leaves of a piece (null: nobody could say) and the bytes of it that are hashed. */
  readonly v2?: { leaves(piece: number): Promise<readonly Uint8Array[] | null>; bytes(piece: number): number } | undefined
}

/**
 * Strikes and suspects of one torrent.
 *
 * @example
 * ```ts
 * const ban = new SmartBan({ picker, canRefetch, closed, banStrikes: 2, blockSize: 16384, onBan: (id, addr) => book.ban(addr) })
 * ban.sender('10.0.0.2:6881', remoteId)
 * ban.soleFailure('10.0.0.2:6881')           // one strike
 * ```
 */
export class SmartBan {
  private readonly strikes = new Map<string, number>()
  /** Blocks of pieces that failed with several senders, until the piece passes. */
  private readonly suspects = new Map<number, SuspectBlock[]>()
  /** Ban key (peer id, else address) of every address that sent us a block, kept after it leaves. */
  private readonly keys = new Map<string, string>()

  constructor(private readonly opts: SmartBanOptions) {}

  /** `address` sent us a block; `remoteId` is its peer id when known. */
  sender(address: string, remoteId: string | null): void {
    if (!this.keys.has(address)) this.keys.set(address, remoteId ?? address)
  }

  /** Strikes counted against a peer id or an address. */
  strikesOf(key: string): number {
    return this.strikes.get(key) ?? 0
  }

  /** A failed piece had one sender: it is surely at fault. */
  soleFailure(address: string): void {
    this.strike(this.keyOf(address), address)
  }

  /** Does `piece` have suspect records waiting for its good copy? */
  suspected(piece: number): boolean {
    return this.suspects.has(piece)
  }

  /**
   * `piece` failed its hash. A sole sender is struck and the piece goes back
   * to the picker. With several senders the fault is unknown, so nobody is
   * struck now: each block's hash is recorded with its sender ({@link passed}
   * names the liar later), and only then (nothing can overwrite the bytes
   * before) the piece goes back, restricted to one sender alone, so the next
   * check names the liar at once. `done` runs once the picker has the piece again.
   */
  failed(piece: number, attempt: PieceAttempt, done: () => void): void {
    if (attempt.senders.size === 1) {
      this.opts.picker.failed(piece)
      for (const address of attempt.senders.keys()) this.soleFailure(address)
      return done()
    }
    attempt.data((data) => {
      if (this.opts.closed()) return
      if (data) {
        const records = this.sharedFailure(piece, attempt.from, data)
        if (this.opts.v2 !== undefined) this.blame(piece, attempt.from, pieceLeaves(data, this.opts.v2.bytes(piece)), records)
      }
      this.opts.picker.failed(piece)
      const only = soleRefetcher(attempt.senders, (address) => this.opts.canRefetch(address, piece))
      if (only !== undefined) this.opts.picker.restrict(piece, only)
      done()
    })
  }

  /** A piece with several senders failed: remember each block's sender (`from[block]`) and hash in `data`. */
  sharedFailure(piece: number, from: readonly (string | undefined)[], data: Uint8Array): readonly SuspectBlock[] {
    const list = this.suspects.get(piece) ?? []
    const added: SuspectBlock[] = []
    from.forEach((address, block) => {
      if (address === undefined) return
      added.push({ block, address, key: this.keyOf(address), hash: this.blockHash(data, block) })
    })
    list.push(...added)
    this.suspects.set(piece, list.slice(-MAX_SUSPECTS_PER_PIECE))
    return added
  }

  /**
   * v2: once the true leaves of the failed `piece` are known, strike the
   * sender of every block whose leaf (`failed`) differs; the attempt's
   * records are then settled and dropped, so a later pass strikes nobody twice.
   */
  private blame(piece: number, from: readonly (string | undefined)[], failed: readonly Uint8Array[], records: readonly SuspectBlock[]): void {
    void this.opts.v2?.leaves(piece).then((truth) => {
      if (truth === null || this.opts.closed()) return
      const liars = new Map<string, string>()
      for (const block of lyingBlocks(failed, truth)) {
        const address = from[block]
        if (address !== undefined) liars.set(this.keyOf(address), address)
      }
      // No leaf differs: the fault is in a hybrid's pad bytes (SHA-1 covers them, the tree does not); the v1 path judges it.
      const list = liars.size > 0 ? this.suspects.get(piece) : undefined
      if (list !== undefined) {
        const left = list.filter((r) => !records.includes(r))
        if (left.length > 0) this.suspects.set(piece, left)
        else this.suspects.delete(piece)
      }
      for (const [key, address] of liars) this.strike(key, address)
    }, () => {})
  }

  /**
   * `piece` passed with bytes `data` (null: they could not be read): strike
   * once every sender whose recorded block differs. Honest senders of the
   * failed attempts are never struck.
   */
  passed(piece: number, data: Uint8Array | null): void {
    const records = this.suspects.get(piece)
    this.suspects.delete(piece)
    if (records === undefined || data === null) return
    const good = new Map<number, string>()
    const liars = new Map<string, string>()
    for (const r of records) {
      let h = good.get(r.block)
      if (h === undefined) good.set(r.block, (h = this.blockHash(data, r.block)))
      if (h !== r.hash) liars.set(r.key, r.address)
    }
    for (const [key, address] of liars) this.strike(key, address)
  }

  private keyOf(address: string): string {
    return this.keys.get(address) ?? address
  }

  /** One strike against a sender, by peer id and by address; banned at `banStrikes`. */
  private strike(key: string, address: string): void {
    let worst = 0
    for (const k of new Set([key, address])) {
      const s = (this.strikes.get(k) ?? 0) + 1
      this.strikes.set(k, s)
      worst = Math.max(worst, s)
    }
    if (worst >= this.opts.banStrikes) this.opts.onBan(key, address)
  }

  private blockHash(data: Uint8Array, block: number): string {
    const size = this.opts.blockSize
    return createHash('sha1').update(data.subarray(block * size, (block + 1) * size)).digest('hex')
  }
}
