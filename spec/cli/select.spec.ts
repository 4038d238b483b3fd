/** `--only` / `--skip` lists turned into file priorities: indices, names, globs, magnets, and every bad value. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseSelection, selectionPriorities } from '../../cli/select.ts'
import { CliError } from '../../cli/errors.ts'

const files = [['album', 'a.ogg'], ['album', 'sub', 'b.ogg'], ['album', 'cover.jpg'], ['album', 'sub', 'notes.txt']]
const usage = (f: () => unknown, message: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof CliError && e.exitCode === 2 && message.test(e.message))

test('--only: indices, paths with or without the torrent name, base names and globs select files', () => {
  const only = (text: string) => selectionPriorities('get', parseSelection('get', text, undefined)!, files).priorities
  assert.deepEqual(only('1,3'), ['skip', 'normal', 'skip', 'normal'])
  assert.deepEqual(only('album/cover.jpg'), ['skip', 'skip', 'normal', 'skip'])
  assert.deepEqual(only('sub/b.ogg'), ['skip', 'normal', 'skip', 'skip'])
  assert.deepEqual(only('notes.txt, 0'), ['normal', 'skip', 'skip', 'normal'])
  assert.deepEqual(only('*.ogg'), ['normal', 'normal', 'skip', 'skip'])
  assert.deepEqual(only('sub/*'), ['skip', 'normal', 'skip', 'normal'])
  assert.deepEqual(only('?.ogg'), ['normal', 'normal', 'skip', 'skip'])
})

test('--skip: the complement; skipping every file is refused', () => {
  const skip = (text: string) => selectionPriorities('get', parseSelection('get', undefined, text)!, files).priorities
  assert.deepEqual(skip('2'), ['normal', 'normal', 'skip', 'normal'])
  assert.deepEqual(skip('*.ogg'), ['skip', 'skip', 'normal', 'normal'])
  usage(() => skip('0,1,2,3'), /--skip 0,1,2,3 leaves no file to download/)
  usage(() => skip('*'), /leaves no file/)
})

test('a magnet takes indices only; --only skips the files past them, --skip keeps them', () => {
  const sel = (only?: string, skip?: string) => selectionPriorities('get', parseSelection('get', only, skip)!, undefined)
  assert.deepEqual(sel('2,0'), { priorities: ['normal', 'skip', 'normal'], otherFiles: 'skip' })
  assert.deepEqual(sel(undefined, '1'), { priorities: ['normal', 'skip'] })
  usage(() => sel('a.ogg'), /a magnet's file names are known only once its metadata arrives; give file indices/)
  usage(() => sel('*'), /give file indices/)
  usage(() => sel('100000'), /go up to 99999/)
})

test('bad values: usage errors (exit 2) that say what is wrong', () => {
  const only = (text: string) => selectionPriorities('get', parseSelection('get', text, undefined)!, files)
  usage(() => only('4'), /--only 4: no such file, the torrent has 4 files \(numbered 0 to 3\)/)
  usage(() => only('99999999999999999999'), /no such file/)
  usage(() => only('movie.mkv'), /--only movie.mkv: no file of the torrent has that name or index/)
  usage(() => only('-1'), /no file of the torrent has that name or index/)
  usage(() => only('1.5'), /no file of the torrent has that name or index/)
  usage(() => parseSelection('get', '', undefined), /--only wants a comma-separated list of file indices or names, not ""/)
  usage(() => parseSelection('get', '1,,2', undefined), /not "1,,2"/)
  usage(() => parseSelection('get', undefined, ','), /--skip wants/)
  usage(() => parseSelection('get', '1', '2'), /--only and --skip cannot be used together/)
  assert.equal(parseSelection('get', undefined, undefined), undefined)
})
