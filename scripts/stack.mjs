// The local stack, as far as it exists today: generates the development PKI under .hypha/
// on first run (root CA, organisation CA, one certificate per node) and shows what was made.
// The gateway, scheduler and workers join this command with the services issue.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const pkiDir = join(root, '.hypha', 'pki')
const certutil = join(root, 'packages', 'mtls', 'bin', 'hypha-certutil.js')
const org = 'hypha-dev'
const nodes = ['gateway', 'scheduler', 'worker-1', 'worker-2']

const run = (...args) => execFileSync(process.execPath, [certutil, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }).toString()

if (!existsSync(join(pkiDir, `${org}-ca-cert.pem`))) {
  mkdirSync(pkiDir, { recursive: true })
  run('root', '-o', org, '-d', pkiDir)
  run('org', '--root-cert', join(pkiDir, `${org}-root-ca-cert.pem`), '--root-key', join(pkiDir, `${org}-root-ca-key.pem`), '-o', org, '-d', pkiDir)
  for (const name of nodes) {
    run('node', '-n', name, '--ca-cert', join(pkiDir, `${org}-ca-cert.pem`), '--ca-key', join(pkiDir, `${org}-ca-key.pem`), '-s', '127.0.0.1,localhost', '-d', pkiDir)
  }
  console.log(`Development PKI written to ${pkiDir}`)
} else {
  console.log(`Development PKI found in ${pkiDir}`)
}
for (const name of nodes) {
  const cert = join(pkiDir, `${name}-cert.pem`)
  process.stdout.write(run('verify', '--cert', cert, '--trust', join(pkiDir, `${name}-trust.pem`)))
}
console.log('\nThe node roles (gateway, scheduler, workers) are not implemented yet; hypha-certutil manages the PKI:')
process.stdout.write(run('--help'))
