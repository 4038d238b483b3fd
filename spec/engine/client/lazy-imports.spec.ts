/**
 * The optional parts of the engine load only when used: importing the
 * library loads neither bittorrent-dht nor Node's HTTP stack, a client with
 * the DHT off never loads the DHT, and tracker announces never load the
 * client behind the global `fetch` (undici), which alone costs about 10 MiB
 * of resident memory. Each check runs in a fresh Node process, since a
 * module once loaded stays loaded.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** What a fresh process running `body` (ESM, top-level await) has loaded: Node's built-ins and CommonJS files. */
const loadedBy = (body: string): Promise<{ builtins: string[]; files: string[]; out: string }> =>
  new Promise((resolve, reject) => {
    const script = `
      import { createRequire } from 'node:module'
      ${body}
      const files = Object.keys(createRequire(import.meta.url).cache)
      const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length))
      console.log(JSON.stringify({ builtins, files }))
      process.exit(0)
    `
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env: { ...process.env, TORRENT_PATRON_DHT: 'off' } }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`))
      const last = stdout.trim().split('\n').pop() ?? ''
      resolve({ ...(JSON.parse(last) as { builtins: string[]; files: string[] }), out: stdout })
    })
  })

const dhtFiles = (files: readonly string[]): string[] => files.filter((f) => /node_modules[\\/](k-rpc|k-rpc-socket|k-bucket)[\\/]/.test(f))
const httpBuiltins = (builtins: readonly string[]): string[] => builtins.filter((b) => b === 'http' || b === 'https' || b === '_http_server' || b === '_http_client')
const undici = (builtins: readonly string[]): string[] => builtins.filter((b) => b.includes('undici'))

test('importing the library loads neither the DHT nor the HTTP stack', async () => {
  const { builtins, files } = await loadedBy(`await import('./lib/index.ts'); await import('./operators/index.ts')`)
  assert.deepEqual(dhtFiles(files), [])
  assert.deepEqual(httpBuiltins(builtins), [])
})

test('a client with the DHT off, announcing a torrent to an HTTP tracker, loads no DHT, no fetch client and no TLS', async () => {
  const { builtins, files, out } = await loadedBy(`
    import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
    import { tmpdir } from 'node:os'
    import { join } from 'node:path'
    const { now, runEffects, tap, take, filter, mergeArray, never } = await import('@most/core')
    const { newDefaultScheduler } = await import('@most/scheduler')
    const { torrentClient } = await import('./lib/engine/client/client.ts')
    const { createNewTorrent } = await import('./lib/messages.ts')
    const { makeTorrent } = await import('./lib/maker/index.ts')
    const dir = mkdtempSync(join(tmpdir(), 'tp-lazy-'))
    const src = mkdtempSync(join(tmpdir(), 'tp-lazy-src-'))
    writeFileSync(join(src, 'x.bin'), new Uint8Array(40000))
    // A tracker that refuses at once (the discard port): the announce path runs too.
    const torrent = await makeTorrent(join(src, 'x.bin'), { announce: 'http://127.0.0.1:9/announce', pieceLength: 16384 })
    const engine = torrentClient({ dht: false, host: '127.0.0.1', statusInterval: 50 })
    const cmds = mergeArray([now(createNewTorrent(torrent, { savefolder: dir })), never()])
    // Until the first announce failed (the discard port refuses it): the announce path ran.
    const announced = filter((f) => f.type === 'TorrentStatusUpdate' && f.statsdictionary.trackers?.[0]?.state === 'failing', engine(cmds))
    await runEffects(tap((f) => console.log('announce:', f.statsdictionary.trackers[0].error), take(1, announced)), newDefaultScheduler())
    rmSync(dir, { recursive: true, force: true })
    rmSync(src, { recursive: true, force: true })
  `)
  assert.match(out, /announce: \S/)
  assert.deepEqual(dhtFiles(files), [])
  assert.deepEqual(undici(builtins), [])
  // node:http for an http: tracker; TLS only for https: ones.
  assert.deepEqual(builtins.filter((b) => b === 'https' || b === '_tls_wrap'), [])
})
