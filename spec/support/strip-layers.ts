/**
 * A .torrent file without (some of) its `piece layers`: the outer dictionary
 * re-encoded around the info dictionary's original bytes, so the info hashes
 * stay the same. For specs of v2 torrents whose layers must come from peers.
 */
import { Buffer } from 'node:buffer'
import { bdecode, isDict, keyBytes, type BValue } from '../../lib/engine/metainfo/bdecode-guard.ts'
import { bencode, type Encodable } from '../../lib/engine/metainfo/bencode-encode.ts'

const encodable = (v: BValue): Encodable =>
  v instanceof Map ? new Map([...v].map(([k, x]) => [keyBytes(k), encodable(x)])) : Array.isArray(v) ? v.map(encodable) : v

/**
 * `bytes` with only the piece layers whose hex pieces root `keep` accepts
 * (default: none; the key is left out when none is kept).
 *
 * @example
 * const bare = withoutPieceLayers(await readFile('v2.torrent'))
 */
export function withoutPieceLayers (bytes: Uint8Array, keep: (rootHex: string) => boolean = () => false): Uint8Array {
  const d = bdecode(bytes, { allowTrailing: true })
  if (!d.ok || !isDict(d.value)) throw new Error('withoutPieceLayers: not a torrent file')
  const span = d.rootSpans.get('info')
  if (span === undefined) throw new Error('withoutPieceLayers: no info dictionary')
  const parts: Uint8Array[] = [Buffer.from('d')]
  // The decoder keeps the file's key order, which bencode sorts: the pieces go back in the same order.
  for (const [key, value] of d.value) {
    if (key === 'info') {
      parts.push(bencode(keyBytes(key)), bytes.subarray(span[0], span[1]))
    } else if (key === 'piece layers' && isDict(value)) {
      const kept = [...value].filter(([root]) => keep(Buffer.from(keyBytes(root)).toString('hex')))
      if (kept.length > 0) parts.push(bencode(keyBytes(key)), bencode(encodable(new Map(kept))))
    } else {
      parts.push(bencode(keyBytes(key)), bencode(encodable(value)))
    }
  }
  parts.push(Buffer.from('e'))
  return new Uint8Array(Buffer.concat(parts))
}
