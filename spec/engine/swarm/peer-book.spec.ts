import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PeerBook, redialDelay, MAX_FAILURES } from '../../../lib/engine/swarm/peer-book.ts'
import { ManualClock } from '../../support/engine-fakes.ts'

test('peer book: parses, dedupes bracketed and mapped hosts, refuses self and malformed', () => {
  const book = new PeerBook({ isSelf: (h, p) => h === '127.0.0.1' && p === 6881 })
  assert.equal(book.add('[::1]:6882', 'tracker'), '[::1]:6882')
  assert.equal(book.add('::1:6882', 'pex'), '[::1]:6882', 'one key however the address was spelt')
  assert.equal(book.add('::ffff:10.0.0.1:7000', 'pex'), '10.0.0.1:7000')
  assert.equal(book.add('10.0.0.1:7000', 'dht'), '10.0.0.1:7000')
  assert.equal(book.add('127.0.0.1:6881', 'manual'), null)
  assert.equal(book.add('10.0.0.1:0', 'manual'), null)
  assert.equal(book.add('nonsense', 'manual'), null)
  assert.equal(book.size, 2)
  assert.equal(book.get('10.0.0.1:7000')?.source, 'pex', 'the first source is kept')
})

test('peer book: due() marks what it yields, stops when there is no room', () => {
  const book = new PeerBook()
  for (let i = 1; i <= 5; i++) book.add(`10.0.0.${i}:6881`, 'tracker')
  let open = 0
  const dialled = [...book.due(() => open++ < 3)].map((e) => e.key)
  assert.deepEqual(dialled, ['10.0.0.1:6881', '10.0.0.2:6881', '10.0.0.3:6881'])
  assert.deepEqual([...book.due()].map((e) => e.key), ['10.0.0.4:6881', '10.0.0.5:6881'])
  assert.deepEqual([...book.due()], [], 'connected entries are not due')
})

test('peer book: capped exponential redial back-off; forgiven on a handshake; forgotten after MAX_FAILURES unless manual', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 20].map(redialDelay), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000])
  const clock = new ManualClock()
  const book = new PeerBook({ now: clock.now })
  book.add('10.0.0.1:1', 'tracker')
  book.add('10.0.0.2:2', 'manual')
  for (const e of book.due()) void e
  book.closed('10.0.0.1:1')
  assert.deepEqual([...book.due()], [], 'not before the back-off')
  clock.advance(1000)
  assert.deepEqual([...book.due()].map((e) => e.key), ['10.0.0.1:1'])
  book.succeeded('10.0.0.1:1')
  book.closed('10.0.0.1:1')
  assert.equal(book.get('10.0.0.1:1')?.failures, 1, 'a handshake forgave the earlier failures')
  // Hearing of it again allows a prompt retry.
  book.add('10.0.0.1:1', 'tracker')
  assert.deepEqual([...book.due()].map((e) => e.key), ['10.0.0.1:1'])
  for (let i = 0; i < MAX_FAILURES + 1; i++) {
    book.closed('10.0.0.1:1')
    book.closed('10.0.0.2:2')
    clock.advance(60_000)
    for (const e of book.due()) void e
  }
  assert.equal(book.get('10.0.0.1:1'), undefined, 'forgotten')
  assert.notEqual(book.get('10.0.0.2:2'), undefined, 'a manual peer is kept')
})

test('peer book: bans by address or peer id; banned addresses are never recorded again; the cap holds', () => {
  const book = new PeerBook({ max: 2 })
  book.add('10.0.0.1:1', 'tracker')
  book.ban('10.0.0.1:1')
  book.ban('2d5452')
  assert.equal(book.add('10.0.0.1:1', 'pex'), null)
  assert.equal(book.isBanned('2d5452'), true)
  assert.deepEqual(book.banned(), ['10.0.0.1:1', '2d5452'])
  book.add('10.0.0.2:1', 'tracker')
  book.add('10.0.0.3:1', 'tracker')
  assert.equal(book.add('10.0.0.4:1', 'tracker'), null, 'full')
  assert.deepEqual([...book.entries()].map((e) => e.key), ['10.0.0.2:1', '10.0.0.3:1'])
})

test('peer book: hasDue() tells whether due() would yield, without marking anything', () => {
  const clock = new ManualClock()
  const book = new PeerBook({ now: clock.now })
  assert.equal(book.hasDue(), false)
  book.add('10.0.0.1:1', 'tracker')
  assert.equal(book.hasDue(), true)
  assert.equal(book.hasDue(), true, 'asking marks nothing')
  for (const e of book.due()) void e
  assert.equal(book.hasDue(), false, 'connected')
  book.closed('10.0.0.1:1')
  assert.equal(book.hasDue(), false, 'waiting out its back-off')
  clock.advance(1000)
  assert.equal(book.hasDue(), true)
  book.ban('10.0.0.1:1')
  assert.equal(book.hasDue(), false, 'banned')
})

test('peer book: a connection closed to be retried another way is due at once and counts no failure', () => {
  const clock = new ManualClock()
  const book = new PeerBook({ now: clock.now })
  book.add('10.0.0.1:1', 'tracker')
  for (const e of book.due()) void e
  book.closed('10.0.0.1:1', true)
  assert.deepEqual([...book.due()].map((e) => e.key), ['10.0.0.1:1'])
  assert.equal(book.get('10.0.0.1:1')?.failures, 0)
})

test('peer book: an address whose last connection was a seed\'s is not due for a seed (noSeeds), and is again once a connection says otherwise', () => {
  const clock = new ManualClock()
  const book = new PeerBook({ now: clock.now })
  book.add('10.0.0.1:1', 'tracker')
  book.add('10.0.0.2:2', 'tracker')
  for (const e of book.due()) void e
  book.closed('10.0.0.1:1', false, true)
  book.closed('10.0.0.2:2', false, false)
  clock.advance(1000)
  assert.equal(book.hasDue(true), true)
  assert.deepEqual([...book.due(() => true, true)].map((e) => e.key), ['10.0.0.2:2'], 'the seed is skipped')
  assert.equal(book.hasDue(true), false)
  assert.equal(book.hasDue(), true, 'a leecher dials it')
  assert.deepEqual([...book.due()].map((e) => e.key), ['10.0.0.1:1'])
  // A failed dial (no handshake) learns nothing: it stays a seed's address.
  book.closed('10.0.0.1:1')
  clock.advance(2000)
  assert.equal(book.hasDue(true), false)
  for (const e of book.due()) void e
  book.closed('10.0.0.1:1', false, false)
  clock.advance(4000)
  assert.deepEqual([...book.due(() => true, true)].map((e) => e.key), ['10.0.0.1:1'], 'its last connection was not a seed\'s')
})
