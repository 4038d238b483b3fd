/**
 * File priorities of co-owned torrents: each owner's wishes, and the
 * priority the engine applies, which is the highest any owner asks for. An
 * owner that never named a file counts as wanting it `normal` (it asked for
 * the whole torrent; or what its creation's `otherFiles` says), so one
 * owner's `skip` holds only while it is alone,
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
  /** File index, or `'others'`: the files no priority names. */
  readonly file: number | 'others'
  /** What the owners want together. */
  readonly priority: FilePriority
}

/** One owner's wishes: by file, and for the files it did not name. */
interface Wish {
  readonly files: Map<number, FilePriority>
  others: FilePriority
}

/** The owners' wishes of one torrent, and every file any of them ever named (what the engine may hold a priority for). */
interface TorrentWishes {
  readonly owners: Map<PatronId, Wish>
  readonly named: Set<number>
}

/** What the engine applies: each named file's priority, and the others'. */
interface Effective {
  readonly files: Map<number, FilePriority>
  readonly others: FilePriority
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
  private readonly torrents = new Map<TorrentId, TorrentWishes>()

  /**
   * An owner joins (`owners`: every owner now, itself included), asking for
   * `priorities` (by file index) and `others` for the files past them (or
   * for everything); returns the priorities that change for the engine.
   * Costs nothing while no owner of the torrent named a file or changed its others.
   */
  join(t: TorrentId, owner: PatronId, owners: readonly PatronId[], priorities?: readonly FilePriority[], others: FilePriority = 'normal'): EffectivePriority[] {
    if (!this.concerns(t, priorities, others)) return []
    const before = this.effective(t)
    const wish = this.record(t, owners, owner)
    wish.others = others
    priorities?.forEach((p, i) => this.name(t, wish, i, p))
    return this.diff(t, before)
  }

  /**
   * False when an owner joining `t` with these wishes changes nothing (no
   * owner of `t` wished anything and this one wants everything `normal`), so
   * that the caller may skip {@link PriorityWishes.join} and what it takes.
   */
  concerns(t: TorrentId, priorities?: readonly FilePriority[], others: FilePriority = 'normal'): boolean {
    // A file named `normal` is still named: it keeps `normal` if the owner's others change later.
    return this.torrents.has(t) || others !== 'normal' || (priorities !== undefined && priorities.length > 0)
  }

  /** An owner (one of `owners`) asks for a priority; returns the priorities that change for the engine. */
  set(t: TorrentId, owner: PatronId, owners: readonly PatronId[], file: number | 'others', priority: FilePriority): EffectivePriority[] {
    const before = this.effective(t)
    const wish = this.record(t, owners, owner)
    if (file === 'others') wish.others = priority
    else this.name(t, wish, file, priority)
    return this.diff(t, before)
  }

  /** The priority the engine applies to `file` of `t` (`normal` when no owner named anything). */
  priorityOf(t: TorrentId, file: number | 'others'): FilePriority {
    const e = this.effective(t)
    return file === 'others' ? e.others : (e.files.get(file) ?? e.others)
  }

  /**
   * The engine has no file `file` in `t`: forgets every owner's wish for it
   * and returns the owners that had one, with what each asked for.
   */
  drop(t: TorrentId, file: number): Array<{ readonly owner: PatronId; readonly priority: FilePriority }> {
    const tw = this.torrents.get(t)
    if (tw === undefined) return []
    const askers: Array<{ owner: PatronId; priority: FilePriority }> = []
    for (const [owner, w] of tw.owners) {
      const p = w.files.get(file)
      if (p === undefined) continue
      askers.push({ owner, priority: p })
      w.files.delete(file)
    }
    tw.named.delete(file)
    return askers
  }

  /** An owner leaves; returns the priorities that change for the engine (none once the last owner is gone). */
  leave(t: TorrentId, owner: PatronId): EffectivePriority[] {
    const tw = this.torrents.get(t)
    if (tw === undefined || !tw.owners.has(owner)) return []
    const before = this.effective(t)
    tw.owners.delete(owner)
    if (tw.owners.size === 0) {
      this.torrents.delete(t)
      return []
    }
    return this.diff(t, before)
  }

  /** What the engine applies: for each file ever named, the highest wish (an owner's unnamed files count as its `others`). */
  effective(t: TorrentId): Effective {
    const files = new Map<number, FilePriority>()
    const tw = this.torrents.get(t)
    if (tw === undefined) return { files, others: 'normal' }
    let others = 0
    for (const w of tw.owners.values()) others = Math.max(others, RANK[w.others])
    for (const f of tw.named) {
      let rank = 0
      for (const w of tw.owners.values()) rank = Math.max(rank, RANK[w.files.get(f) ?? w.others])
      files.set(f, BY_RANK[rank]!)
    }
    return { files, others: BY_RANK[others]! }
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
  private record(t: TorrentId, owners: readonly PatronId[], owner: PatronId): Wish {
    let tw = this.torrents.get(t)
    if (tw === undefined) this.torrents.set(t, (tw = { owners: new Map(), named: new Set() }))
    for (const o of [...owners, owner]) if (!tw.owners.has(o)) tw.owners.set(o, { files: new Map(), others: 'normal' })
    return tw.owners.get(owner)!
  }

  private name(t: TorrentId, wish: Wish, file: number, p: FilePriority): void {
    wish.files.set(file, p)
    this.torrents.get(t)!.named.add(file)
  }

  /**
   * The engine commands from `before` to now. When the others' priority
   * changes it comes first, then every file ever named is restated: the
   * engine's `others` covers only files it holds no priority for.
   */
  private diff(t: TorrentId, before: Effective): EffectivePriority[] {
    const after = this.effective(t)
    const out: EffectivePriority[] = []
    const othersChanged = before.others !== after.others
    if (othersChanged) out.push({ torrentid: t, file: 'others', priority: after.others })
    const files = new Set([...before.files.keys(), ...after.files.keys()])
    for (const file of [...files].sort((a, b) => a - b)) {
      const was = before.files.get(file) ?? before.others
      const now = after.files.get(file) ?? after.others
      if (othersChanged || was !== now) out.push({ torrentid: t, file, priority: now })
    }
    return out
  }
}
