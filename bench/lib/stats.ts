/** Median and spread of repeated measurements. */

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
}

/**
 * Median, min and max of a non-empty list (NaN entries are dropped).
 * @example
 * ```ts
 * summarize([3, 1, 2]) // { median: 2, min: 1, max: 3, n: 3 }
 * ```
 */
export const summarize = (values: readonly number[]): Summary => {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 }
  const mid = xs.length >> 1
  const median = xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2
  return { median, min: xs[0]!, max: xs[xs.length - 1]!, n: xs.length }
}

/** A number with a sensible number of digits for a table. */
export const fmt = (x: number, digits?: number): string => {
  if (!Number.isFinite(x)) return '–'
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2)
  return x.toFixed(d)
}

/** "median (min–max)" for a table cell. */
export const cell = (s: Summary, digits?: number): string =>
  s.n === 0 ? '–' : s.n === 1 ? fmt(s.median, digits) : `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`

/** a / b as "1.23x", or "–" when either is unknown. */
export const ratio = (a: number, b: number): string =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}x` : '–'
