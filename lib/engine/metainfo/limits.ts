/**
 * Hard limits applied to untrusted metainfo before and while it is decoded.
 * Each one bounds memory, CPU or a filesystem effect that a hostile .torrent
 * (or a peer serving ut_metadata) could otherwise push without limit.
 * docs/security.md lists the same values with the reason for each.
 *
 * @module
 */

/** Largest .torrent (or info dictionary from ut_metadata) we decode: 16 MiB. Real torrents are rarely over 4 MiB. */
export const MAX_METAINFO_BYTES = 16 * 1024 * 1024

/** Deepest nesting of bencoded lists/dictionaries (libtorrent uses 100): a .torrent needs about 5. */
export const MAX_BENCODE_DEPTH = 64

/**
 * Most bencoded values (integers, strings, lists, dictionaries) in one document. Bounds the decoded tree:
 * a 16 MiB file of empty lists would otherwise become 8 M JavaScript arrays.
 */
export const MAX_BENCODE_VALUES = 1_000_000

/** Longest integer literal we accept: int64 range, like libtorrent (longer is "overlong", refused). */
export const MAX_INTEGER_DIGITS = 19

/** Smallest piece length: 16 KiB, the block size of the wire protocol. */
export const MIN_PIECE_LENGTH = 16 * 1024

/** Largest piece length: 64 MiB. Bounds the memory of one piece in flight and hash-check time per piece. */
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024

/** Most pieces in one torrent (libtorrent's default): 2^21. The size limit alone already caps it near 838 k. */
export const MAX_PIECES = 2 ** 21

/** Most entries in the file list (pad files and symlinks included). */
export const MAX_FILES = 100_000

/** Most components in one file path, the torrent name included. */
export const MAX_PATH_DEPTH = 32

/** Longest single path component in UTF-8 bytes (NAME_MAX on Linux and most filesystems). */
export const MAX_COMPONENT_BYTES = 255

/** Longest joined relative path (name/dir/.../file) in UTF-8 bytes (PATH_MAX on Linux). */
export const MAX_PATH_BYTES = 4096

/** Longest magnet URI we parse. */
export const MAX_MAGNET_LENGTH = 64 * 1024

/** Most trackers (and, separately, peer hints) kept from one magnet or one .torrent. */
export const MAX_TRACKERS = 200
