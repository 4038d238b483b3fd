/**
 * The library's layering, checked on the sources: the messages depend on
 * nothing, the service knows engines only through the engine contract, and
 * the engine knows nothing of patrons or of the service.
 */
import { strict as assert } from 'node:assert'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const sources = (folder: string): string[] =>
  readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(folder, f))

/** Every module a source file imports or re-exports, resolved against the repository's root. */
const importsOf = (file: string): string[] => {
  const text = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
  const found: string[] = []
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+['"]([^'"]+)['"]/gm)) {
    const spec = m[1]!
    found.push(spec.startsWith('.') ? relative(root, resolve(join(root, dirname(file)), spec)) : spec)
  }
  return found
}

/** The message modules: lib/messages.ts, everything under lib/messages/, and the status dictionary. */
const messageModules = (): string[] => ['lib/messages.ts', 'lib/status.ts', ...sources('lib/messages')]

/** A message module may import only another message module (no package, no engine, no service). */
const messageMayImport = (dep: string): boolean => dep === 'lib/messages.ts' || dep === 'lib/status.ts' || /^lib\/messages\/[\w-]+\.ts$/.test(dep)

test('the messages and the status dictionary import nothing but each other', () => {
  const files = messageModules()
  assert.ok(files.length >= 6, `the message modules: ${files.join(', ')}`)
  for (const file of files) {
    for (const dep of importsOf(file)) assert.ok(messageMayImport(dep), `${file} imports ${dep}`)
  }
})

test('the message rule refuses the engine, the service, the patron and packages', () => {
  for (const dep of ['lib/engine/index.ts', 'lib/engine-contract.ts', 'lib/service/index.ts', 'lib/patron.ts', 'lib/messages/../engine/index.ts', '@most/core', 'node:fs']) {
    assert.ok(!messageMayImport(dep), dep)
  }
  for (const dep of ['lib/messages/commands.ts', 'lib/messages.ts', 'lib/status.ts']) assert.ok(messageMayImport(dep), dep)
})

test('the service reaches engines only through the engine contract', () => {
  for (const file of sources('lib/service')) {
    for (const dep of importsOf(file)) {
      assert.ok(!dep.startsWith('lib/engine/'), `${file} imports ${dep}`)
      assert.ok(!dep.startsWith('lib/patron'), `${file} imports ${dep}`)
    }
  }
})

test('the engine knows nothing of patrons or of the service', () => {
  const files = sources('lib/engine')
  assert.ok(files.length > 50)
  for (const file of files) {
    for (const dep of importsOf(file)) {
      assert.ok(!dep.startsWith('lib/service') && !dep.startsWith('lib/patron') && !dep.startsWith('lib/default-service'), `${file} imports ${dep}`)
    }
  }
})

test('the import scan sees relative imports (the rules above can fail)', () => {
  assert.ok(importsOf('lib/messages.ts').includes('lib/status.ts'))
  assert.ok(importsOf('lib/messages/feedback.ts').includes('lib/status.ts'))
  assert.ok(importsOf('lib/messages/envelopes.ts').includes('lib/messages/commands.ts'))
  assert.ok(importsOf('lib/service/service.ts').includes('lib/engine-contract.ts'))
})
