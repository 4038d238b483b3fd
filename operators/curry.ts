/**
 * Hand-rolled currying in the style of @most/prelude, so that every operator
 * can be called as `op(a, s)` or `op(a)(s)` without depending on a package
 * this project only gets transitively.
 *
 * @internal
 * @module
 */

/**
 * A two-argument function that may also be applied one argument at a time.
 *
 * @example
 * ```ts
 * forTorrent(id, feedback) // same as forTorrent(id)(feedback)
 * ```
 */
export interface Curried2<A, B, R> {
  (a: A): (b: B) => R
  (a: A, b: B): R
}

/**
 * A three-argument function that may also be applied one argument at a time.
 *
 * @example
 * ```ts
 * const f: Curried3<number, number, number, number> = curry3((a, b, c) => a + b + c)
 * f(1)(2)(3) === f(1, 2, 3)
 * ```
 */
export interface Curried3<A, B, C, R> {
  (a: A): Curried2<B, C, R>
  (a: A, b: B): (c: C) => R
  (a: A, b: B, c: C): R
}

/** Curry a two-argument function. @example `const add = curry2((a: number, b: number) => a + b); add(1)(2)` */
export function curry2<A, B, R>(f: (a: A, b: B) => R): Curried2<A, B, R> {
  function curried(a: A, b?: B): R | ((b: B) => R) {
    return arguments.length < 2 ? (b2: B) => f(a, b2) : f(a, b as B)
  }
  return curried as Curried2<A, B, R>
}

/** Curry a three-argument function. @example `curry3((a: number, b: number, c: number) => a + b + c)(1)(2)(3)` */
export function curry3<A, B, C, R>(f: (a: A, b: B, c: C) => R): Curried3<A, B, C, R> {
  function curried(a: A, b?: B, c?: C): unknown {
    switch (arguments.length) {
      case 1:
        return curry2((b2: B, c2: C) => f(a, b2, c2))
      case 2:
        return (c2: C) => f(a, b as B, c2)
      default:
        return f(a, b as B, c as C)
    }
  }
  return curried as Curried3<A, B, C, R>
}
