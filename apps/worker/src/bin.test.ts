// The committed bin, as installed: init carries the [worker] section; run starts the task engine
// (a DI or config failure would stop the app before it is ready) and SIGTERM hands tasks back.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { binSmokeTest } from '@hypha/app-kit/testing'

binSmokeTest({
  bin: join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'hypha-worker.js'),
  name: 'hypha-worker',
  // the repository's node_modules/.bin shim (apps/worker/dist -> the root)
  shim: join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'hypha-worker'),
  role: 'worker',
  // alone on loopback: no relay to reserve on, so readiness must not wait for one
  env: { HYPHA_NETWORK__NAT__REACHABILITY: 'public', HYPHA_WORKER__CAPACITY: '2' },
  initPrints: /\[worker\][\s\S]*capacity = 1/,
})
