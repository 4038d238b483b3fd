import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { compareTrees, makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { bin } from './support.ts'

const exec = promisify(execFile)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

test('get under a terminal (tmux) draws a progress bar and updates its percentage', { timeout: 90_000 }, async (t) => {
  const tmp = await makeTempDir('cli-tty-')
  t.after(() => tmp.close())
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'movie'), { totalBytes: 5 << 20, fileCount: 2 })
  const torrent = await mktorrent(tree.root, join(tmp.path, 'movie.torrent'), { announce: [tracker.httpAnnounce], pieceLengthLog2: 16 })
  // Slow enough (1 MiB/s) for the bar to be seen part-way.
  const seeder = await startAria2Seeder({ torrentPath: torrent.path, dir: join(tmp.path, 'seed'), maxUploadBytesPerSec: 1 << 20 })
  t.after(() => seeder.close())

  // A tmux server of our own (its own socket), killed at the end whatever happens.
  const socket = `tp-cli-tty-${process.pid}`
  const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args], { timeout: 10_000 })
  t.after(() => tmux('kill-server').catch(() => undefined))
  const out = join(tmp.path, 'out')
  const command = `${quote(process.execPath)} ${quote(bin)} get ${quote(torrent.path)} --out ${quote(out)} --peer ${seeder.peer}; echo EXIT=$?; sleep 600`
  await tmux('new-session', '-d', '-s', 'cli', '-x', '200', '-y', '20', command)

  const percentages = new Set<string>()
  let barSeen = false
  let onePeer = false
  let pane = ''
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    pane = (await tmux('capture-pane', '-p', '-t', 'cli')).stdout
    if (/\|  1 peer  \|/.test(pane)) onePeer = true
    for (const line of pane.split('\n')) {
      const m = /^movie\s+([█░]{24})\s+(\d+\.\d)% \| down .* \| up .* \| +\d+ peers? +\| ETA +\S+ \| \S+/.exec(line)
      if (m !== null) {
        barSeen = true
        percentages.add(m[2]!)
      }
    }
    if (/EXIT=\d+/.test(pane)) break
    await sleep(150)
  }
  assert.ok(barSeen, `no progress bar in the pane:\n${pane}`)
  assert.match(pane, /EXIT=0/, pane)
  assert.match(pane, /movie: 5\.00 MiB complete and verified in /)
  // One seeder: "1 peer", singular. The finished bar keeps no rate measured before the end.
  assert.ok(onePeer, 'a bar said "1 peer"')
  const final = pane.split('\n').find((l) => /^movie\s+█{24}\s+100\.0%/.test(l))
  assert.ok(final !== undefined, `a finished bar: ${pane}`)
  assert.match(final, /\| down +-- \| up +-- \| .* \| ETA +-- \|/, final)
  const values = [...percentages].map(Number)
  assert.ok(values.length >= 3, `the percentage should change while downloading; saw ${values.join(', ')}`)
  assert.ok(values.some((v) => v > 0 && v < 100), `saw no value part-way: ${values.join(', ')}`)
  assert.ok(values.includes(100), `the bar should end at 100%: ${values.join(', ')}`)
  assert.equal(await compareTrees(tree.root, join(out, 'movie')), undefined)
})
