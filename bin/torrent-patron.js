#!/usr/bin/env node
// The CLI is TypeScript run through tsx (a runtime dependency), so that
// `npx torrent-patron` works straight after `npm install`, with no build step.
import { register } from 'tsx/esm/api'

register()
await import(new URL('../cli/main.ts', import.meta.url).href)
