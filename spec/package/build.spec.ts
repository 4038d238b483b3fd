/**
 * The package works without TypeScript tooling: `npm run build`'s config
 * compiles lib/ and operators/ to JavaScript with declarations, every
 * `exports` target of package.json is among the files it writes, and plain
 * node (no tsx, no custom conditions) loads the compiled entry points and
 * finds the public API in them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join, relative } from 'node:path'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))

test('the build compiles lib/ and operators/ and plain node loads what package.json exports', { timeout: 120_000 }, async (t) => {
  // One level below the checkout, as dist/ is: the compiled files find
  // node_modules, and the .d.ts references to types/ resolve (.build-* is ignored).
  const out = await mkdtemp(join(root, '.build-'))
  t.after(() => rm(out, { recursive: true, force: true }))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root })

  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { source: string; types: string; default: string }>
  }
  for (const [name, target] of Object.entries(pkg.exports)) {
    for (const key of ['types', 'default'] as const) {
      assert.match(target[key], /^\.\/dist\//, `${name} ${key} points into dist/`)
      // The build's outDir stands in for dist/.
      const built = join(out, relative('dist', target[key].slice(2)))
      await access(built).catch(() => assert.fail(`${name}: ${key} target ${target[key]} is not built (${built})`))
    }
    await access(join(root, target.source))
  }

  const main = pathToFileURL(join(out, 'lib', 'index.js')).href
  const ops = pathToFileURL(join(out, 'operators', 'index.js')).href
  const probe = `
    const m = await import(${JSON.stringify(main)})
    const o = await import(${JSON.stringify(ops)})
    console.log(JSON.stringify({ main: Object.keys(m).sort(), ops: Object.keys(o).sort() }))
  `
  // No --import tsx here: this is what an application on plain Node 20 does.
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: root })
  const seen = JSON.parse(stdout) as { main: string[]; ops: string[] }
  for (const name of ['torrentClient', 'torrentService', 'torrentPatron', 'createNewTorrent', 'closeTorrent', 'isTorrentStatusUpdate', 'makeTorrent'])
    assert.ok(seen.main.includes(name), `torrent-patron exports ${name}: ${seen.main.join(', ')}`)
  for (const name of ['downloadAll', 'progress'])
    assert.ok(seen.ops.includes(name), `torrent-patron/operators exports ${name}`)

  // An application type-checks against the declarations alone, strict and
  // without skipLibCheck (the untyped dependencies' typings come from types/).
  const app = join(out, 'consumer.ts')
  await writeFile(
    app,
    [
      "import { torrentClient, torrentService, torrentPatron, createNewTorrent, type Feedback } from './lib/index.js'",
      "import { downloadAll } from './operators/index.js'",
      "const patron = torrentPatron(torrentService(torrentClient({ downloadFolder: 'downloads' })))",
      "const feedback = downloadAll(patron, [createNewTorrent('magnet:?xt=urn:btih:' + '0'.repeat(40))])",
      'export const first = (f: Feedback): string => f.type',
      'export { feedback }',
      ''
    ].join('\n')
  )
  await writeFile(
    join(out, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      files: ['consumer.ts']
    })
  )
  await writeFile(join(out, 'package.json'), JSON.stringify({ type: 'module' }))
  const check = await run(process.execPath, [tsc, '-p', join(out, 'tsconfig.json')], { cwd: out }).then(
    () => '',
    (e: { stdout?: string }) => e.stdout ?? String(e)
  )
  assert.equal(check, '', 'the declarations type-check in a strict application')
})
