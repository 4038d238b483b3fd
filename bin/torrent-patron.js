#!/usr/bin/env node
// The CLI is compiled with the library (`npm install` runs `prepare`, which builds dist/).
import { access } from 'node:fs/promises'

const main = new URL('../dist/cli/main.js', import.meta.url)
try {
  await access(main)
} catch {
  process.stderr.write('torrent-patron: dist/ is not built; run `npm run build` in the package folder\n')
  process.exit(1)
}
await import(main.href)
