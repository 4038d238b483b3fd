/**
 * Metainfo: untrusted .torrent bytes, info dictionaries and magnet URIs to
 * validated values. See docs/security.md for every limit and refusal.
 *
 * @module
 */
export { parseMetainfo, metainfoFromInfoBytes, type InfoExtras, type ParseOptions } from './parse.ts'
export * as merkle from './merkle.ts'
export { parseMagnet, btihToHex, type MagnetOptions } from './magnet.ts'
export { bencode, type Encodable } from './bencode-encode.ts'
export { bdecode, type BValue, type BDict, type BList } from './bdecode-guard.ts'
export { componentProblem, pathProblem, pathCollision, staysInside } from './safe-path.ts'
export * as limits from './limits.ts'
