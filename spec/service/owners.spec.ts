/** Owners: the router's torrent -> owners bookkeeping, both directions kept in step. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Owners, coOwned, type Owner } from '../../lib/service/owners.ts'

const owner = (id: number): Owner => ({ id, owned: new Set() })

test('one owner is stored as itself, several as an array in ownership order', () => {
  const owners = new Owners()
  const [a, b, c] = [owner(1), owner(2), owner(3)]
  assert.equal(owners.of('t1'), undefined)
  assert.equal(owners.add('t1', a), true)
  assert.equal(owners.of('t1'), a)
  assert.equal(owners.add('t1', a), false)
  assert.equal(owners.add('t1', b), true)
  assert.equal(owners.add('t1', c), true)
  const shared = owners.of('t1')!
  assert.ok(coOwned(shared))
  assert.deepEqual(shared, [a, b, c])
  assert.equal(owners.remove('t1', b), 'left')
  assert.deepEqual(owners.ids('t1'), [1, 3])
  assert.equal(owners.remove('t1', a), 'left')
  assert.equal(owners.of('t1'), c, 'back to the lone owner itself')
  assert.equal(coOwned(c), false)
  assert.equal(owners.remove('t1', a), 'none')
  assert.equal(owners.remove('t1', c), 'last')
  assert.equal(owners.of('t1'), undefined)
  assert.equal(owners.has('t1'), false)
  assert.equal(owners.size, 0)
  assert.deepEqual([...c.owned], [])
})

test('removing from a torrent nobody owns, or that another owns alone, changes nothing', () => {
  const owners = new Owners()
  const [a, b] = [owner(1), owner(2)]
  assert.equal(owners.remove('t1', a), 'none')
  owners.add('t1', a)
  assert.equal(owners.remove('t1', b), 'none')
  assert.equal(owners.of('t1'), a)
  assert.deepEqual([...a.owned], ['t1'])
})

test('clear forgets every torrent', () => {
  const owners = new Owners()
  const a = owner(1)
  owners.add('t1', a)
  owners.add('t2', a)
  owners.clear()
  assert.equal(owners.size, 0)
  assert.deepEqual([...owners.torrents()], [])
  assert.equal(owners.of('t1'), undefined)
})

const TORRENTS = ['t0', 't1', 't2', 't3']
const PATRONS = 5

type Op = { readonly op: 'add' | 'remove'; readonly t: string; readonly p: number }

test('any sequence of adds and removes matches a Map<torrent, Set<patron>> model', () => {
  const op = fc.record({
    op: fc.constantFrom<'add' | 'remove'>('add', 'remove'),
    t: fc.constantFrom(...TORRENTS),
    p: fc.integer({ min: 0, max: PATRONS - 1 })
  })
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops: Op[]) => {
      const owners = new Owners()
      const patrons = Array.from({ length: PATRONS }, (_, i) => owner(i))
      // A Set keeps insertion order, which is the ownership order.
      const model = new Map<string, Set<number>>()
      for (const { op: kind, t, p } of ops) {
        const set = model.get(t) ?? new Set<number>()
        if (kind === 'add') {
          const fresh = !set.has(p)
          set.add(p)
          model.set(t, set)
          assert.equal(owners.add(t, patrons[p]!), fresh)
        } else {
          const expected = !set.has(p) ? 'none' : set.size === 1 ? 'last' : 'left'
          set.delete(p)
          if (set.size === 0) model.delete(t)
          assert.equal(owners.remove(t, patrons[p]!), expected)
        }
        // Every view of the owners agrees with the model, after every step.
        assert.equal(owners.size, model.size)
        assert.deepEqual(new Set(owners.torrents()), new Set(model.keys()))
        for (const torrent of TORRENTS) {
          const ids = [...(model.get(torrent) ?? [])]
          assert.deepEqual(owners.ids(torrent), ids)
          assert.deepEqual(owners.list(torrent).map((o) => o.id), ids)
          assert.equal(owners.has(torrent), ids.length > 0)
          const of = owners.of(torrent)
          if (ids.length === 0) assert.equal(of, undefined)
          else if (ids.length === 1) assert.equal(of, patrons[ids[0]!])
          else assert.ok(of !== undefined && coOwned(of) && of.length === ids.length)
          for (const x of patrons) assert.equal(owners.isOwner(torrent, x), ids.includes(x.id))
        }
        for (const x of patrons) {
          assert.deepEqual(new Set(x.owned), new Set([...model].filter(([, s]) => s.has(x.id)).map(([t]) => t)))
        }
      }
    }),
    { numRuns: 300 }
  )
})
