/**
 * Real file systems for fault tests: a small tmpfs that fills up, and
 * read-only views of a folder. Every mount is unmounted by the test's
 * `after` hook, also when the test fails (lazily, in case a file is still
 * open), before its folder is removed.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

type Hooks = { after(fn: () => unknown): void }

const mounted = new Map<string, number>()

/**
 * A fresh empty folder, removed when the test ends: first whatever is
 * mounted on it is unmounted (one hook, so the order holds), then it goes.
 */
export const mountPoint = async (t: Hooks, prefix = 'tp-mount-'): Promise<string> => {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  t.after(async () => {
    for (let n = mounted.get(dir) ?? 0; n > 0; n--) await run('umount', ['-l', dir]).catch(() => undefined)
    mounted.delete(dir)
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

const mountOn = async (dir: string, args: readonly string[]): Promise<void> => {
  await run('mount', [...args, dir])
  mounted.set(dir, (mounted.get(dir) ?? 0) + 1)
}

/** Mount a tmpfs of `size` (mount(8) syntax: `64k`, `1m`) at a new folder; returns the folder. */
export const mountTmpfs = async (t: Hooks, size: string): Promise<string> => {
  const dir = await mountPoint(t, 'tp-tmpfs-')
  await mountOn(dir, ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs'])
  return dir
}

/** Make the tmpfs at `dir` read-only (after filling it with what the test needs). */
export const remountReadOnly = async (dir: string): Promise<void> => {
  await run('mount', ['-o', 'remount,ro', dir])
}

/** A read-only view of folder `source` (a read-only bind mount); returns its path. */
export const readOnlyView = async (t: Hooks, source: string): Promise<string> => {
  const dir = await mountPoint(t, 'tp-ro-')
  await mountOn(dir, ['--bind', source])
  await run('mount', ['-o', 'remount,bind,ro', dir])
  return dir
}

/**
 * Fill the file system holding `dir` until it has no byte left (writes
 * `dir/filler-<n>`): what a disk that filled up behind our back looks like.
 */
export const fillUp = async (dir: string): Promise<void> => {
  await mkdir(dir, { recursive: true })
  for (let n = 0, chunk = 1 << 20; chunk >= 512; n++) {
    try {
      await writeFile(path.join(dir, `filler-${n}`), Buffer.alloc(chunk), { flag: 'wx' })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
      await rm(path.join(dir, `filler-${n}`), { force: true })
      chunk >>= 1
    }
  }
}
