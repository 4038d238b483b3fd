/**
 * fast-check arbitraries for hostile metainfo, shared by spec/fuzz/metainfo.fuzz.spec.ts
 * (a few thousand cases in CI) and bench/fuzz.ts (`npm run fuzz`, 100,000 cases).
 *
 * Torrent dictionaries are built from a mix of valid and hostile fields so that
 * a good share of cases parse (the ok branch is exercised too), and the rest hit
 * every refusal: wrong types, missing keys, huge or negative sizes, bad piece
 * lengths, piece strings of the wrong size, traversal, duplicates, NUL and
 * control characters, deep nesting, truncation and plain garbage.
 */
import fc from 'fast-check'
import { bencode, type Encodable } from '../../lib/engine/metainfo/bencode-encode.ts'
import { staysInside, pathProblem } from '../../lib/engine/metainfo/safe-path.ts'
import type { Metainfo, ParseResult } from '../../lib/engine/contracts.ts'

const enc = new TextEncoder()

/** Path components: mostly fine, often hostile. */
export const component: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'docs', 'file.txt', 'Ünïcødé', 'x y', '.hidden', 'foobar ') },
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('', '.', '..', '/', '\\', '/etc/passwd', '..\\..\\win.ini', 'C:', 'c:evil', 'a/../../b',
      'nul\0byte', 'tab\there', 'line\nbreak', 'del\x7f', 'x'.repeat(256), '\u00e9'.repeat(128))
  }
)

const path: fc.Arbitrary<Encodable> = fc.oneof(
  { weight: 8, arbitrary: fc.array(component, { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.constantFrom<Encodable>('flat-string', 7, [1, 'a'], [['nested']], { a: 1 }) },
  { weight: 1, arbitrary: fc.array(component, { minLength: 33, maxLength: 40 }) }
)

const fileLength: fc.Arbitrary<Encodable> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 200_000 }) },
  { weight: 1, arbitrary: fc.constantFrom<Encodable>(-1, -45, 2 ** 53, 2n ** 62n, -(2n ** 63n), '100', [45], 1759218597889) }
)

const fileEntry: fc.Arbitrary<Encodable> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ length: fileLength, path }, { requiredKeys: ['length', 'path'] }) },
  { weight: 1, arbitrary: fc.record({ length: fc.integer({ min: 0, max: 40_000 }), attr: fc.constantFrom('p', 'l', 'x', 'xl', 'h'), path }, { requiredKeys: ['length', 'attr'] }) },
  { weight: 1, arbitrary: fc.record({ length: fileLength }) },
  { weight: 1, arbitrary: fc.constantFrom<Encodable>('not a dict', 3, []) }
)

/** Duplicate a random entry now and then, so duplicate paths are common. */
const fileList: fc.Arbitrary<Encodable[]> = fc.array(fileEntry, { minLength: 0, maxLength: 8 }).chain(files =>
  files.length > 0 && files.length < 8
    ? fc.oneof({ weight: 4, arbitrary: fc.constant(files) }, { weight: 1, arbitrary: fc.nat(files.length - 1).map(i => [...files, files[i] as Encodable]) })
    : fc.constant(files))

const pieceLength: fc.Arbitrary<Encodable> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(16384, 32768, 65536, 262144) },
  { weight: 2, arbitrary: fc.constantFrom<Encodable>(0, -16384, 16383, 12345, 8192, 1, 2 ** 27, 536854528, 2 ** 40, 2n ** 62n, '16384', [16384]) }
)

const name: fc.Arbitrary<Encodable> = fc.oneof(
  { weight: 8, arbitrary: component },
  { weight: 1, arbitrary: fc.constantFrom<Encodable>(1348, ['a'], enc.encode('\0\0\0\0')) }
)

type PiecesMode = 'consistent' | 'random' | 'wrong-type' | 'missing'

/** A .torrent as a JS value, before encoding. */
export const torrentValue: fc.Arbitrary<Encodable> = fc.record({
  name: fc.option(name, { nil: undefined, freq: 10 }),
  pieceLength: fc.option(pieceLength, { nil: undefined, freq: 10 }),
  layout: fc.oneof(
    { weight: 1, arbitrary: fileLength.map(length => ({ length }) as Record<string, Encodable>) },
    { weight: 2, arbitrary: fileList.map(files => ({ files }) as Record<string, Encodable>) }
  ),
  piecesMode: fc.constantFrom<PiecesMode>('consistent', 'consistent', 'consistent', 'random', 'wrong-type', 'missing'),
  randomPiecesLength: fc.nat(400),
  extra: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom<Record<string, Encodable>>(
    { 'meta version': 2 }, { 'meta version': 3 }, { 'meta version': 'two' }, { private: 1 },
    { 'name.utf-8': '..' }, { 'file tree': { a: { '': { length: 5 } } }, 'meta version': 2 }, { similar: ['x'] }
  ) }),
  announce: fc.option(fc.constantFrom<Encodable>('http://127.0.0.1:6969/announce', 'file:///etc/passwd', ' udp://127.0.0.1:1 ', 7, ['x']), { nil: undefined }),
  infoIsDict: fc.integer({ min: 0, max: 29 }).map(n => n !== 0)
}).map(t => {
  const info: Record<string, Encodable> = { ...t.layout }
  if (t.name !== undefined) info['name'] = t.name
  if (t.pieceLength !== undefined) info['piece length'] = t.pieceLength
  if (t.extra !== undefined) Object.assign(info, t.extra)
  const pl = typeof t.pieceLength === 'number' && t.pieceLength > 0 ? t.pieceLength : 16384
  if (t.piecesMode === 'consistent') {
    const total = totalOf(info)
    const count = Math.ceil(total / pl)
    info['pieces'] = new Uint8Array(Number.isSafeInteger(count) && count >= 0 && count <= 2000 ? count * 20 : 20)
  } else if (t.piecesMode === 'random') {
    info['pieces'] = new Uint8Array(t.randomPiecesLength)
  } else if (t.piecesMode === 'wrong-type') {
    info['pieces'] = -23
  }
  const root: Record<string, Encodable> = { info: t.infoIsDict ? info : 'files' }
  if (t.announce !== undefined) root['announce'] = t.announce
  return root
})

function totalOf (info: Record<string, Encodable>): number {
  const files = info['files']
  if (Array.isArray(files)) {
    let sum = 0
    for (const f of files as Encodable[]) {
      if (typeof f === 'object' && f !== null && !Array.isArray(f) && !(f instanceof Uint8Array)) {
        const d = f as Record<string, Encodable>
        if (typeof d['length'] === 'number' && !String(d['attr'] ?? '').includes('l')) sum += d['length']
      }
    }
    return sum
  }
  return typeof info['length'] === 'number' ? info['length'] : 0
}

/** Torrents with only valid fields (and optional pad files), so the accepting branch is well exercised. */
export const validTorrentValue: fc.Arbitrary<Encodable> = fc.record({
  name: fc.constantFrom('share', 'Album (2024)', 'Ünïcødé', 'x.iso'),
  pieceLength: fc.constantFrom(16384, 32768, 65536),
  single: fc.boolean(),
  files: fc.uniqueArray(
    fc.tuple(fc.array(fc.constantFrom('a', 'b', 'docs', 'Ñ'), { maxLength: 3 }), fc.nat(20), fc.integer({ min: 0, max: 100_000 }), fc.boolean()),
    { minLength: 1, maxLength: 10, selector: ([dirs, n]) => [...dirs, n].join('/') }
  ),
  privateFlag: fc.boolean()
}).map(t => {
  const files = t.files.map(([dirs, n, length, pad]) => pad
    ? { length, attr: 'p', path: ['.pad', String(n)] }
    : { length, path: [...dirs, `f${n}.bin`] })
  const info: Record<string, Encodable> = { name: t.name, 'piece length': t.pieceLength }
  let total: number
  if (t.single) {
    total = (files[0]?.length ?? 0) + 1
    info['length'] = total
  } else {
    // Real files must not share a path; pads may (they are never written). Make sure there is data.
    const real = files.filter(f => f.attr === undefined)
    const uniq = new Map(real.map(f => [f.path.join('/'), f]))
    const kept = [...files.filter(f => f.attr !== undefined), ...uniq.values()]
    kept.push({ length: 1, path: ['last.bin'] })
    info['files'] = kept
    total = kept.reduce((s, f) => s + f.length, 0)
  }
  info['pieces'] = new Uint8Array(Math.ceil(total / t.pieceLength) * 20).map((_, i) => (i * 7) & 0xff)
  if (t.privateFlag) info['private'] = 1
  return { info, announce: 'http://127.0.0.1:6969/announce' }
})

/** Tokens to splice together into bencode-looking garbage. */
const token = fc.constantFrom('d', 'l', 'e', 'i', 'i-0e', 'i03e', 'i1.5e', 'i99999999999999999999e', '0:', '4:info', '4:name',
  '12:piece length', '6:pieces', '5:files', '4:path', '6:length', '1:a', '999999999:', ':', '-', '2:..', 'i16384e', 'i-1e', '\0')

/** Deeply nested lists / dictionaries, around and beyond the depth limit. */
const deepNesting: fc.Arbitrary<Uint8Array> = fc.record({ depth: fc.integer({ min: 1, max: 5000 }), dict: fc.boolean(), closed: fc.boolean() })
  .map(({ depth, dict, closed }) => {
    const open = dict ? 'd1:a' : 'l'
    const inner = dict ? 'i1e' : ''
    return enc.encode(`d4:info${open.repeat(depth)}${inner}${closed ? 'e'.repeat(depth) : ''}e`)
  })

/**
 * Any hostile input: encoded torrent dictionaries (often valid), their
 * truncations and byte mutations, token soup, deep nesting and random bytes.
 */
export const hostileBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: torrentValue.map(v => bencode(v)) },
  { weight: 2, arbitrary: validTorrentValue.map(v => bencode(v)) },
  { weight: 2, arbitrary: fc.tuple(torrentValue, fc.double({ min: 0.02, max: 0.98, noNaN: true })).map(([v, at]) => { const b = bencode(v); return b.subarray(0, Math.floor(b.length * at)) }) },
  {
    weight: 2,
    arbitrary: fc.tuple(torrentValue, fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
      .map(([v, flips]) => { const b = bencode(v).slice(); for (const [at, byte] of flips) b[Math.floor(at * (b.length - 1))] = byte; return b })
  },
  { weight: 1, arbitrary: fc.array(token, { maxLength: 60 }).map(ts => enc.encode(ts.join(''))) },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }) }
)

/** Multi-megabyte garbage: random bytes, or a valid-looking prefix with a huge tail. Use with few runs. */
export const bigGarbage: fc.Arbitrary<Uint8Array> = fc.record({ size: fc.integer({ min: 1 << 20, max: 4 << 20 }), seed: fc.integer(), prefixed: fc.boolean() })
  .map(({ size, seed, prefixed }) => {
    const b = new Uint8Array(size)
    let x = seed | 1
    for (let i = 0; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff }
    if (prefixed) b.set(enc.encode(`d4:infod6:pieces${size - 40}:`))
    return b
  })

/**
 * The property every parse must satisfy: null when it holds, else what broke.
 * Ok results must be internally consistent and every file path must stay inside
 * a save folder; refusals must carry a non-empty reason.
 */
export function outcomeProblem (r: ParseResult<Metainfo>): string | null {
  if (typeof r !== 'object' || r === null) return 'result is not an object'
  if (!r.ok) return typeof r.reason === 'string' && r.reason.trim().length > 0 ? null : 'refusal without a reason'
  const m = r.value
  if (!/^[0-9a-f]{40}$/.test(m.infoHash)) return `bad info hash ${m.infoHash}`
  if (m.files.length === 0) return 'no files'
  if (!(m.length > 0) || !Number.isSafeInteger(m.length)) return `bad total length ${m.length}`
  if (m.pieceHashes.length !== m.pieceCount * 20) return 'piece hashes do not match the piece count'
  if (m.pieceCount !== Math.ceil(m.length / m.pieceLength)) return 'piece count does not match the length'
  let offset = 0
  const seen = new Set<string>()
  for (const f of m.files) {
    if (f.offset !== offset || f.length < 0 || !Number.isSafeInteger(f.length)) return `bad file offset/length at ${f.path.join('/')}`
    offset += f.length
    if (!staysInside('/save/folder', f.path)) return `path escapes the save folder: ${JSON.stringify(f.path)}`
    if (pathProblem(f.path) !== null) return `unsafe path accepted: ${JSON.stringify(f.path)}`
    if (!f.pad) {
      const key = f.path.join('\0')
      if (seen.has(key)) return `duplicate path accepted: ${JSON.stringify(f.path)}`
      seen.add(key)
    }
  }
  if (offset !== m.length) return 'file lengths do not add up to the total'
  return null
}

/** A torrent value together with its info dictionary, for properties that compare both parsers. */
export const torrentWithInfo: fc.Arbitrary<{ torrent: Uint8Array; info: Encodable | undefined }> = fc.oneof(torrentValue, validTorrentValue).map(v => {
  const root = v as Record<string, Encodable>
  return { torrent: bencode(v), info: root['info'] }
})
