/**
 * The demo's data: a few files of random bytes, and a byte-for-byte check
 * of downloaded copies against them.
 *
 * @module
 */
import { randomFillSync } from 'node:crypto'
import { open } from 'node:fs/promises'
import path from 'node:path'

const CHUNK = 1 << 20

/** Write a file of `size` random bytes, 1 MiB at a time. */
export const writeRandomFile = async (file: string, size: number): Promise<void> => {
  const handle = await open(file, 'w')
  try {
    const chunk = Buffer.allocUnsafe(CHUNK)
    for (let done = 0; done < size; done += CHUNK) {
      const n = Math.min(CHUNK, size - done)
      randomFillSync(chunk, 0, n)
      await handle.write(chunk, 0, n)
    }
  } finally {
    await handle.close()
  }
}

/** Sizes of `count` files adding up to `total` bytes, each a little different. */
export const fileSizes = (total: number, count: number): number[] => {
  const weights = Array.from({ length: count }, (_, i) => 2 + i)
  const sum = weights.reduce((a, b) => a + b, 0)
  const sizes = weights.map((w) => Math.floor((total * w) / sum))
  sizes[count - 1]! += total - sizes.reduce((a, b) => a + b, 0)
  return sizes
}

/** Make `count` random files in `folder`; returns their paths. */
export const makeDataset = async (folder: string, total: number, count: number): Promise<string[]> => {
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel']
  const sizes = fileSizes(total, count)
  const files: string[] = []
  for (let i = 0; i < count; i++) {
    const file = path.join(folder, `${names[i % names.length]}${i >= names.length ? i : ''}.bin`)
    await writeRandomFile(file, sizes[i]!)
    files.push(file)
  }
  return files
}

/** True when two files hold the same bytes (compared 1 MiB at a time, any size). */
export const sameBytes = async (a: string, b: string): Promise<boolean> => {
  const [ha, hb] = await Promise.all([open(a, 'r'), open(b, 'r')])
  try {
    const [sa, sb] = await Promise.all([ha.stat(), hb.stat()])
    if (sa.size !== sb.size) return false
    const bufA = Buffer.allocUnsafe(CHUNK)
    const bufB = Buffer.allocUnsafe(CHUNK)
    for (let at = 0; at < sa.size; at += CHUNK) {
      const n = Math.min(CHUNK, sa.size - at)
      const [ra, rb] = await Promise.all([ha.read(bufA, 0, n, at), hb.read(bufB, 0, n, at)])
      if (ra.bytesRead !== n || rb.bytesRead !== n || !bufA.subarray(0, n).equals(bufB.subarray(0, n))) return false
    }
    return true
  } finally {
    await Promise.all([ha.close(), hb.close()])
  }
}
