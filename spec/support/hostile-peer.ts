/**
 * A hostile BitTorrent peer on 127.0.0.1 that writes raw bytes: no wire library, so nothing
 * polite happens unless a script writes it. Each connection (accepted, or dialled with
 * {@link dialHostile}) runs a script; the peer records, per connection, whether the OTHER side
 * closed it (the engine dropped us) and how many bytes came in.
 *
 * Scripts for the usual attacks are in {@link hostileScripts}; encoders for hand-made messages
 * are exported so tests can write their own.
 */
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'

/** What a script knows about the torrent it attacks. */
export interface HostileTarget {
  /** 40 hex digits. */
  readonly infoHash: string
  readonly pieceCount: number
  readonly pieceLength: number
}

/** One connection, seen from the attacker. */
export interface HostileConn {
  readonly socket: Socket
  readonly target: HostileTarget
  readonly peerId: Buffer
  /** Writes bytes unless the connection is gone; resolves once flushed (or gone). */
  write(bytes: Uint8Array): Promise<void>
  /** Everything received so far. */
  received(): Buffer
  /** Resolves with the other side's handshake (68 bytes) once it arrived, or null if the connection ended first. */
  theirHandshake(): Promise<{ infoHash: string, peerId: string } | null>
  /** Resolves true once the connection closed, false after `ms`. */
  waitClosed(ms: number): Promise<boolean>
  readonly closed: boolean
  /** The other side closed or reset the connection (we did not destroy it first). */
  readonly closedByRemote: boolean
  /** We hang up now. */
  hangUp(): void
  sleep(ms: number): Promise<void>
}

export type HostileScript = (conn: HostileConn) => Promise<void>

/** A record of one finished or running connection. */
export interface ConnRecord {
  readonly conn: HostileConn
  /** The script's own failure, if it threw (a bug in the test, not in the engine). */
  scriptError?: unknown
}

/** A listening hostile peer. */
export interface HostilePeer {
  readonly port: number
  /** "127.0.0.1:PORT" for the engine's explicit peers. */
  readonly peer: string
  readonly connections: readonly ConnRecord[]
  /** Closes the listener and every connection. Safe to call twice. */
  close(): Promise<void>
}

// ---------------------------------------------------------------- encoders

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}

/** The 68-byte handshake; `reserved` defaults to the extension-protocol bit only. */
export const handshakeBytes = (infoHashHex: string, peerId: Buffer, reserved = Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0])): Buffer =>
  Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, Buffer.from(infoHashHex, 'hex'), peerId])

/** A length-prefixed message with id and payload. */
export const message = (id: number, payload: Uint8Array = Buffer.alloc(0)): Buffer =>
  Buffer.concat([u32(1 + payload.length), Buffer.from([id]), payload])

export const keepAlive = (): Buffer => u32(0)
export const unchokeMsg = (): Buffer => message(1)
export const interestedMsg = (): Buffer => message(2)
export const haveMsg = (index: number): Buffer => message(4, u32(index))
export const bitfieldMsg = (bytes: Uint8Array): Buffer => message(5, bytes)
export const requestMsg = (index: number, offset: number, length: number): Buffer =>
  message(6, Buffer.concat([u32(index), u32(offset), u32(length)]))
export const pieceMsg = (index: number, offset: number, data: Uint8Array): Buffer =>
  message(7, Buffer.concat([u32(index), u32(offset), data]))
export const extendedMsg = (extId: number, payload: Uint8Array): Buffer => message(20, Buffer.concat([Buffer.from([extId]), payload]))

/** A bitfield claiming every piece, of exactly the right size (spare bits zero). */
export const fullBitfield = (pieceCount: number): Buffer => {
  const b = Buffer.alloc(Math.ceil(pieceCount / 8))
  for (let i = 0; i < pieceCount; i++) b[i >> 3]! |= 0x80 >> (i & 7)
  return b
}

// ---------------------------------------------------------------- connections

const makeConn = (socket: Socket, target: HostileTarget): HostileConn => {
  const chunks: Buffer[] = []
  let size = 0
  let closed = false
  let weHungUp = false
  let closedByRemote = false
  const closeWaiters: Array<() => void> = []
  const dataWaiters: Array<() => void> = []
  socket.on('data', (d: Buffer) => {
    // Keep at most 1 MiB: a flood test must not make the attacker the memory hog.
    if (size < 1 << 20) chunks.push(d)
    size += d.length
    for (const w of dataWaiters.splice(0)) w()
  })
  socket.on('error', () => {})
  const markClosed = (): void => {
    if (closed) return
    closed = true
    if (!weHungUp) closedByRemote = true
    for (const w of closeWaiters.splice(0)) w()
    for (const w of dataWaiters.splice(0)) w()
  }
  socket.on('end', markClosed)
  socket.on('close', markClosed)
  const conn: HostileConn = {
    socket,
    target,
    peerId: Buffer.concat([Buffer.from('-HX0001-'), randomBytes(12)]),
    write: (bytes) =>
      new Promise((resolve) => {
        if (closed || socket.destroyed) return resolve()
        socket.write(bytes, () => resolve())
      }),
    received: () => Buffer.concat(chunks),
    theirHandshake: async () => {
      for (;;) {
        const got = Buffer.concat(chunks)
        if (got.length >= 68) return { infoHash: got.subarray(28, 48).toString('hex'), peerId: got.subarray(48, 68).toString('hex') }
        if (closed) return null
        await new Promise<void>((r) => dataWaiters.push(r))
      }
    },
    waitClosed: (ms) =>
      new Promise((resolve) => {
        if (closed) return resolve(true)
        const timer = setTimeout(() => resolve(false), ms)
        closeWaiters.push(() => {
          clearTimeout(timer)
          resolve(true)
        })
      }),
    get closed () { return closed },
    get closedByRemote () { return closedByRemote },
    hangUp: () => {
      if (!closed) weHungUp = true
      socket.destroy()
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms))
  }
  return conn
}

const runScript = (record: { conn: HostileConn, scriptError?: unknown }, script: HostileScript): Promise<void> =>
  script(record.conn).catch((e: unknown) => {
    record.scriptError = e
  })

/**
 * Listens on 127.0.0.1 and runs `script` on every accepted connection (the engine dials us
 * when given `peer` as an explicit peer).
 *
 * @example
 * const evil = await startHostilePeer(target, hostileScripts.giantLength)
 * t.after(() => evil.close())
 * // engine: peers [evil.peer, honest.peer]; later: evil.connections[0].conn.closedByRemote
 */
export async function startHostilePeer (target: HostileTarget, script: HostileScript): Promise<HostilePeer> {
  const connections: ConnRecord[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const record: { conn: HostileConn, scriptError?: unknown } = { conn: makeConn(socket, target) }
    connections.push(record)
    void runScript(record, script)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve())
  })
  server.on('error', () => {})
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  let closing: Promise<void> | undefined
  return {
    port,
    peer: `127.0.0.1:${port}`,
    connections,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
      return closing
    }
  }
}

/**
 * Dials `port` on 127.0.0.1 (the engine's listener) and runs `script`; resolves with the
 * record once the script is done (the connection may still be open: see `conn.closed`).
 */
export async function dialHostile (port: number, target: HostileTarget, script: HostileScript): Promise<ConnRecord> {
  const socket = connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  const record: { conn: HostileConn, scriptError?: unknown } = { conn: makeConn(socket, target) }
  await runScript(record, script)
  return record
}

// ---------------------------------------------------------------- scripts

/** Send our handshake for the target, answering theirs (the engine dials: it speaks first). */
const greet = async (c: HostileConn, infoHash = c.target.infoHash): Promise<boolean> => {
  await c.write(handshakeBytes(infoHash, c.peerId))
  return (await c.theirHandshake()) !== null
}

/** Greet, claim every piece, unchoke: the engine will want to download from us. */
export const greetAsSeed = async (c: HostileConn): Promise<boolean> => {
  if (!(await greet(c))) return false
  await c.write(Buffer.concat([bitfieldMsg(fullBitfield(c.target.pieceCount)), unchokeMsg()]))
  return true
}

/** Hold the connection open (answering nothing) until the other side closes it or `ms` passes. */
const linger = async (c: HostileConn, ms: number): Promise<void> => {
  await c.waitClosed(ms)
}

const LINGER = 20000

/**
 * Reads the engine's messages as they arrive (polling every 5 ms, at most `rounds` times, until
 * the connection closes or 1 MiB came in) and answers each request with what `answer` makes of
 * it; undefined sends nothing.
 */
export const answerRequests = async (
  c: HostileConn,
  answer: (index: number, offset: number, length: number) => Buffer | undefined,
  rounds = 6000
): Promise<void> => {
  let parsed = 68
  for (let i = 0; i < rounds && !c.closed; i++) {
    const got = c.received()
    while (parsed + 4 <= got.length) {
      const len = got.readUInt32BE(parsed)
      if (parsed + 4 + len > got.length) break
      if (len === 13 && got[parsed + 4] === 6) {
        const reply = answer(got.readUInt32BE(parsed + 5), got.readUInt32BE(parsed + 9), got.readUInt32BE(parsed + 13))
        if (reply !== undefined) await c.write(reply)
      }
      parsed += 4 + len
    }
    if (got.length >= 1 << 20) break
    await c.sleep(5)
  }
}

/** Length prefix for an n-byte bencoded junk body of an extended handshake. */
const deepList = (depth: number): Buffer => Buffer.concat([Buffer.alloc(depth, 'l'), Buffer.alloc(depth, 'e')])

/**
 * The attacks. Each script connects as the engine's peer for the target torrent, misbehaves,
 * then waits (up to 20 s) for the engine to hang up.
 */
export const hostileScripts = {
  /** Answers the engine's handshake with another torrent's infohash. */
  wrongInfoHash: async (c: HostileConn) => {
    await greet(c, randomBytes(20).toString('hex'))
    await linger(c, LINGER)
  },
  /** Not BitTorrent at all: an HTTP request instead of a handshake. */
  notBitTorrent: async (c: HostileConn) => {
    await c.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    await linger(c, LINGER)
  },
  /** A 0x7fffffff length prefix, then a slow trickle of bytes. */
  giantLength: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await c.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]))
    for (let i = 0; i < 200 && !c.closed; i++) {
      await c.write(randomBytes(1024))
      await c.sleep(50)
    }
    await linger(c, LINGER)
  },
  /** A bitfield one byte too long. */
  bitfieldTooLong: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await c.write(bitfieldMsg(Buffer.concat([fullBitfield(c.target.pieceCount), Buffer.from([0xff])])))
    await linger(c, LINGER)
  },
  /** A bitfield one byte too short. */
  bitfieldTooShort: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await c.write(bitfieldMsg(fullBitfield(c.target.pieceCount).subarray(1)))
    await linger(c, LINGER)
  },
  /** Have for an index past the last piece. */
  haveOutOfRange: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await c.write(haveMsg(c.target.pieceCount + 7))
    await linger(c, LINGER)
  },
  /** A have message without its index (length 1). */
  haveTruncated: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await c.write(message(4))
    await linger(c, LINGER)
  },
  /**
   * Blocks nobody asked for, as fast as the socket takes them (5,000 of 16 KiB = 80 MiB). The
   * peer advertises no piece, so the engine never requests anything from it.
   */
  unrequestedPieces: async (c: HostileConn) => {
    if (!(await greet(c))) return
    const junk = randomBytes(16384)
    for (let i = 0; i < 5000 && !c.closed; i++) await c.write(pieceMsg(i % c.target.pieceCount, 0, junk))
    await linger(c, LINGER)
  },
  /**
   * Answers each request with a block of the wrong length, at the wrong offset, and for an
   * out-of-range piece, never with the block asked for.
   */
  wrongBlocks: async (c: HostileConn) => {
    if (!(await greetAsSeed(c))) return
    let sent = 0
    await answerRequests(c, (index, offset, length) => {
      if (sent >= 3000) return undefined
      const v = sent++ % 4
      return v === 0 ? pieceMsg(index, offset, randomBytes(Math.max(1, length - 1)))
        : v === 1 ? pieceMsg(index, offset + 1, randomBytes(length))
          : v === 2 ? pieceMsg(index, c.target.pieceLength, randomBytes(length))
            : pieceMsg(c.target.pieceCount + 1, offset, randomBytes(length))
    })
    await linger(c, LINGER)
  },
  /**
   * Answers every request with the right index, offset and length but random bytes: each piece
   * it touches fails its hash, together with the honest blocks other peers sent for it.
   */
  junkAnswers: async (c: HostileConn) => {
    if (!(await greetAsSeed(c))) return
    await answerRequests(c, (index, offset, length) => pieceMsg(index, offset, randomBytes(length)))
    await linger(c, LINGER)
  },
  /**
   * Claims everything, unchokes, and blasts one junk block at offset 0 of every piece, then
   * goes quiet. Only the blocks the engine happened to request from us are accepted; the rest
   * of each such piece comes from honest peers, so the piece fails with several senders.
   */
  poisonFirstBlocks: async (c: HostileConn) => {
    if (!(await greetAsSeed(c))) return
    await c.sleep(100)
    const junk = randomBytes(16384)
    for (let i = 0; i < c.target.pieceCount && !c.closed; i++) await c.write(pieceMsg(i, 0, junk))
    while (!c.closed && !(await c.waitClosed(1000))) await c.write(keepAlive())
  },
  /** Claims everything, unchokes, then sends only keep-alives while requests go unanswered. */
  keepAlivesOnly: async (c: HostileConn) => {
    if (!(await greetAsSeed(c))) return
    for (let i = 0; i < 2000 && !c.closed; i++) {
      await c.write(keepAlive())
      await c.sleep(10)
    }
    await linger(c, LINGER)
  },
  /**
   * Greets and advertises nothing, then sends keep-alives as fast as the socket takes them
   * (4,096 per write) for up to 60 s: neither side is ever interested.
   */
  keepAliveFlood: async (c: HostileConn) => {
    if (!(await greet(c))) return
    const batch = Buffer.concat(Array.from({ length: 4096 }, keepAlive))
    const until = Date.now() + 60000
    while (!c.closed && !c.socket.destroyed && Date.now() < until) {
      await c.write(batch)
      // A loopback write can complete without a trip through the event loop: yield, or this
      // loop (in the test's own process) would starve the engine and never see the close.
      await new Promise((resolve) => setImmediate(resolve))
    }
  },
  /** Greets, then says nothing at all (holds the connection up to 60 s). */
  silent: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await linger(c, 60000)
  },
  /** Thousands of requests (for pieces the engine may not have, and absurd lengths). */
  requestFlood: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await c.write(interestedMsg())
    const reqs: Buffer[] = []
    for (let i = 0; i < 5000; i++) reqs.push(requestMsg(i % c.target.pieceCount, 0, 16384))
    await c.write(Buffer.concat(reqs))
    await linger(c, LINGER)
  },
  /** An extended handshake that is not bencode. */
  extendedGarbage: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await c.write(extendedMsg(0, Buffer.from('d1:md6:ut_pexi99999999999999999999999999e')))
    await c.write(extendedMsg(0, randomBytes(4000)))
    await c.write(extendedMsg(0, deepList(400000)))
    // An extended message for an id we never offered.
    await c.write(extendedMsg(77, randomBytes(100)))
    await greetedThenWait(c)
  },
  /** A huge (just under a megabyte) extended handshake dictionary with many keys. */
  extendedHuge: async (c: HostileConn) => {
    if (!(await greet(c))) return
    const parts: string[] = ['d1:md']
    for (let i = 0; i < 20000; i++) parts.push(`${String(i).length + 1}:x${i}i${i}e`)
    parts.push('e1:v', '40000:', 'v'.repeat(40000), 'e')
    await c.write(extendedMsg(0, Buffer.from(parts.join(''))))
    await greetedThenWait(c)
  },
  /** A message id nobody defined, then a bitfield sent twice. */
  unknownThenDoubleBitfield: async (c: HostileConn) => {
    if (!(await greet(c))) return
    await c.write(message(99, randomBytes(50)))
    await c.write(bitfieldMsg(fullBitfield(c.target.pieceCount)))
    await c.write(bitfieldMsg(fullBitfield(c.target.pieceCount)))
    await linger(c, LINGER)
  }
} satisfies Record<string, HostileScript>

/**
 * The messages (length-prefixed, after the 68-byte handshake) received so far: [id, payload].
 * Keep-alives are skipped.
 */
export const receivedMessages = (got: Buffer): Array<[number, Buffer]> => {
  const out: Array<[number, Buffer]> = []
  let at = 68
  while (at + 4 <= got.length) {
    const len = got.readUInt32BE(at)
    if (at + 4 + len > got.length) break
    if (len > 0) out.push([got[at + 4]!, got.subarray(at + 5, at + 4 + len)])
    at += 4 + len
  }
  return out
}

/**
 * Interested, wait to be unchoked, then `count` requests of `length` bytes for pieces the
 * engine announced (bitfield/have), all in one write; then stop reading the socket (so every
 * answer piles up on the engine's side) and hold the connection for `holdMs`.
 */
export const requestFloodWhenUnchoked = (count: number, length: number, holdMs: number): HostileScript => async (c) => {
  if (!(await greet(c))) return
  await c.write(interestedMsg())
  let have: number[] = []
  for (let i = 0; i < 200 && !c.closed; i++) {
    const msgs = receivedMessages(c.received())
    if (msgs.some(([id]) => id === 1)) {
      have = []
      for (const [id, payload] of msgs) {
        if (id === 4 && payload.length === 4) have.push(payload.readUInt32BE(0))
        if (id === 5) for (let p = 0; p < c.target.pieceCount; p++) if ((payload[p >> 3]! & (0x80 >> (p & 7))) !== 0) have.push(p)
      }
      break
    }
    await c.sleep(50)
  }
  if (have.length === 0 || c.closed) return
  c.socket.pause()
  const reqs: Buffer[] = []
  const perPiece = Math.max(1, Math.floor(c.target.pieceLength / length))
  for (let i = 0; i < count; i++) {
    const piece = have[i % have.length]!
    reqs.push(requestMsg(piece, (Math.floor(i / have.length) % perPiece) * length, length))
  }
  await Promise.race([c.write(Buffer.concat(reqs)), c.sleep(2000)])
  await c.waitClosed(holdMs)
}

/** After a message the engine may tolerate: stay a while, so the test sees whether it hangs up. */
const greetedThenWait = async (c: HostileConn): Promise<void> => {
  await linger(c, 3000)
}

/**
 * Scripts that hang up at successive points of a normal session: inside the handshake,
 * right after it, inside a bitfield, inside a piece message. Used against the engine's
 * listener, where each point costs one quick connection.
 */
export const disconnectScripts = (target: HostileTarget): Array<{ name: string, script: HostileScript }> => {
  const out: Array<{ name: string, script: HostileScript }> = []
  const hs = handshakeBytes(target.infoHash, Buffer.concat([Buffer.from('-HX0001-'), randomBytes(12)]))
  const session = Buffer.concat([
    hs,
    bitfieldMsg(fullBitfield(target.pieceCount)),
    interestedMsg(),
    unchokeMsg(),
    pieceMsg(0, 0, randomBytes(16384))
  ])
  const cuts = [0, 1, 19, 20, 27, 28, 47, 48, 67, 68, 69, 71, 72, 73, 68 + 4 + 1 + Math.ceil(target.pieceCount / 16)]
  const bitfieldEnd = 68 + 5 + Math.ceil(target.pieceCount / 8)
  cuts.push(bitfieldEnd, bitfieldEnd + 5, bitfieldEnd + 10, bitfieldEnd + 10 + 4, bitfieldEnd + 10 + 13, bitfieldEnd + 10 + 13 + 8000, session.length - 1)
  for (const cut of cuts) {
    out.push({
      name: `cut at byte ${cut}`,
      script: async (c) => {
        if (cut > 0) await c.write(session.subarray(0, cut))
        await c.sleep(30)
        c.hangUp()
      }
    })
  }
  return out
}
