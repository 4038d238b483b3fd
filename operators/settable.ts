import type { Disposable } from '@most/types'

/**
 * A disposable whose target is set after the fact. Operators that end early
 * (completion, downloadAll) may need to dispose their source while the
 * source's `run` has not yet returned its disposable: then disposal happens
 * as soon as it is set.
 *
 * @internal
 */
export class SettableDisposable implements Disposable {
  private target: Disposable | undefined
  private disposed = false

  set(target: Disposable): void {
    if (this.disposed) target.dispose()
    else this.target = target
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    const target = this.target
    this.target = undefined
    target?.dispose()
  }
}
