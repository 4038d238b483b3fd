/**
 * Human formats for sizes, rates and durations, shared by every view.
 *
 * @module
 */

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** Bytes in binary units: `0 B`, `512 B`, `1.5 MiB`. */
export const bytes = (n: number): string => {
  if (!Number.isFinite(n) || n < 0) return '?'
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`
}

/** A rate in bytes per second: `1.5 MiB/s`. */
export const rate = (bytesPerSecond: number): string => `${bytes(Math.round(bytesPerSecond))}/s`

/** Seconds as `1h02m`, `3m05s`, `42s`; `--` when unknown. */
export const duration = (seconds: number | null | undefined): string => {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--'
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toFixed(1)}s`
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** A fraction as a percentage with one decimal: `42.0%`. */
export const percent = (fraction: number): string => `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(1)}%`

/** Cut or pad `text` to exactly `width` characters (for aligned bars). */
export const fit = (text: string, width: number): string =>
  text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text.padEnd(width)
