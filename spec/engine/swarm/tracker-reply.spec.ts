import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { AnnounceError, httpReply, udpReply, MAX_PEERS_PER_ANSWER } from '../../../lib/engine/swarm/tracker-reply.ts'

const b = (...parts: Array<string | Uint8Array>): Uint8Array => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))))
const str = (v: Uint8Array): Uint8Array => b(`${v.length}:`, v)
const v6 = (groups: number[], port: number): Buffer => {
  const out = Buffer.alloc(18)
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  out.writeUInt16BE(port, 16)
  return out
}

test('HTTP: compact IPv4 and BEP 7 IPv6 peers, interval, min interval, tracker id, counts', () => {
  const peers = Buffer.from([127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 80])
  const peers6 = Buffer.concat([v6([0, 0, 0, 0, 0, 0, 0, 1], 6881), v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7], 51413)])
  const r = httpReply(b('d8:completei3e10:incompletei4e8:intervali900e12:min intervali60e5:peers', str(peers), '6:peers6', str(peers6), '10:tracker id3:abce'))
  assert.deepEqual(r.peers, [
    { host: '127.0.0.1', port: 6881 }, { host: '10.0.0.2', port: 80 },
    { host: '::1', port: 6881 }, { host: '2001:db8::7', port: 51413 }
  ])
  assert.deepEqual([r.interval, r.minInterval, r.trackerId, r.complete, r.incomplete, r.problems], [900, 60, 'abc', 3, 4, []])
})

test('HTTP: a dictionary peer list (IPv4, IPv6 and names); entries without ip or port are skipped and said', () => {
  const r = httpReply(b('d8:intervali5e5:peersl',
    'd2:ip9:127.0.0.17:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881ee',
    'd2:ip3:::14:porti7000ee',
    'd2:ip13:peer.example.4:porti1ee', // a trailing dot is not a host name here
    'd2:ip12:peer.example4:porti2ee',
    'd4:porti5ee', 'd2:ip9:127.0.0.14:porti0ee', 'i3e', 'ee'))
  assert.deepEqual(r.peers, [{ host: '127.0.0.1', port: 6881 }, { host: '::1', port: 7000 }, { host: 'peer.example', port: 2 }])
  assert.deepEqual(r.problems, ['4 peer entries without a usable ip and port'])
})

test('HTTP: failure reason is an error, warning message a note; malformed peers6 leaves the IPv4 peers usable', () => {
  assert.throws(() => httpReply(b('d14:failure reason8:not heree')), (e: Error) => e instanceof AnnounceError && /tracker refused: not here/.test(e.message))
  assert.throws(() => httpReply(b('d14:failure reasoni1ee')), /tracker refused: no reason given/)
  const r = httpReply(b('d15:warning message4:slow8:intervali9e5:peers6:', Buffer.from([1, 2, 3, 4, 0, 9]), '6:peers6', str(Buffer.alloc(17, 1)), 'e'))
  assert.equal(r.warning, 'slow')
  assert.deepEqual(r.peers, [{ host: '1.2.3.4', port: 9 }])
  assert.deepEqual(r.problems, ["'peers6' is 17 bytes, not a multiple of 18 bytes"])
  const odd = httpReply(b('d5:peers7:', Buffer.from([1, 2, 3, 4, 0, 9, 7]), '8:intervali-5ee'))
  assert.deepEqual(odd.problems, ["'peers' is 7 bytes, not a multiple of 6 bytes", "'interval' is not a number of seconds"])
  assert.equal(odd.interval, undefined)
})

test('HTTP: garbage, a non-dictionary and an empty body are errors', () => {
  for (const [body, reason] of [
    [b('<html>502 Bad Gateway</html>'), /not bencode/],
    [b('li1ee'), /not a bencoded dictionary/],
    [b(''), /not bencode/],
    [b('d8:interval'), /not bencode/]
  ] as const) assert.throws(() => httpReply(body), (e: Error) => e instanceof AnnounceError && reason.test(e.message))
})

test('HTTP: random bytes never throw anything but an AnnounceError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    try {
      httpReply(bytes)
    } catch (err) {
      assert.ok(err instanceof AnnounceError, String(err))
    }
  }))
})

test('UDP: 6-byte peers from an IPv4 tracker, 18-byte peers from an IPv6 one; a short body is an error', () => {
  const head = Buffer.alloc(12)
  head.writeUInt32BE(120, 0)
  head.writeUInt32BE(5, 4)
  head.writeUInt32BE(2, 8)
  const r4 = udpReply(Buffer.concat([head, Buffer.from([127, 0, 0, 1, 0x1a, 0xe1])]), 4)
  assert.deepEqual([r4.interval, r4.incomplete, r4.complete, r4.peers], [120, 5, 2, [{ host: '127.0.0.1', port: 6881 }]])
  const r6 = udpReply(Buffer.concat([head, v6([0, 0, 0, 0, 0, 0, 0, 1], 6881), Buffer.from([1, 2, 3])]), 6)
  assert.deepEqual(r6.peers, [{ host: '::1', port: 6881 }])
  assert.deepEqual(r6.problems, ["'peers' is 21 bytes, not a multiple of 18 bytes"])
  assert.throws(() => udpReply(Buffer.alloc(11), 4), /19 bytes is shorter than 20/)
})

test('no more than MAX_PEERS_PER_ANSWER peers are taken from one answer', () => {
  const many = Buffer.alloc((MAX_PEERS_PER_ANSWER + 10) * 6, 1)
  assert.equal(httpReply(b('d5:peers', str(many), 'e')).peers.length, MAX_PEERS_PER_ANSWER)
})
