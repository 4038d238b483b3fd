/**
 * lib/engine/wire/mse-outgoing.ts against real answering sides: the engine's
 * own listener (which answers MSE and selects plaintext payload), the same
 * listener with MSE off (refuses the obfuscated handshake: the policy falls
 * back to plaintext and remembers it), aria2c requiring RC4 (RC4 payload, its
 * bitfield read through the cipher; a plaintext opening refused), and two
 * stalling peers (silent after accept; answers MSE's first step then stalls).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { listen, obfuscatedHash, type Listener } from '../../../lib/engine/client/listener.ts'
import { needsLibraryParser } from '../../../lib/engine/wire/parser.ts'
import { sentPayloadOffer, wireEncryption } from '../../../lib/engine/wire/protocol-internals.ts'
import { openOutgoing, HandshakeRefused, type Opened } from '../../../lib/engine/wire/mse-outgoing.ts'
import { MsePolicy, peEnabledFor, type Handshake } from '../../../lib/engine/wire/mse-policy.ts'
import { startAria2Seeder } from '../../support/peers/aria2.ts'
import { mktorrent } from '../../support/peers/mktorrent.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'

const hex = (n: number): string => randomBytes(n).toString('hex')

const bitfield = (wire: Wire): Promise<Uint8Array> =>
  new Promise((resolve) => wire.once('bitfield', (b: { buffer: Uint8Array }) => resolve(b.buffer)))

interface Dialled {
  readonly wire: Wire
  readonly socket: net.Socket
  readonly opened: Opened
  /** The peer's first bitfield (listened for from the start: it may come in the handshake's chunk). */
  readonly bits: Promise<Uint8Array>
}

/** Dial 127.0.0.1:port and open with `h`; resolves the wire and the outcome, or rejects with the refusal (its `wire` attached). */
const dial = (port: number, h: Handshake, infoHash: string, timeoutMs?: number): Promise<Dialled> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const wire = new Wire('tcpOutgoing', peEnabledFor(h))
    const bits = bitfield(wire)
    socket.on('error', () => wire.destroy())
    socket.pipe(wire).pipe(socket)
    socket.once('connect', () => {
      openOutgoing(wire, h, { infoHash, peerId: hex(20), timeoutMs, transport: socket })
        .then((opened) => resolve({ wire, socket, opened, bits }))
        .catch((e: Error) => {
          socket.destroy()
          reject(Object.assign(e, { wire }))
        })
    })
  })

/** The engine's listener serving one infohash: each adopted wire sends a bitfield of 0xff. */
const engineListener = (infoHash: string, encryption: boolean): Promise<Listener> =>
  listen(
    0,
    '127.0.0.1',
    {
      adopt: (ih, _socket, wire, _peerId) => {
        if (ih !== infoHash) return false
        wire.handshake(ih, hex(20))
        wire.bitfield(Buffer.from([0xff]))
        return true
      },
      resolve: (hash) => (hash === obfuscatedHash(infoHash) ? infoHash : undefined)
    },
    encryption
  )


test("an obfuscated opening to the engine's listener completes with plaintext payload and the copy-free parser", async () => {
  const infoHash = hex(20)
  const l = await engineListener(infoHash, true)
  try {
    const got = await dial(l.port, 'obfuscated', infoHash)
    assert.equal(got.opened.payload, 'plaintext')
    assert.equal(got.opened.infoHash, infoHash)
    assert.equal(needsLibraryParser(got.wire), false, 'the encryptor is gone: payload takes the copy-free parser')
    assert.equal(wireEncryption(got.wire), 'obfuscated', 'the opening is still known as an MSE one')
    assert.equal((await got.bits)[0], 0xff)
    got.socket.destroy()
  } finally {
    await l.close()
  }
})

test('a listener without MSE refuses the obfuscated opening; the policy retries plaintext at once and remembers it', async () => {
  const infoHash = hex(20)
  const l = await engineListener(infoHash, false)
  const policy = new MsePolicy('enabled')
  const peer = `127.0.0.1:${l.port}`
  try {
    const first = policy.first(peer)
    assert.equal(first, 'obfuscated')
    const err = await dial(l.port, first, infoHash).then(() => null, (e: unknown) => e)
    assert.ok(err instanceof HandshakeRefused, String(err))
    const retry = policy.failed(peer, first, 'handshake')
    assert.equal(retry, 'plaintext')
    const got = await dial(l.port, retry!, infoHash)
    assert.equal(got.opened.payload, 'plaintext')
    assert.equal(wireEncryption(got.wire), 'none')
    assert.equal((await got.bits)[0], 0xff)
    policy.succeeded(peer, retry!)
    assert.equal(policy.first(peer), 'plaintext')
    got.socket.destroy()
  } finally {
    await l.close()
  }
})

test('a peer that accepts and never answers, and one that answers MSE step 2 and stalls, are refusals by timeout', async () => {
  const held = new Set<net.Socket>()
  const silent = net.createServer((s) => held.add(s))
  // Answers Ya with Yb (bittorrent-protocol's responder), then never learns
  // the infohash: step 4 never comes.
  const stalling = net.createServer((s) => {
    held.add(s)
    const w = new Wire('tcpIncoming', 1)
    s.pipe(w).pipe(s)
    s.on('error', () => {})
  })
  await Promise.all([silent, stalling].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))))
  try {
    for (const srv of [silent, stalling]) {
      const port = (srv.address() as net.AddressInfo).port
      const t0 = Date.now()
      const err = await dial(port, 'obfuscated', hex(20), 400).then(() => null, (e: unknown) => e)
      assert.ok(err instanceof HandshakeRefused, String(err))
      assert.match((err as Error).message, /no handshake within 400 ms/)
      assert.ok(Date.now() - t0 >= 399)
    }
  } finally {
    for (const s of held) s.destroy()
    silent.close()
    stalling.close()
  }
})

test('a wire made without MSE cannot open an obfuscated handshake', async () => {
  const w = new Wire('tcpOutgoing', 0)
  await assert.rejects(openOutgoing(w, 'obfuscated', { infoHash: hex(20), peerId: hex(20) }), /peEnabled=0/)
  w.destroy()
})

test('aria2c requiring RC4: the plaintext-payload offer is refused after the key exchange, the RC4 retry selects RC4 and its bitfield reads through the cipher; plaintext is refused', async () => {
  const tmp = await makeTempDir('h15-mse-')
  try {
    const dir = join(tmp.path, 'data')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dir)
    await writeFile(join(dir, 'f.bin'), randomBytes(3 * 65536 + 123))
    const made = await mktorrent(join(dir, 'f.bin'), join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
    const meta = await parseMetainfo(made.bytes)
    assert.ok(meta.ok)
    const seeder = await startAria2Seeder({
      torrentPath: made.path,
      dir,
      extraArgs: ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4']
    })
    try {
      // The first opening offers plaintext payload only: aria2c answers the key exchange, then refuses.
      const policy = new MsePolicy('enabled')
      assert.equal(policy.first(seeder.peer), 'obfuscated')
      const refused = await dial(seeder.port, 'obfuscated', meta.value.infoHash, 10_000).then(() => null, (e: unknown) => e)
      assert.ok(refused instanceof HandshakeRefused, String(refused))
      assert.equal(sentPayloadOffer((refused as HandshakeRefused & { wire: Wire }).wire), true, 'refused after the key exchange: the offer, not MSE')
      const retry = policy.failed(seeder.peer, 'obfuscated', 'payload-offer')
      assert.equal(retry, 'obfuscated-rc4')
      const got = await dial(seeder.port, retry, meta.value.infoHash)
      policy.succeeded(seeder.peer, retry)
      assert.equal(got.opened.payload, 'rc4')
      assert.equal(needsLibraryParser(got.wire), true, 'RC4 payload stays with the library parser')
      assert.equal(wireEncryption(got.wire), 'rc4')
      // 4 pieces, all present: 0b11110000.
      assert.equal((await got.bits)[0], 0xf0)
      got.socket.destroy()
      const err = await dial(seeder.port, 'plaintext', meta.value.infoHash, 5000).then(() => null, (e: unknown) => e)
      assert.ok(err instanceof HandshakeRefused, String(err))
      assert.equal(policy.first(seeder.peer), 'obfuscated-rc4', 'RC4 is offered first from now on')
    } finally {
      await seeder.close()
    }
  } finally {
    await tmp.close()
  }
})
