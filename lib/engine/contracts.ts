/**
 * The small interfaces that keep the engine's parts apart: metainfo, storage,
 * piece picking and hashing are each built and tested alone against these,
 * and the torrent controller only ever talks to them through these shapes.
 *
 * @module
 */
import type { TorrentStats } from '../messages.ts'

/**
 * One file of a torrent, with its place in the torrent's byte space.
 *
 * @example
 * ```ts
 * // photos/b.jpg, stored right after a 1 MiB photos/a.jpg
 * const file: FileEntry = { path: ['photos', 'b.jpg'], length: 524_288, offset: 1_048_576, pad: false }
 * ```
 */
export interface FileEntry {
  /** Safe path components below the save folder, the torrent's name first (validated: no `..`, no separators, no NUL). */
  readonly path: readonly string[]
  /** Size in bytes. */
  readonly length: number
  /** Offset of the file's first byte in the torrent's concatenated data. */
  readonly offset: number
  /** BEP 47 pad file: never written to disk, reads as zeros. */
  readonly pad: boolean
}

/**
 * A parsed and validated v1 torrent.
 *
 * @example
 * ```ts
 * const r = await parseMetainfo(await readFile('photos.torrent'))
 * if (r.ok) {
 *   const m: Metainfo = r.value
 *   console.log(m.name, m.infoHash, m.pieceCount, m.files.filter((f) => !f.pad).length)
 * }
 * ```
 */
export interface Metainfo {
  /** Hex v1 info hash (40 lowercase hex chars); for a v2-only torrent, the first 20 bytes of its v2 hash. */
  readonly infoHash: string
  /** The same info hash as 20 raw bytes. */
  readonly infoHashBytes: Uint8Array
  /** The torrent's suggested name (the file name of a single-file torrent). */
  readonly name: string
  /** Bytes per piece (a power of two), the last piece excepted. */
  readonly pieceLength: number
  /** Bytes in the last piece. */
  readonly lastPieceLength: number
  /** Number of pieces. */
  readonly pieceCount: number
  /** Total bytes, pad files included. */
  readonly length: number
  /** All piece hashes concatenated, 20 bytes each. */
  readonly pieceHashes: Uint8Array
  /** Files in torrent order, pad files included. */
  readonly files: readonly FileEntry[]
  /** Tracker URLs, tiers flattened in order, duplicates removed. */
  readonly announce: readonly string[]
  /** BEP 19 web seed URLs (`url-list`; http and https only). */
  readonly urlList: readonly string[]
  /** BEP 27 private flag: no DHT, no PEX. */
  readonly private: boolean
  /** The bencoded info dictionary, as served by ut_metadata (BEP 9). */
  readonly infoBytes: Uint8Array
  /**
   * Which BitTorrent versions the torrent speaks (BEP 52): `v1` when absent.
   * A `v2` torrent's {@link Metainfo.infoHash} is the first 20 bytes of its
   * SHA-256 info hash (what the handshake, trackers and the DHT use), and its
   * {@link Metainfo.pieceHashes} is empty: its pieces verify against merkle roots.
   */
  readonly version?: 'v1' | 'v2' | 'hybrid'
  /** The v2 half of a `v2` or `hybrid` torrent. */
  readonly v2?: MetainfoV2
  /** Bytes of the files themselves: {@link Metainfo.length} without pad files. */
  readonly fileBytes?: number
}

/**
 * One file of a v2 (or hybrid) torrent: every file starts on a piece boundary.
 *
 * @example
 * ```ts
 * const f: V2File = { path: ['album', 'b.flac'], length: 70_000, offset: 262_144, root, firstPiece: 4, pieceCount: 2 }
 * ```
 */
export interface V2File {
  /** Path below the save folder, the torrent's name first (as in {@link FileEntry}). */
  readonly path: readonly string[]
  /** Size in bytes. */
  readonly length: number
  /** Offset of the file's first byte in the torrent's byte space (a multiple of the piece length). */
  readonly offset: number
  /** The file's 32-byte merkle root (`pieces root`); null for an empty file or a symlink. */
  readonly root: Uint8Array | null
  /** Index of the file's first piece. */
  readonly firstPiece: number
  /** Pieces the file covers (0 for an empty file). */
  readonly pieceCount: number
}

/**
 * The v2 half of a torrent (BEP 52).
 *
 * @example
 * ```ts
 * const r = await parseMetainfo(await readFile('hybrid.torrent'))
 * if (r.ok && r.value.v2 !== undefined) console.log(r.value.v2.infoHash, r.value.v2.files.length)
 * ```
 */
export interface MetainfoV2 {
  /** Hex SHA-256 of the info dictionary (64 lowercase hex chars). */
  readonly infoHash: string
  /** The same 32 bytes. */
  readonly infoHashBytes: Uint8Array
  /** Real files in torrent order (no pad entries). */
  readonly files: readonly V2File[]
  /**
   * Piece layers by hex pieces root, each checked against its root: one 32-byte
   * hash per piece, for files longer than one piece. A missing layer comes from peers.
   */
  readonly pieceLayers: ReadonlyMap<string, Uint8Array>
}

/**
 * Outcome of parsing untrusted metainfo: never throws.
 *
 * @example
 * ```ts
 * const r: ParseResult<Magnet> = parseMagnet(link)
 * console.log(r.ok ? r.value.infoHash : r.reason)
 * ```
 */
export type ParseResult<T> =
  | {
      /** Parsing succeeded. */
      readonly ok: true
      /** The parsed value. */
      readonly value: T
    }
  | {
      /** Parsing failed. */
      readonly ok: false
      /** Why it was refused, in words a user can act on. */
      readonly reason: string
    }

/**
 * A parsed magnet URI (BEP 9).
 *
 * @example
 * ```ts
 * const magnet: Magnet = {
 *   infoHash: 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a',
 *   name: 'demo',
 *   announce: ['udp://127.0.0.1:6969'],
 *   peers: ['127.0.0.1:6881']
 * }
 * ```
 */
export interface Magnet {
  /** Hex v1 info hash (40 lowercase hex chars); for a v2-only magnet, the first 20 bytes of its v2 hash. */
  readonly infoHash: string
  /** Hex v2 info hash (64 chars) from `xt=urn:btmh:1220...` (BEP 52), when the magnet has one. */
  readonly infoHashV2?: string
  /** The torrent's suggested name (the file name of a single-file torrent). */
  readonly name?: string
  /** Tracker URLs. */
  readonly announce: readonly string[]
  /** `x.pe` peer hints as host:port. */
  readonly peers: readonly string[]
  /** `ws` BEP 19 web seed URLs (http and https only). */
  readonly webSeeds?: readonly string[]
}

/**
 * Where a torrent's bytes live. Offsets are in the torrent's byte space;
 * the storage maps them onto files (a block may span several files) and
 * skips pad files.
 */
export interface Storage {
  /** Write bytes at a torrent offset (positional; spans files). */
  write(offset: number, data: Uint8Array): Promise<void>
  /** Read bytes at a torrent offset; missing file regions read as zeros. */
  read(offset: number, length: number): Promise<Uint8Array>
  /**
   * Optional: read `target.length` bytes at a torrent offset into the
   * caller's buffer (every byte of it is overwritten). Lets an uploader
   * recycle its read buffers instead of allocating one per read.
   */
  readInto?(offset: number, target: Uint8Array): Promise<Uint8Array>
  /** Size and mtime (ms) of each non-pad file, or null if absent. Used by resume. */
  stat(): Promise<ReadonlyArray<{ size: number; mtimeMs: number } | null>>
  /** Flush and close every open file handle. Idempotent. */
  close(): Promise<void>
  /**
   * Optional: file `file` (metainfo index) is wanted, so its bytes belong in
   * its own file, or skipped, so they stay out of the save folder (see
   * disk/selective-storage.ts). Storages without it write every file.
   */
  setWanted?(file: number, wanted: boolean): Promise<void>
}

/** Per-call options of a {@link Hasher}. */
export interface HashOptions {
  /**
   * Optional capability: the hasher may take ownership of each chunk that
   * owns its whole ArrayBuffer and move it to another thread (zero-copy);
   * the caller's chunk is detached (length 0) afterwards. Chunks that are
   * views into a larger buffer are always copied. A hasher without threads
   * ignores it (the chunk stays usable).
   */
  readonly transfer?: boolean
  /**
   * With `transfer`: receives each moved chunk back once hashed (same bytes, usable again),
   * so a reader can recycle its buffers instead of allocating (and page-faulting) new ones.
   */
  readonly giveBack?: (chunk: Uint8Array) => void
}

/** Verifies piece data against the metainfo's hashes (possibly off the main thread). */
export interface Hasher {
  /** SHA-1 of the concatenation of `chunks`, compared to the expected 20-byte digest. */
  verify(chunks: readonly Uint8Array[], expected: Uint8Array, opts?: HashOptions): Promise<boolean>
  /**
   * Optional: BEP 52 (v2) verification, the SHA-256 merkle root of the first
   * `bytes` of `data` over `width` 16 KiB leaves compared to `expected`.
   * Without it, v2 pieces are hashed on the calling thread.
   */
  verifyMerkle?(data: Uint8Array, bytes: number, width: number, expected: Uint8Array, opts?: HashOptions): Promise<boolean>
  close(): Promise<void>
}

/** One 16 KiB (or shorter, at the end) block request. */
export interface BlockRequest {
  /** Piece index. */
  readonly piece: number
  /** Byte offset. */
  readonly offset: number
  /** Size in bytes. */
  readonly length: number
}

/**
 * The latest word from one tracker, for a torrent's stats: an entry of
 * `TorrentStats.trackers` (lib/messages.ts).
 *
 * @example
 * ```ts
 * const note: TrackerNote = { url: 'udp://[::1]:6969', state: 'failing', error: 'no answer from the tracker at [::1]:6969', next: Date.now() + 20_000 }
 * ```
 */
export type TrackerNote = NonNullable<TorrentStats['trackers']>[number]

/** A torrent's announces to its trackers, whichever client speaks to them. */
export interface TrackerSession {
  /** The download completed: announce `completed`. */
  completed(): void
  /** Ask for more peers soon (within each tracker's `min interval`). */
  update(): void
  /** Each tracker's latest state, in announce order. */
  notes(): TrackerNote[]
  /** Announce `stopped` and release sockets and timers; resolves within about a second. */
  stop(): Promise<void>
}

/** What a torrent gives its tracker client. */
export interface TrackerSessionOptions {
  /** Hex info hash (40 chars). */
  readonly infoHash: string
  /** Our peer id, hex. */
  readonly peerId: string
  /** Announce URLs in order (tiers flattened). */
  readonly announce: readonly string[]
  /** Our listening port. */
  readonly port: number
  /** The port trackers should give out, when a port mapping knows it (null: use `port`). */
  readonly externalPort?: () => number | null
  /** Our external address, sent as `ip` (null: the tracker uses the source address). */
  readonly externalIp?: () => string | null
  /** Transfer totals for the announce. */
  readonly stats: () => { uploaded: number; downloaded: number; left: number }
  /** A peer a tracker gave. */
  readonly onPeer: (host: string, port: number) => void
  /** A tracker's seed and leecher counts. */
  readonly onCounts?: (seeds: number, leechers: number) => void
  /** A failed announce, a tracker's warning, or a malformed part of an answer, with the tracker's URL. */
  readonly onWarning?: (message: string) => void
  /** A tracker's note changed (worth a status update). */
  readonly onNote?: () => void
}

/**
 * Starts a torrent's tracker session: the seam through which a torrent gets
 * its tracker client (the engine's own by default).
 *
 * @example
 * ```ts
 * const start: StartTrackers = (o) => ({ completed() {}, update() {}, notes: () => [], stop: async () => {} })
 * ```
 */
export type StartTrackers = (options: TrackerSessionOptions) => TrackerSession
