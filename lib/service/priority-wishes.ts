/**
 * File priorities of co-owned torrents: each owner's wishes, and the
 * priority the engine applies, which is the highest any owner asks for. An
 * owner that never named a file counts as wanting it `normal` (it asked for
 * the whole torrent), so one owner's `skip` holds only while it is alone,
 * and no owner can take a file away from another. When an owner leaves, its
 * wishes go and the files fall back to what the others want.
 *
 * libtorrent keeps one priority per file and the last call wins; here a
 * torrent is shared by patrons that do not know of each other (as with
 * CloseTorrent, which only ends one owner's share), so the wishes combine
 * instead.
 *
 * @module
 */
import type { FilePriority, PatronId, TorrentId } from '../messages.ts'

const RANK: Readonly<Record<FilePriority, number>> = { skip: 0, low: 1, normal: 2, high: 3 }
const BY_RANK: readonly FilePriority[] = ['skip', 'low', 'normal', 'high']

/** The priority words, lowest first (for checking untrusted commands). */
export const PRIORITY_WORDS: readonly string[] = BY_RANK

/** A priority the engine must apply. */
export interface EffectivePriority {
  /** The torrent. */
  readonly torrentid: TorrentId
  /** File index. */
  readonly file: number
  /** What the owners want together. */
  readonly priority: FilePriority
}

/**
 * The owners' wishes of every torrent.
 *
 * @example
 * ```ts
 * const w = new PriorityWishes()
 * w.join('t1', 1, [1], ['normal', 'skip']) // the creator: -> [{ torrentid: 't1', file: 1, priority: 'skip' }]
 * w.join('t1', 2, [1, 2])                  // a co-owner asking for everything: -> [{ ..., file: 1, priority: 'normal' }]
 * w.leave('t1', 2)                         // -> [{ ..., file: 1, priority: 'skip' }]
 * ```
 */
export class PriorityWishes {
  /** Per torrent, per owner: its wishes by file; every owner of a torrent with wishes is listed. */
  private readonly torrents = new Map<TorrentId, Map<PatronId, Map<number, FilePriority>>>()

  /**
   * An owner joins (`owners`: every owner now, itself included), asking for
   * `priorities` (by file index) or for everything; returns the priorities
   * that change for the engine. Costs nothing while no owner of the torrent
   * ever named a file.
   */
  join(t: TorrentId, owner: PatronId, owners: readonly PatronId[], priorities?: readonly FilePriority[]): EffectivePriority[] {
    if (!this.torrents.has(t) && (priorities === undefined || priorities.every((p) => p === 'normal'))) return []
    const before = this.effective(t)
    const wishes = this.record(t, owners, owner)
    priorities?.forEach((p, i) => wishes.set(i, p))
    return this.diff(t, before)
  }

  /** An owner (one of `owners`) asks for a priority; returns the priorities that change for the engine. */
  set(t: TorrentId, owner: PatronId, owners: readonly PatronId[], file: number, priority: FilePriority): EffectivePriority[] {
    const before = this.effective(t)
    this.record(t, owners, owner).set(file, priority)
    return this.diff(t, before)
  }

  /** An owner leaves; returns the priorities that change for the engine (none once the last owner is gone). */
  leave(t: TorrentId, owner: PatronId): EffectivePriority[] {
    const owners = this.torrents.get(t)
    if (owners === undefined || !owners.has(owner)) return []
    const before = this.effective(t)
    owners.delete(owner)
    if (owners.size === 0) {
      this.torrents.delete(t)
      return []
    }
    return this.diff(t, before)
  }

  /** What the engine applies for each file any owner named (others are normal). */
  effective(t: TorrentId): Map<number, FilePriority> {
    const out = new Map<number, FilePriority>()
    const owners = this.torrents.get(t)
    if (owners === undefined) return out
    const files = new Set<number>()
    for (const w of owners.values()) for (const f of w.keys()) files.add(f)
    for (const f of files) {
      let rank = 0
      for (const w of owners.values()) rank = Math.max(rank, RANK[w.get(f) ?? 'normal'])
      out.set(f, BY_RANK[rank]!)
    }
    return out
  }

  /** Forgets everything (the engine session is over). */
  clear(): void {
    this.torrents.clear()
  }

  /** Torrents with recorded owners (diagnostics). */
  size(): number {
    return this.torrents.size
  }

  /** Makes sure every owner of `t` has an entry (those that never named a file want everything); returns `owner`'s. */
  private record(t: TorrentId, owners: readonly PatronId[], owner: PatronId): Map<number, FilePriority> {
    let all = this.torrents.get(t)
    if (all === undefined) this.torrents.set(t, (all = new Map()))
    for (const o of [...owners, owner]) if (!all.has(o)) all.set(o, new Map())
    return all.get(owner)!
  }

  private diff(t: TorrentId, before: Map<number, FilePriority>): EffectivePriority[] {
    const after = this.effective(t)
    const out: EffectivePriority[] = []
    const files = new Set([...before.keys(), ...after.keys()])
    for (const file of [...files].sort((a, b) => a - b)) {
      const was = before.get(file) ?? 'normal'
      const now = after.get(file) ?? 'normal'
      if (was !== now) out.push({ torrentid: t, file, priority: now })
    }
    return out
  }
}
