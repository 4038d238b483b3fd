import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { createHasher, sha1, sameDigest } from '../../../lib/engine/disk/hasher.ts'

function nodeSha1(chunks: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha1')
  for (const c of chunks) h.update(c)
  return new Uint8Array(h.digest())
}

test('sha1() matches node:crypto and the FIPS 180 vector', async () => {
  assert.equal(Buffer.from(await sha1([new TextEncoder().encode('abc')])).toString('hex'), 'a9993e364706816aba3e25717850c26c9cd0d89d')
  assert.equal(Buffer.from(await sha1([])).toString('hex'), 'da39a3ee5e6b4b0d3255bfef95601890afd80709')
})

for (const workers of [0, 1, 2]) {
  test(`pool with ${workers} worker(s): verify and digest agree with node:crypto on random data`, async (t) => {
    const hasher = createHasher({ workers })
    t.after(() => hasher.close())
    assert.equal(hasher.workers, workers)
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 6 }), async (chunks) => {
        const want = nodeSha1(chunks)
        assert.deepEqual(await hasher.digest(chunks), want)
        assert.equal(await hasher.verify(chunks, want), true)
        const wrong = want.slice()
        wrong[7]! ^= 1
        assert.equal(await hasher.verify(chunks, wrong), false)
        assert.equal(await hasher.verify(chunks, want.subarray(0, 19)), false)
      }),
      { numRuns: 50 },
    )
  })

  test(`pool with ${workers} worker(s): many concurrent verify calls each get their own answer`, async (t) => {
    const hasher = createHasher({ workers })
    t.after(() => hasher.close())
    const pieces = Array.from({ length: 64 }, (_, i) => [new Uint8Array(randomBytes(1000 + i * 997)), new Uint8Array(randomBytes(i))])
    const expected = pieces.map((p, i) => (i % 3 === 0 ? new Uint8Array(20) : nodeSha1(p)))
    const results = await Promise.all(pieces.map((p, i) => hasher.verify(p, expected[i]!)))
    assert.deepEqual(results, pieces.map((_, i) => i % 3 !== 0))
  })
}

for (const workers of [0, 1, 2]) {
  test(`digestPieces (${workers} workers): per-piece digests, buffers given back for reuse`, async (t) => {
    const hasher = createHasher({ workers })
    t.after(() => hasher.close())
    const data = new Uint8Array(randomBytes(10_000))
    const lengths = [4000, 4000, 1500, 0]
    const want = [nodeSha1([data.subarray(0, 4000)]), nodeSha1([data.subarray(4000, 8000)]), nodeSha1([data.subarray(8000, 9500)]), nodeSha1([])]
    const copy = data.slice()
    assert.deepEqual(await hasher.digestPieces(data, lengths), want)
    assert.deepEqual(data, copy, 'not moved without transfer')
    const back: Uint8Array[] = []
    assert.deepEqual(await hasher.digestPieces(data, lengths, { transfer: true, giveBack: (b) => back.push(b) }), want)
    assert.equal(back.length, 1)
    assert.deepEqual(back[0], copy, 'the same bytes come back')
    // a view cannot be moved: it is copied and not given back
    const view = copy.subarray(1)
    const back2: Uint8Array[] = []
    assert.deepEqual(await hasher.digestPieces(view, [5], { transfer: true, giveBack: (b) => back2.push(b) }), [nodeSha1([copy.subarray(1, 6)])])
    assert.equal(view.length, 9999)
    assert.equal(back2.length, workers === 0 ? 1 : 0)
    await assert.rejects(hasher.digestPieces(new Uint8Array(3), [2, 2]), RangeError)
  })
}

test('transfer moves whole-buffer chunks and copies views', async (t) => {
  const hasher = createHasher({ workers: 1 })
  t.after(() => hasher.close())
  const own = new Uint8Array(randomBytes(5000))
  const big = new Uint8Array(randomBytes(9000))
  const view = big.subarray(100, 4100)
  const want = nodeSha1([own, view])
  assert.equal(await hasher.verify([own, view], want, { transfer: true }), true)
  assert.equal(own.byteLength, 0, 'owned chunk was transferred')
  assert.equal(view.byteLength, 4000, 'view was copied, not detached')
  const copy = new Uint8Array(randomBytes(100))
  await hasher.verify([copy], nodeSha1([copy]))
  assert.equal(copy.byteLength, 100, 'no transfer unless asked')
})

test('close() rejects pending and later calls', async () => {
  const hasher = createHasher({ workers: 1 })
  const pending = hasher.verify([new Uint8Array(randomBytes(4 << 20))], new Uint8Array(20))
  const closing = hasher.close()
  await assert.rejects(pending, /closed/)
  await closing
  await assert.rejects(hasher.verify([], new Uint8Array(20)), /closed/)
  await hasher.close()
  const inline = createHasher({ workers: 0 })
  await inline.close()
  await assert.rejects(inline.verify([], new Uint8Array(20)), /closed/)
})

test('sameDigest', () => {
  assert.equal(sameDigest(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true)
  assert.equal(sameDigest(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false)
  assert.equal(sameDigest(Uint8Array.of(1), Uint8Array.of(1, 2)), false)
})

// A child process that uses the pool must exit by itself: after close(), and even if close() is forgotten.
for (const [name, tail] of [
  ['after close()', 'await h.close()'],
  ['when close() is forgotten (idle workers are unref\'d)', ''],
] as const) {
  test(`process exits ${name}`, { timeout: 30000 }, async () => {
    const mod = fileURLToPath(new URL('../../../lib/engine/disk/hasher.ts', import.meta.url))
    const script = `
      import { createHasher } from ${JSON.stringify(mod)}
      const h = createHasher({ workers: 2 })
      const r = await Promise.all([h.verify([new Uint8Array(1000)], new Uint8Array(20)), h.digest([new Uint8Array(10)])])
      console.log('hashed', r[0], r[1].length)
      ${tail}
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000)
    try {
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
      assert.equal(code, 0, `child did not exit cleanly: ${out}`)
      assert.match(out, /hashed false 20/)
    } finally {
      clearTimeout(timer)
      child.kill('SIGKILL')
    }
  })
}
