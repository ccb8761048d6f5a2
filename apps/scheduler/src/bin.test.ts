// The committed bin, as installed: init carries the [scheduler] section; run starts the task
// engine and its HTTP API (a DI or config failure would stop the app before it is ready).
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { binSmokeTest } from '@hypha/app-kit/testing'

binSmokeTest({
  bin: join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'hypha-scheduler.js'),
  name: 'hypha-scheduler',
  // the repository's node_modules/.bin shim (apps/scheduler/dist -> the root)
  shim: join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'hypha-scheduler'),
  role: 'scheduler',
  env: { HYPHA_SCHEDULER__LEASE: '5s' },
  initPrints: /\[scheduler\][\s\S]*lease = "10s"[\s\S]*max_attempts = 3/,
})
