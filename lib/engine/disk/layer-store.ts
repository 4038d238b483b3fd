/**
 * The piece layers a v2-only torrent fetched from peers (its .torrent lacked
 * them), kept beside its resume record so that a restart checks its data
 * without asking peers first. Stored at
 * `<save folder>/.torrent-patron/<infohash>.layers`, a bencoded dictionary
 * from pieces root (32 raw bytes) to piece layer, written atomically.
 *
 * Nothing read back is trusted: the caller checks every layer against its
 * file's root (metainfo/v2-pieces.ts `withPieceLayers`) before using it, so a
 * damaged or foreign file only means the layers are fetched again.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { bdecode, isBytes, isDict, keyBytes } from '../metainfo/bdecode-guard.ts'
import { bencode } from '../metainfo/bencode-encode.ts'
import { MAX_METAINFO_BYTES } from '../metainfo/limits.ts'
import { HASH_SIZE } from '../metainfo/merkle.ts'
import type { Metainfo } from '../contracts.ts'
import { withPieceLayers } from '../metainfo/v2-pieces.ts'
import { writeFileAtomic } from './atomic-file.ts'
import { makeFolder } from './make-folder.ts'
import { resumePath } from './resume.ts'

/**
 * Where the kept layers of `infoHash` live under `folder`.
 *
 * @example
 * layersPath('/data', meta.infoHash) // '/data/.torrent-patron/<infohash>.layers'
 */
export function layersPath (folder: string, infoHash: string): string {
  return resumePath(folder, infoHash).replace(/\.resume\.json$/, '.layers')
}

/**
 * Keep `layers` (hex pieces root -> piece layer) for the torrent `infoHash`.
 *
 * @example
 * await saveLayers(folder, meta.infoHash, meta.v2.pieceLayers)
 */
export async function saveLayers (folder: string, infoHash: string, layers: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const file = layersPath(folder, infoHash)
  await makeFolder(path.dirname(file))
  await writeFileAtomic(file, bencode(new Map([...layers].map(([hex, layer]) => [new Uint8Array(Buffer.from(hex, 'hex')), layer]))))
}

/**
 * The layers kept for `infoHash` (hex pieces root -> piece layer, unchecked);
 * empty when there are none or the file is not one of ours.
 *
 * @example
 * const full = withPieceLayers(meta, await loadLayers(folder, meta.infoHash))
 */
export async function loadLayers (folder: string, infoHash: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>()
  let bytes: Uint8Array
  try {
    bytes = await readFile(layersPath(folder, infoHash))
  } catch {
    return out
  }
  if (bytes.length > MAX_METAINFO_BYTES) return out
  const d = bdecode(bytes)
  if (!d.ok || !isDict(d.value)) return out
  for (const [key, layer] of d.value) {
    const root = keyBytes(key)
    if (root.length === HASH_SIZE && isBytes(layer)) out.set(Buffer.from(root).toString('hex'), layer)
  }
  return out
}

/**
 * `meta` with the layers kept for it under `folder` when every one proves
 * against its file's root; else `meta` as it is (a bad set is ignored).
 *
 * @example
 * const meta = await withKeptLayers(folder, parsed)
 */
export async function withKeptLayers (folder: string, meta: Metainfo): Promise<Metainfo> {
  const kept = withPieceLayers(meta, await loadLayers(folder, meta.infoHash))
  return typeof kept === 'string' ? meta : kept
}
