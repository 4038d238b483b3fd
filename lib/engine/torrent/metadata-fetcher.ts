/**
 * Fetches a torrent's info dictionary (BEP 9) from whichever connected peers
 * have it, and trusts nothing until the SHA-1 of the whole equals the infohash.
 *
 * Pieces are first spread over all peers (fast). If the whole fails its hash,
 * we cannot tell which peer lied, so the fetcher falls back to taking every
 * piece from one peer at a time: a peer whose own complete copy fails is
 * reported bad and never asked again. Once a copy verifies, peers whose pieces
 * of an earlier failed attempt differ from it are reported bad as well.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { metadataPieceCount, utMetadataOf, type UtMetadata } from '../wire/ut-metadata.ts'

/** Options of {@link createMetadataFetcher}. */
export interface MetadataFetcherOptions {
  /** The infohash (20 bytes, or 40 hex chars) the info dictionary must hash to. */
  readonly infoHash: Uint8Array | string
  /** A v2-only torrent's SHA-256 info hash (64 hex chars): the info dictionary must hash to it instead (its first 20 bytes are `infoHash`). */
  readonly infoHashV2?: string
  /** Give up on a piece request after this long and ask elsewhere (default 10 s). */
  readonly requestTimeoutMs?: number
  /** Requests in flight per peer (default 8; info dicts are mostly 1 to 50 pieces). */
  readonly maxInFlightPerPeer?: number
  /** Called once per peer found to send wrong metadata: the caller should drop that peer. */
  readonly onBadPeer?: (wire: object, reason: string) => void
}

/** Collects an info dictionary from peers; see {@link createMetadataFetcher}. */
export interface MetadataFetcher {
  /**
   * Use this wire (which must carry `wire.use(utMetadata(...))`) as a source.
   * Returns false if the wire has no ut_metadata extension or was reported bad.
   */
  add(wire: object): boolean
  /** The wire is gone: its pending requests go to other peers. */
  remove(wire: object): void
  /** Resolves with the verified bencoded info dictionary; rejects only on {@link MetadataFetcher.destroy}. */
  readonly metadata: Promise<Uint8Array>
  /** Wires added and not removed or reported bad. */
  readonly peerCount: number
  /** Stop: cancel timers, detach from wires, reject `metadata` if still pending. */
  destroy(reason?: string): void
}

interface Source {
  readonly wire: object
  readonly ext: UtMetadata
  readonly rejected: Set<number>
  inFlight: number
  readonly detach: () => void
}

// Dense, not `new Array(n)`: every() and find() skip holes.
const emptySlots = <T>(n: number): Array<T | undefined> => Array.from({ length: n }, () => undefined)

interface InFlight { readonly source: Source; readonly timer: NodeJS.Timeout }

/**
 * Create a fetcher for one infohash.
 *
 * @example
 * const fetcher = createMetadataFetcher({ infoHash, onBadPeer: (wire) => (wire as Wire).destroy() })
 * wire.use(utMetadata({ info: null }))
 * fetcher.add(wire)                            // for every connected wire
 * const info = await fetcher.metadata          // verified bencoded info dict
 * const meta = metainfoFromInfoBytes(info, { announce, urlList: [] })
 */
export function createMetadataFetcher (opts: MetadataFetcherOptions): MetadataFetcher {
  const expected = opts.infoHashV2?.toLowerCase() ?? (typeof opts.infoHash === 'string' ? opts.infoHash.toLowerCase() : Buffer.from(opts.infoHash).toString('hex'))
  const algorithm = opts.infoHashV2 === undefined ? 'sha1' : 'sha256'
  const timeoutMs = opts.requestTimeoutMs ?? 10_000
  const perPeer = opts.maxInFlightPerPeer ?? 8

  const sources = new Map<object, Source>()
  const bad = new WeakSet<object>()
  let size: number | null = null
  let pieces: Array<{ bytes: Uint8Array; from: Source } | undefined> = []
  const inFlight = new Map<number, InFlight>()
  // After a failed spread attempt: one source at a time, and what the failed attempt got, to judge later.
  let single: Source | null = null
  let singleMode = false
  let suspects: Array<{ bytes: Uint8Array; wire: object } | undefined> = []
  let done = false
  let retryTimer: NodeJS.Timeout | null = null

  let resolve!: (b: Uint8Array) => void
  let reject!: (e: Error) => void
  const metadata = new Promise<Uint8Array>((res, rej) => { resolve = res; reject = rej })
  // A caller that only destroys must not see an unhandled rejection.
  metadata.catch(() => {})

  const usable = (s: Source): boolean => !bad.has(s.wire) && s.ext.peerMetadataSize !== null &&
    (size === null || s.ext.peerMetadataSize === size)

  function reportBad (s: Source, reason: string): void {
    if (bad.has(s.wire)) return
    bad.add(s.wire)
    dropSource(s)
    opts.onBadPeer?.(s.wire, reason)
  }

  function dropSource (s: Source): void {
    s.detach()
    sources.delete(s.wire)
    for (const [piece, f] of inFlight) if (f.source === s) release(piece)
    if (single === s) single = null
  }

  function release (piece: number): void {
    const f = inFlight.get(piece)
    if (f === undefined) return
    clearTimeout(f.timer)
    f.source.inFlight--
    inFlight.delete(piece)
  }

  function chooseSize (): void {
    // Keep the current size while anyone still offers it; else take the next offered size.
    if (size !== null && [...sources.values()].some(usable)) return
    const next = [...sources.values()].find(s => !bad.has(s.wire) && s.ext.peerMetadataSize !== null)
    const newSize = next?.ext.peerMetadataSize ?? null
    if (newSize !== size) {
      for (const p of [...inFlight.keys()]) release(p)
      size = newSize
      pieces = size === null ? [] : emptySlots(metadataPieceCount(size))
      suspects = []
      single = null
    }
  }

  function pump (): void {
    if (done) return
    chooseSize()
    if (size === null) return
    const count = pieces.length
    let candidates = [...sources.values()].filter(usable)
    if (singleMode) {
      if (single === null || !usable(single) || single.rejected.size > 0) {
        // A new sole source starts from scratch so that a failure names exactly one peer.
        single = candidates.find(c => c.rejected.size === 0) ?? null
        for (const p of [...inFlight.keys()]) release(p)
        pieces = emptySlots(count)
      }
      candidates = single === null ? [] : [single]
    }
    for (let piece = 0; piece < count; piece++) {
      if (pieces[piece] !== undefined || inFlight.has(piece)) continue
      const s = candidates
        .filter(c => c.inFlight < perPeer && !c.rejected.has(piece))
        .sort((a, b) => a.inFlight - b.inFlight)[0]
      if (s === undefined) continue
      s.inFlight++
      const timer = setTimeout(() => {
        // A silent peer counts as refusing that piece, so another one gets asked.
        s.rejected.add(piece)
        release(piece)
        pump()
      }, timeoutMs)
      timer.unref()
      inFlight.set(piece, { source: s, timer })
      s.ext.request(piece)
    }
    // Everyone refused what is missing (peers rate-limit, or just got the metadata themselves):
    // forget the refusals after a while and ask again, rather than stall until a new peer comes.
    if (inFlight.size === 0 && retryTimer === null && sources.size > 0 && pieces.some(p => p === undefined)) {
      retryTimer = setTimeout(() => {
        retryTimer = null
        for (const src of sources.values()) src.rejected.clear()
        pump()
      }, timeoutMs)
      retryTimer.unref()
    }
  }

  function onData (s: Source, piece: number, bytes: Uint8Array): void {
    if (done) return
    const f = inFlight.get(piece)
    if (f === undefined || f.source !== s || s.ext.peerMetadataSize !== size) return // unsolicited: ignore
    release(piece)
    pieces[piece] = { bytes, from: s }
    if (pieces.every(p => p !== undefined)) verify()
    else pump()
  }

  function verify (): void {
    const got = pieces as Array<{ bytes: Uint8Array; from: Source }>
    const whole = Buffer.concat(got.map(p => p.bytes))
    const hash = createHash(algorithm).update(whole).digest('hex')
    if (hash === expected) {
      done = true
      // Contributors to an earlier failed attempt whose bytes differ from the truth lied.
      suspects.forEach((p, i) => {
        if (p !== undefined && !Buffer.from(p.bytes).equals(got[i]!.bytes)) {
          const s = sources.get(p.wire)
          if (s !== undefined) reportBad(s, 'sent ut_metadata that does not match the infohash')
          else if (!bad.has(p.wire)) { bad.add(p.wire); opts.onBadPeer?.(p.wire, 'sent ut_metadata that does not match the infohash') }
        }
      })
      cleanup()
      resolve(new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength))
      return
    }
    const contributors = new Set(got.map(p => p.from))
    if (contributors.size === 1) {
      reportBad([...contributors][0]!, 'ut_metadata hash mismatch')
    } else {
      suspects = got.map(p => ({ bytes: p.bytes, wire: p.from.wire }))
      singleMode = true
    }
    pieces = emptySlots(pieces.length)
    pump()
  }

  function cleanup (): void {
    if (retryTimer !== null) clearTimeout(retryTimer)
    retryTimer = null
    for (const p of [...inFlight.keys()]) release(p)
    for (const s of sources.values()) s.detach()
    sources.clear()
  }

  return {
    metadata,
    get peerCount () { return sources.size },
    add (wire) {
      if (done || bad.has(wire) || sources.has(wire)) return !done && sources.has(wire)
      const ext = utMetadataOf(wire)
      if (ext === null) return false
      const onSize = (): void => pump()
      const onDataEv = (piece: number, bytes: Uint8Array): void => onData(source, piece, bytes)
      const onReject = (piece: number): void => {
        const f = inFlight.get(piece)
        if (f === undefined || f.source !== source) return
        source.rejected.add(piece)
        release(piece)
        pump()
      }
      const source: Source = {
        wire,
        ext,
        rejected: new Set(),
        inFlight: 0,
        detach: () => {
          ext.off('size', onSize)
          ext.off('data', onDataEv)
          ext.off('reject', onReject)
        }
      }
      ext.on('size', onSize)
      ext.on('data', onDataEv)
      ext.on('reject', onReject)
      sources.set(wire, source)
      pump()
      return true
    },
    remove (wire) {
      const s = sources.get(wire)
      if (s === undefined) return
      dropSource(s)
      pump()
    },
    destroy (reason = 'metadata fetch cancelled') {
      if (done) return
      done = true
      cleanup()
      reject(new Error(reason))
    }
  }
}
