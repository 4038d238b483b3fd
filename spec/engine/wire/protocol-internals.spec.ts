import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import Wire from 'bittorrent-protocol'
import {
  WIRE_MEMBERS,
  appendInput,
  awaitsMessageBody,
  dropPlaintextEncryptor,
  hookWire,
  useMseKeys,
  mseEnabled,
  payloadEncrypted,
  inputChunks,
  mayBypass,
  needsLibraryParser,
  neededInput,
  pushRaw,
  queuedInput,
  queuedOutput,
  raiseWriteHighWater,
  takePeerRequest
} from '../../../lib/engine/wire/protocol-internals.ts'
import { feedWire } from '../../../lib/engine/wire/parser.ts'

const PINNED = '5.0.9'

const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const handshake = (): Buffer => Buffer.from([19, ...Buffer.from('BitTorrent protocol'), ...new Array(8).fill(0), ...new Array(20).fill(7), ...new Array(20).fill(9)])
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

test(`package.json pins bittorrent-protocol to exactly ${PINNED}, and that version is installed`, () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }
  assert.equal(pkg.dependencies['bittorrent-protocol'], PINNED, 'bittorrent-protocol must be pinned to an exact version: the engine touches its private members (protocol-internals.ts)')
  const installed = (JSON.parse(readFileSync(new URL('package.json', import.meta.resolve('bittorrent-protocol')), 'utf8')) as { version: string }).version
  assert.equal(installed, PINNED, `installed bittorrent-protocol is ${installed}: check every member of WIRE_MEMBERS against it before moving the pin`)
})

test('every private Wire member the engine relies on exists with the shape it expects', () => {
  const proto = Wire.prototype as unknown as Record<string, unknown>
  const wire = new Wire() as unknown as Record<string, unknown>
  const problems: string[] = []
  for (const [name, m] of Object.entries(WIRE_MEMBERS)) {
    const where = `bittorrent-protocol Wire ${name} (used by ${m.use})`
    if (m.kind === 'method') {
      if (!Object.prototype.hasOwnProperty.call(proto, name)) problems.push(`${where}: no longer a method on Wire.prototype`)
      else if (typeof proto[name] !== 'function') problems.push(`${where}: on Wire.prototype but a ${typeof proto[name]}, not a function`)
      else if ((proto[name] as (...a: unknown[]) => unknown).length !== m.arity)
        problems.push(`${where}: takes ${(proto[name] as (...a: unknown[]) => unknown).length} arguments, the engine calls it with ${m.arity}`)
    } else {
      if (!Object.prototype.hasOwnProperty.call(wire, name)) problems.push(`${where}: no longer an own field of a new Wire`)
      else if (typeof wire[name] !== m.type) problems.push(`${where}: a ${typeof wire[name]}, the engine expects a ${m.type}`)
    }
  }
  if (!Array.isArray(wire._buffer)) problems.push('bittorrent-protocol Wire _buffer: no longer an array of chunks')
  if (wire._encryptor !== null) problems.push('bittorrent-protocol Wire _encryptor: not null on a plaintext wire')
  if (wire._cryptoSyncPattern !== null) problems.push('bittorrent-protocol Wire _cryptoSyncPattern: not null on a plaintext wire')
  const readable = wire._readableState as { buffered?: unknown } | undefined
  if (typeof readable?.buffered !== 'number') problems.push('streamx _readableState.buffered (queuedOutput, mayBypass): not a number of queued bytes')
  const mse = new Wire('tcpIncoming', 1) as unknown as { _encryptor: { _isEncrypted?: unknown, _dh?: unknown, dh?: unknown, encryptionMethod?: unknown } | null; destroy(): void }
  if (typeof mse._encryptor?._isEncrypted !== 'boolean') problems.push('bittorrent-protocol MessageStreamEncryptor _isEncrypted (dropPlaintextEncryptor): not a boolean on an MSE wire')
  if (mse._encryptor?.encryptionMethod !== null) problems.push('bittorrent-protocol MessageStreamEncryptor encryptionMethod (wireEncryption): not null before the MSE handshake')
  if (mse._encryptor === null || !Object.prototype.hasOwnProperty.call(mse._encryptor, '_dh')) problems.push('bittorrent-protocol MessageStreamEncryptor _dh (useMseKeys): no longer an own field of an MSE wire\'s encryptor')
  const enc = mse._encryptor as unknown as { state?: unknown, generateStepA3?: unknown } | null
  if (typeof enc?.state !== 'string') problems.push('bittorrent-protocol MessageStreamEncryptor state (sentPayloadOffer): not a string on an MSE wire')
  if (typeof enc?.generateStepA3 !== 'function' || (enc.generateStepA3 as (...a: unknown[]) => unknown).length !== 0)
    problems.push('bittorrent-protocol MessageStreamEncryptor generateStepA3(cryptoProvide = 3) (offerPlaintextPayloadOnly): no longer a method with one defaulted argument')
  const keys = { generateKeys: () => new Uint8Array(96), computeSecret: () => new Uint8Array(96) }
  useMseKeys(mse, () => keys)
  if (mse._encryptor?.dh !== keys) problems.push('bittorrent-protocol MessageStreamEncryptor dh (useMseKeys): does not return the object set as _dh')
  mse.destroy()
  const socket = new net.Socket() as unknown as { _writableState?: { highWaterMark?: unknown } }
  if (typeof socket._writableState?.highWaterMark !== 'number') problems.push("node's net.Socket _writableState.highWaterMark (raiseWriteHighWater): not a number")
  ;(wire as unknown as Wire).destroy()
  assert.deepEqual(problems, [], problems.join('\n'))
})

test('hookWire: the hooks see each length and message, the library runs after them, and a false hook stops the message', async () => {
  const lengths: number[] = []
  const messages: number[] = []
  const inputs: number[] = []
  class Hooked extends Wire {
    refuse = -1
  }
  hookWire(Hooked, {
    length: (w, n) => {
      lengths.push(n)
      return n !== w.refuse
    },
    message: (_w, body) => {
      messages.push(body[0]!)
      return body.length === 5
    },
    input: (w, data) => {
      inputs.push(data.length)
      feedWire(w, data)
    }
  })
  const wire = new Hooked()
  const haves: number[] = []
  wire.on('have', (i: number) => haves.push(i))
  wire.write(Buffer.concat([handshake(), Buffer.from([...u32(5), 4, ...u32(3)])]))
  await tick()
  assert.deepEqual([lengths, messages, haves], [[5], [4], [3]])
  assert.ok(inputs.length > 0, 'the input hook got the socket bytes')
  assert.equal(awaitsMessageBody(wire), false, 'after a message the wire waits for a length prefix')
  // A 1-byte have: the message hook refuses it, the library never sees it.
  wire.write(Buffer.from([...u32(1), 4]))
  await tick()
  assert.deepEqual([lengths, messages, haves], [[5, 1], [4, 4], [3]])
  // A refused length: the message hook is not called.
  const refusing = new Hooked()
  refusing.refuse = 9
  refusing.write(Buffer.concat([handshake(), Buffer.from([...u32(9), 4, ...u32(3), 0, 0, 0, 0])]))
  await tick()
  assert.deepEqual([lengths, messages], [[5, 1, 9], [4, 4]])
  wire.destroy()
  refusing.destroy()
})

test('queuedInput, neededInput and awaitsMessageBody follow a message arriving in parts', async () => {
  class Plain extends Wire {}
  hookWire(Plain, { length: () => true, message: () => true, input: (w, d) => appendInput(w, d) })
  const wire = new Plain()
  assert.equal(neededInput(wire), 1, 'a new wire waits for the handshake pstrlen byte')
  wire.write(Buffer.from([19, 1, 2]))
  await tick()
  assert.equal(queuedInput(wire), 3)
  assert.deepEqual(Buffer.concat(inputChunks(wire)), Buffer.from([19, 1, 2]))
  wire.destroy()
})

test('pushRaw queues bytes for the socket, queuedOutput counts them, mayBypass refuses while they wait', async () => {
  const wire = new Wire()
  assert.equal(queuedOutput(wire), 0)
  assert.equal(mayBypass(wire), true)
  pushRaw(wire, Buffer.alloc(17, 1))
  assert.equal(queuedOutput(wire), 17)
  assert.equal(mayBypass(wire), false, 'bytes queued in the wire must leave first')
  const out: Buffer[] = []
  wire.on('data', (b: Buffer) => out.push(b))
  await tick()
  assert.equal(Buffer.concat(out).length, 17)
  assert.equal(queuedOutput(wire), 0)
  wire.destroy()
})

test('mayBypass refuses an MSE wire; dropPlaintextEncryptor removes a layer that chose no encryption', () => {
  const wire = new Wire('tcpIncoming', 1)
  assert.equal(needsLibraryParser(wire), true, 'an MSE wire is parsed by the library')
  assert.equal(mayBypass(wire), false)
  dropPlaintextEncryptor(wire)
  assert.equal(needsLibraryParser(wire), false, 'an encryptor that encrypts nothing is dropped')
  assert.equal(mayBypass(wire), true)
  wire.destroy()
})

test('mseEnabled is the mode a wire was made with; payloadEncrypted is false until MSE chose RC4', () => {
  const plain = new Wire('tcpOutgoing')
  const mse = new Wire('tcpOutgoing', 1)
  const rc4 = new Wire('tcpOutgoing', 2)
  assert.deepEqual([mseEnabled(plain), mseEnabled(mse), mseEnabled(rc4)], [0, 1, 2])
  assert.deepEqual([payloadEncrypted(plain), payloadEncrypted(mse), payloadEncrypted(rc4)], [false, false, false])
  for (const w of [plain, mse, rc4]) w.destroy()
})

test('takePeerRequest removes a pending request once and refuses one not pending', () => {
  const wire = new Wire()
  wire.peerRequests.push({ piece: 1, offset: 16384, length: 16384 })
  assert.equal(takePeerRequest(wire, 1, 0, 16384), false)
  assert.equal(takePeerRequest(wire, 1, 16384, 16384), true)
  assert.equal(takePeerRequest(wire, 1, 16384, 16384), false)
  assert.equal(wire.peerRequests.length, 0)
  wire.destroy()
})

test('raiseWriteHighWater raises a socket mark and never lowers it', () => {
  const socket = new net.Socket()
  const before = socket.writableHighWaterMark
  raiseWriteHighWater(socket, before + 4096)
  assert.equal(socket.writableHighWaterMark, before + 4096)
  raiseWriteHighWater(socket, 1)
  assert.equal(socket.writableHighWaterMark, before + 4096)
  socket.destroy()
})
