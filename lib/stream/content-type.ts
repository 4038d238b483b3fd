/**
 * Media types by file extension, for the files a torrent usually holds
 * (video, audio, subtitles, images, text, archives).
 *
 * @module
 */

const TYPES: Readonly<Record<string, string>> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  ogv: 'video/ogg',
  avi: 'video/x-msvideo',
  ts: 'video/mp2t',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  flac: 'audio/flac',
  wav: 'audio/wav',
  srt: 'application/x-subrip',
  vtt: 'text/vtt; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  nfo: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  json: 'application/json',
  xml: 'application/xml',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  epub: 'application/epub+zip',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  iso: 'application/x-iso9660-image',
}

/**
 * The `Content-Type` for a file name; `application/octet-stream` when the
 * extension is unknown.
 *
 * @example
 * ```ts
 * contentType('movie/Clip.WEBM') // 'video/webm'
 * contentType('README')          // 'application/octet-stream'
 * ```
 */
export function contentType(name: string): string {
  const base = name.split('/').at(-1) ?? ''
  const dot = base.lastIndexOf('.')
  if (dot <= 0) return 'application/octet-stream'
  return TYPES[base.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream'
}
