import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { PieceHasher, fileChunks } from '../../lib/maker/piece-hasher.ts'

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

test('pieces over chunks cut anywhere are the SHA-1 of each piece; the last one short or zero-filled', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 700 }), fc.array(fc.nat(5000)), (data, pieceLength, cuts) => {
      const whole = [...new Set(cuts.filter((c) => c < data.length))].sort((a, b) => a - b)
      for (const zeroFill of [false, true]) {
        const h = new PieceHasher(pieceLength)
        let at = 0
        for (const c of [...whole, data.length]) {
          h.update(data.subarray(at, c))
          at = c
        }
        const expected: string[] = []
        for (let p = 0; p < data.length; p += pieceLength) {
          const piece = data.subarray(p, p + pieceLength)
          const padded = zeroFill && piece.length < pieceLength ? Buffer.concat([piece, Buffer.alloc(pieceLength - piece.length)]) : piece
          expected.push(sha1(padded))
        }
        assert.deepEqual(h.finish(zeroFill).map((d) => d.toString('hex')), expected)
      }
    })
  )
})

test('fileChunks yields the file, and throws naming it when it is not the size it was listed with', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'piece-hasher-'))
  try {
    const file = join(dir, 'a.bin')
    const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7)
    writeFileSync(file, data)
    const read: Buffer[] = []
    for await (const c of fileChunks({ abs: file, length: data.length })) read.push(c)
    assert.ok(Buffer.concat(read).equals(data))
    const drain = async (abs: string, length: number): Promise<number> => {
      let n = 0
      for await (const c of fileChunks({ abs, length })) n += c.length
      return n
    }
    await assert.rejects(drain(file, data.length + 1), /a\.bin changed size while hashing/)
    await assert.rejects(drain(file, 10), /a\.bin changed size while hashing \(10 -> /)
    const empty = join(dir, 'empty')
    appendFileSync(empty, '')
    assert.equal(await drain(empty, 0), 0)
    await assert.rejects(drain(empty, 1), /empty changed size while hashing \(1 -> 0 bytes\)/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
