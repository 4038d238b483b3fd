/**
 * The engine parts the core uses (storage, hasher, checker), in one place,
 * so the controller's imports name what it needs rather than where it lives.
 *
 * @internal
 * @module
 */
export { openFileStorage } from './file-storage.ts'
export { createHasher, type PoolHasher } from './hasher.ts'
export { checkExisting } from './checker.ts'
