import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FileClaims, filePaths } from '../../../lib/engine/client/file-claims.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'

const meta = (files: { path: string[]; pad?: boolean }[]): Metainfo => ({ files: files.map((f) => ({ length: 1, offset: 0, ...f })) }) as unknown as Metainfo

test('filePaths: absolute paths in the folder, pad files left out', () => {
  assert.deepEqual(filePaths(meta([{ path: ['a', 'b.bin'] }, { path: ['.pad', '1'], pad: true }, { path: ['c'] }]), '/dl'), ['/dl/a/b.bin', '/dl/c'])
})

test('a file claimed by one torrent is refused to another, naming the file and the owner, until released', () => {
  const claims = new FileClaims()
  assert.equal(claims.conflict(['/dl/a', '/dl/b']), null)
  claims.claim('t1', ['/dl/a', '/dl/b'])
  assert.equal(claims.conflict(['/dl/c']), null)
  const why = claims.conflict(['/dl/c', '/dl/b'])
  assert.match(why ?? '', /\/dl\/b/)
  assert.match(why ?? '', /t1/)
  claims.release('t1')
  assert.equal(claims.conflict(['/dl/a', '/dl/b']), null)
})

test('releasing a torrent frees only its own claims', () => {
  const claims = new FileClaims()
  claims.claim('t1', ['/dl/a'])
  claims.claim('t2', ['/dl/b'])
  claims.release('t1')
  claims.release('t3')
  assert.equal(claims.conflict(['/dl/a']), null)
  assert.match(claims.conflict(['/dl/b']) ?? '', /t2/)
})
