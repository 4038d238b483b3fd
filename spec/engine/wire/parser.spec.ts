import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import Wire from 'bittorrent-protocol'
import { feedWire } from '../../../lib/engine/wire/parser.ts'

type Msg = { kind: 'have'; index: number } | { kind: 'request'; index: number; offset: number; length: number } | { kind: 'piece'; index: number; offset: number; data: Uint8Array } | { kind: 'keep-alive' }

const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]

const encode = (m: Msg): number[] => {
  switch (m.kind) {
    case 'keep-alive':
      return u32(0)
    case 'have':
      return [...u32(5), 4, ...u32(m.index)]
    case 'request':
      return [...u32(13), 6, ...u32(m.index), ...u32(m.offset), ...u32(m.length)]
    case 'piece':
      return [...u32(9 + m.data.length), 7, ...u32(m.index), ...u32(m.offset), ...m.data]
  }
}

const handshake = (): number[] => [19, ...Buffer.from('BitTorrent protocol'), ...new Array(8).fill(0), ...new Array(20).fill(7), ...new Array(20).fill(9)]

const msg: fc.Arbitrary<Msg> = fc.oneof(
  fc.constant<Msg>({ kind: 'keep-alive' }),
  fc.nat(1000).map((index): Msg => ({ kind: 'have', index })),
  fc.record({ index: fc.nat(1000), offset: fc.nat(1 << 20), length: fc.integer({ min: 1, max: 1 << 17 }) }).map((r): Msg => ({ kind: 'request', ...r })),
  fc.record({ index: fc.nat(1000), offset: fc.nat(1 << 20), data: fc.uint8Array({ minLength: 0, maxLength: 40000 }) }).map((r): Msg => ({ kind: 'piece', ...r }))
)

/** Everything a wire (with the sliced parser) emits for `bytes` cut at `cuts`. */
const parse = async (bytes: Uint8Array, cuts: number[], volatile = false): Promise<unknown[]> => {
  const wire = new Wire()
  // Volatile: every chunk arrives in one reused buffer, scribbled over after each call.
  const scratch = Buffer.alloc(bytes.length)
  ;(wire as unknown as { _write: (d: Uint8Array, cb: (e: Error | null) => void) => void })._write = (d, cb) => {
    if (!volatile) feedWire(wire, d)
    else {
      const view = scratch.subarray(0, d.length)
      view.set(d)
      feedWire(wire, view, true)
      view.fill(0xee)
    }
    cb(null)
  }
  const seen: unknown[] = []
  wire.on('handshake', (infoHash: string, peerId: string) => seen.push(['handshake', infoHash, peerId]))
  wire.on('have', (i: number) => seen.push(['have', i]))
  wire.on('keep-alive', () => seen.push(['keep-alive']))
  // The library answers requests only when unchoked; record the raw message instead.
  wire.on('request', (i: number, o: number, l: number) => seen.push(['request', i, o, l]))
  wire.on('piece', (i: number, o: number, d: Uint8Array) => seen.push(['piece', i, o, Buffer.from(d).toString('hex')]))
  ;(wire as unknown as { amChoking: boolean }).amChoking = false
  let at = 0
  for (const c of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    if (c <= at) continue
    wire.write(bytes.subarray(at, c))
    at = c
  }
  await new Promise((r) => setImmediate(r))
  // What the library kept (the peer id) must not be the scribbled buffer.
  seen.push(['kept peer id', Buffer.from(wire.peerIdBuffer ?? []).toString('hex')])
  wire.destroy()
  return seen
}

/** The events the wire emits for `msgs` (it stays silent on a repeated have). */
const expected = (msgs: Msg[]): unknown[] => [
  ['handshake', '07'.repeat(20), '09'.repeat(20)],
  ...msgs.filter((m, i) => m.kind !== 'have' || !msgs.slice(0, i).some((o) => o.kind === 'have' && o.index === m.index)).map((m) =>
    m.kind === 'keep-alive' ? ['keep-alive'] : m.kind === 'have' ? ['have', m.index] : m.kind === 'request' ? ['request', m.index, m.offset, m.length] : ['piece', m.index, m.offset, Buffer.from(m.data).toString('hex')]
  ),
  ['kept peer id', '09'.repeat(20)]
]

test('messages cut at any points parse exactly as sent (views or gathered copies; from a reused read buffer too)', { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(msg, { maxLength: 12 }), fc.array(fc.nat(200_000), { maxLength: 40 }), fc.boolean(), async (msgs, cuts, volatile) => {
      const bytes = Uint8Array.from([...handshake(), ...msgs.flatMap(encode)])
      assert.deepEqual(await parse(bytes, cuts, volatile), expected(msgs))
    }),
    { numRuns: 150 }
  )
})

test('one byte at a time, and everything in one chunk', async () => {
  const msgs: Msg[] = [{ kind: 'have', index: 3 }, { kind: 'keep-alive' }, { kind: 'piece', index: 1, offset: 16384, data: new Uint8Array(300).fill(5) }]
  const bytes = Uint8Array.from([...handshake(), ...msgs.flatMap(encode)])
  assert.deepEqual(await parse(bytes, [...bytes.keys()]), expected(msgs))
  assert.deepEqual(await parse(bytes, []), expected(msgs))
  assert.deepEqual(await parse(bytes, [...bytes.keys()], true), expected(msgs))
  assert.deepEqual(await parse(bytes, [], true), expected(msgs))
})

/** Messages of a few KiB at most, so that cuts land inside them (and rests stay under CARRY_SIZE) often. */
const smallMsg: fc.Arbitrary<Msg> = fc.oneof(
  fc.nat(1000).map((index): Msg => ({ kind: 'have', index })),
  fc.record({ index: fc.nat(1000), offset: fc.nat(1 << 20), length: fc.integer({ min: 1, max: 1 << 17 }) }).map((r): Msg => ({ kind: 'request', ...r })),
  fc.record({ index: fc.nat(1000), offset: fc.nat(1 << 20), data: fc.uint8Array({ minLength: 1, maxLength: 600 }) }).map((r): Msg => ({ kind: 'piece', ...r }))
)

test('two wires fed in turn from one reused read buffer each get exactly their own messages (shared gather buffer, per-wire carry)', { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(smallMsg, { maxLength: 8 }),
      fc.array(smallMsg, { maxLength: 8 }),
      fc.array(fc.nat(3_000), { minLength: 5, maxLength: 30 }),
      async (msgsA, msgsB, cuts) => {
        const scratch = Buffer.alloc(1 << 20)
        const wires = [new Wire(), new Wire()]
        const seen: unknown[][] = [[], []]
        wires.forEach((wire, k) => {
          wire.on('handshake', (infoHash: string, peerId: string) => seen[k]!.push(['handshake', infoHash, peerId]))
          wire.on('have', (i: number) => seen[k]!.push(['have', i]))
          wire.on('keep-alive', () => seen[k]!.push(['keep-alive']))
          wire.on('request', (i: number, o: number, l: number) => seen[k]!.push(['request', i, o, l]))
          wire.on('piece', (i: number, o: number, d: Uint8Array) => seen[k]!.push(['piece', i, o, Buffer.from(d).toString('hex')]))
          ;(wire as unknown as { amChoking: boolean }).amChoking = false
        })
        const streams = [msgsA, msgsB].map((m) => Uint8Array.from([...handshake(), ...m.flatMap(encode)]))
        const at = [0, 0]
        const sorted = [...new Set(cuts)].sort((a, b) => a - b)
        // Alternate: each turn hands the next slice of one wire's bytes through the shared scratch.
        for (let turn = 0; at[0]! < streams[0]!.length || at[1]! < streams[1]!.length; turn++) {
          const k = turn % 2
          const bytes = streams[k]!
          if (at[k]! >= bytes.length) continue
          const end = sorted.find((c) => c > at[k]!) ?? bytes.length
          const slice = bytes.subarray(at[k]!, Math.min(end, bytes.length))
          const view = scratch.subarray(0, slice.length)
          view.set(slice)
          feedWire(wires[k]!, view, true)
          view.fill(0xee)
          at[k] = at[k]! + slice.length
          if (end >= bytes.length) at[k] = bytes.length
        }
        await new Promise((r) => setImmediate(r))
        wires.forEach((w, k) => seen[k]!.push(['kept peer id', Buffer.from(w.peerIdBuffer ?? []).toString('hex')]))
        wires.forEach((w) => w.destroy())
        assert.deepEqual(seen[0], expected(msgsA))
        assert.deepEqual(seen[1], expected(msgsB))
      }
    ),
    { numRuns: 100 }
  )
})
