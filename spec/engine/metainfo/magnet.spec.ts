import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { parseMagnet, btihToHex } from '../../../lib/engine/metainfo/index.ts'

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a'
// The same 20 bytes in RFC 4648 base32.
const B32 = 'YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK'

test('hex and base32 info hashes, display name, trackers and peer hints', () => {
  const r = parseMagnet(`magnet:?xt=urn:btih:${HEX.toUpperCase()}&dn=My+File%20(1)&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr.1=http://127.0.0.1:8000/announce&tr=udp%3A%2F%2F127.0.0.1%3A6969&x.pe=127.0.0.1:6881&x.pe=[::1]:51413`)
  assert.deepEqual(r, {
    ok: true,
    value: { infoHash: HEX, name: 'My File (1)', announce: ['udp://127.0.0.1:6969', 'http://127.0.0.1:8000/announce'], peers: ['127.0.0.1:6881', '[::1]:51413'] }
  })
  const b = parseMagnet(`magnet:?xt=urn:btih:${B32}`)
  assert.deepEqual(b, { ok: true, value: { infoHash: HEX, announce: [], peers: [] } })
  assert.equal(btihToHex(B32.toLowerCase()), HEX)
})

test('trackers of other schemes are dropped; control characters leave the name', () => {
  const r = parseMagnet(`magnet:?xt=urn:btih:${HEX}&tr=file%3A%2F%2F%2Fetc%2Fpasswd&tr=javascript:alert(1)&dn=a%00b%0Ac`)
  assert.ok(r.ok)
  assert.deepEqual(r.value.announce, [])
  assert.equal(r.value.name, 'abc')
})

const refusals: Array<[string, string, string]> = [
  ['not a magnet', 'http://example.com/x.torrent', 'not a magnet URI'],
  ['no info hash', 'magnet:?dn=x', 'no BitTorrent info hash'],
  ['short hash', `magnet:?xt=urn:btih:${HEX.slice(1)}`, '40 hex or 32 base32'],
  ['bad base32', 'magnet:?xt=urn:btih:' + '1'.repeat(32), '40 hex or 32 base32'],
  ['v2 only', 'magnet:?xt=urn:btmh:1220' + 'ab'.repeat(32), 'v2-only magnets'],
  ['two hashes', `magnet:?xt=urn:btih:${HEX}&xt.1=urn:btih:${'0'.repeat(40)}`, 'two different info hashes'],
  ['bad percent-encoding', `magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, 'bad percent-encoding in "dn"'],
  ['bad peer hint', `magnet:?xt=urn:btih:${HEX}&x.pe=127.0.0.1:99999`, 'is not host:port'],
  ['bad peer hint octet', `magnet:?xt=urn:btih:${HEX}&x.pe=300.0.0.1:80`, 'is not host:port'],
  ['too long', `magnet:?xt=urn:btih:${HEX}&dn=${'a'.repeat(70_000)}`, 'longer than']
]
for (const [name, uri, fragment] of refusals) {
  test(`magnet refused: ${name}`, () => {
    const r = parseMagnet(uri)
    assert.equal(r.ok, false)
    if (!r.ok) assert.ok(r.reason.startsWith('magnet: ') && r.reason.includes(fragment), r.reason)
  })
}

test('parseMagnet never throws on arbitrary strings (3,000 cases)', () => {
  fc.assert(fc.property(fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ maxLength: 200 }).map(s => `magnet:?xt=urn:btih:${HEX}&${s}`),
    fc.array(fc.constantFrom('xt=urn:btih:', HEX, B32, '&', '=', '%', '%zz', 'tr=', 'x.pe=', 'dn=', ':', '[', ']'), { maxLength: 20 }).map(a => 'magnet:?' + a.join(''))
  ), s => {
    const r = parseMagnet(s)
    if (r.ok) return /^[0-9a-f]{40}$/.test(r.value.infoHash)
    return r.reason.startsWith('magnet: ') && r.reason.length > 8
  }), { numRuns: 3000 })
})

test('ws= web seeds (BEP 19): http and https kept in order, others and duplicates dropped', () => {
  const ws = (u: string): string => `ws=${encodeURIComponent(u)}`
  const r = parseMagnet(`magnet:?xt=urn:btih:${HEX}&${ws('http://h/a/')}&${ws('ftp://h/x')}&${ws('https://h/b.iso')}&${ws('http://h/a/')}&ws.1=${encodeURIComponent('javascript:alert(1)')}`)
  assert.ok(r.ok)
  if (r.ok) assert.deepEqual(r.value.webSeeds, ['http://h/a/', 'https://h/b.iso'])
})
