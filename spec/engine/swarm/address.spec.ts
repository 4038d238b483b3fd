import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bareHost, familyOf, formatAddress, listenAddressOf, parseAddress } from '../../../lib/engine/swarm/address.ts'

test('parseAddress: IPv4, bracketed IPv6, bare IPv6 and mapped IPv4', () => {
  assert.deepEqual(parseAddress('127.0.0.1:6881'), { host: '127.0.0.1', port: 6881 })
  assert.deepEqual(parseAddress('[::1]:6881'), { host: '::1', port: 6881 })
  assert.deepEqual(parseAddress('::1:6881'), { host: '::1', port: 6881 })
  assert.deepEqual(parseAddress('[::ffff:127.0.0.1]:80'), { host: '127.0.0.1', port: 80 })
  assert.deepEqual(parseAddress('example.org:1'), { host: 'example.org', port: 1 })
})

test('parseAddress: refuses what is not host:port', () => {
  for (const bad of ['', ':1', '127.0.0.1', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:65536', 'h:1.5', 'h:-1', 'h:0x10', '[]:5', 'h: 5']) {
    assert.equal(parseAddress(bad), null, bad)
  }
})

test('formatAddress and parseAddress round-trip every IPv4 and IPv6 address', () => {
  fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 1, max: 65535 }), (host, port) => {
    const parsed = parseAddress(formatAddress(host, port))
    assert.ok(parsed)
    assert.equal(parsed.port, port)
    assert.equal(formatAddress(parsed.host, parsed.port), formatAddress(host, port))
  }))
})

test('bareHost and familyOf', () => {
  assert.equal(bareHost('[::1]'), '::1')
  assert.equal(bareHost('::ffff:10.1.2.3'), '10.1.2.3')
  assert.equal(bareHost('::ffff:abcd'), '::ffff:abcd')
  assert.equal(familyOf('[::1]'), 6)
  assert.equal(familyOf('127.0.0.1'), 4)
  assert.equal(familyOf('localhost'), 0)
})

test('listenAddressOf: the remote IP with the extended handshake\'s p; nothing without a usable p or an IP', () => {
  assert.equal(listenAddressOf('10.0.0.2', { p: 51413 }), '10.0.0.2:51413')
  assert.equal(listenAddressOf('::ffff:10.0.0.2', { p: 6881 }), '10.0.0.2:6881')
  assert.equal(listenAddressOf('2001:db8::1', { p: 1 }), '[2001:db8::1]:1')
  assert.equal(listenAddressOf('10.0.0.2', { p: 65535 }), '10.0.0.2:65535')
  for (const p of [0, -1, 65536, 1.5, '6881', null, Number.NaN]) assert.equal(listenAddressOf('10.0.0.2', { p }), null, String(p))
  assert.equal(listenAddressOf('10.0.0.2', {}), null)
  assert.equal(listenAddressOf('10.0.0.2', null), null)
  assert.equal(listenAddressOf('10.0.0.2', 'p'), null)
  assert.equal(listenAddressOf(undefined, { p: 6881 }), null)
  assert.equal(listenAddressOf('peer.example', { p: 6881 }), null)
})
