// The committed bin, as installed (the CLI's full behaviour is tested in packages/app-kit).
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { binSmokeTest } from '@hypha/app-kit/testing'

binSmokeTest({
  bin: join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'hypha-gateway.js'),
  name: 'hypha-gateway',
  // the repository's node_modules/.bin shim (apps/gateway/dist -> the root)
  shim: join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'hypha-gateway'),
  role: 'gateway',
})
