/**
 * Who owns which torrent, both ways: each torrent's owners in ownership order,
 * and each owner's own set of the torrents it owns. Pure bookkeeping (no
 * effects, no streams): the router decides what an ownership change means
 * (a close, a priority change), this keeps the two directions in step.
 *
 * A torrent's owners are stored as the lone owner itself (most torrents have
 * one) or, once co-owned, as an array of two or more. A status update then
 * touches one map entry and the owner: with 10,000 patrons each update lands
 * on cold memory, so every object skipped counts.
 *
 * @module
 */
import type { PatronId, TorrentId } from '../messages.ts'

/**
 * What an owner carries for the bookkeeping: its id and the set of torrents
 * it owns (kept by {@link Owners}, read by anyone).
 *
 * @example
 * ```ts
 * const owner: Owner = { id: 1, owned: new Set() }
 * ```
 */
export interface Owner {
  /** The patron. */
  readonly id: PatronId
  /** The torrents it owns. */
  readonly owned: Set<TorrentId>
}

/**
 * What {@link Owners.remove} did: `none` when the patron did not own the
 * torrent, `left` when other owners remain, `last` when it was the last
 * owner (the torrent has none now).
 *
 * @example
 * ```ts
 * if (owners.remove('t1', p) === 'last') close('t1')
 * ```
 */
export type Removal = 'none' | 'left' | 'last'

/**
 * True when {@link Owners.of}'s answer is the array of a co-owned torrent's
 * owners, false when it is the lone owner itself.
 *
 * @example
 * ```ts
 * const o = owners.of('t1')
 * if (o !== undefined) for (const p of coOwned(o) ? o : [o]) console.log(p.id)
 * ```
 */
export const coOwned = <P extends Owner>(o: P | readonly P[]): o is readonly P[] => Array.isArray(o)

/**
 * The owners of every torrent of one engine session.
 *
 * @example
 * ```ts
 * const owners = new Owners<Owner>()
 * const a = { id: 1, owned: new Set<string>() }
 * owners.add('t1', a) // true
 * owners.of('t1') // a
 * owners.remove('t1', a) // 'last'
 * ```
 */
export class Owners<P extends Owner = Owner> {
  private readonly map = new Map<TorrentId, P | P[]>()

  /** Torrents with at least one owner. @example `owners.size` */
  get size(): number {
    return this.map.size
  }

  /**
   * Make `p` an owner of `t`, after the owners it has; false (and nothing
   * changes) when it already is one.
   * @example `owners.add('t1', p)`
   */
  add(t: TorrentId, p: P): boolean {
    if (p.owned.has(t)) return false
    p.owned.add(t)
    const os = this.map.get(t)
    if (os === undefined) this.map.set(t, p)
    else if (Array.isArray(os)) os.push(p)
    else this.map.set(t, [os, p])
    return true
  }

  /**
   * `p` no longer owns `t`; the others keep their order.
   * @example `owners.remove('t1', p) // 'none' | 'left' | 'last'`
   */
  remove(t: TorrentId, p: P): Removal {
    if (!p.owned.delete(t)) return 'none'
    const os = this.map.get(t)
    if (os === undefined) return 'none'
    if (!Array.isArray(os)) {
      if (os !== p) return 'none'
      this.map.delete(t)
      return 'last'
    }
    const i = os.indexOf(p)
    if (i < 0) return 'none'
    os.splice(i, 1)
    if (os.length === 1) this.map.set(t, os[0]!)
    return 'left'
  }

  /**
   * The owners of `t` in ownership order: the owner itself when it is alone,
   * an array of two or more when co-owned, undefined when nobody owns it.
   * The array is live: copy it before anything that may change the owners.
   * This is the allocation-free path of status updates.
   * @example
   * ```ts
   * const o = owners.of('t1')
   * const ids = o === undefined ? [] : Array.isArray(o) ? o.map((x) => x.id) : [o.id]
   * ```
   */
  of(t: TorrentId): P | readonly P[] | undefined {
    return this.map.get(t)
  }

  /** The owners of `t` in ownership order, as an array (empty when nobody owns it). @example `owners.list('t1')` */
  list(t: TorrentId): readonly P[] {
    const os = this.map.get(t)
    return os === undefined ? [] : Array.isArray(os) ? os : [os]
  }

  /** The ids of `t`'s owners, in ownership order. @example `owners.ids('t1') // [1, 2]` */
  ids(t: TorrentId): PatronId[] {
    return this.list(t).map((o) => o.id)
  }

  /** True when somebody owns `t`. @example `owners.has('t1')` */
  has(t: TorrentId): boolean {
    return this.map.has(t)
  }

  /** True when `p` owns `t`. @example `owners.isOwner('t1', p)` */
  isOwner(t: TorrentId, p: P): boolean {
    return p.owned.has(t)
  }

  /** Every owned torrent. @example `[...owners.torrents()]` */
  torrents(): IterableIterator<TorrentId> {
    return this.map.keys()
  }

  /**
   * Forget every torrent's owners (the session is over). The owners' own sets
   * are left as they are: the router forgets the owners themselves.
   * @example `owners.clear()`
   */
  clear(): void {
    this.map.clear()
  }
}
