// The stack's development PKI, made with hypha-certutil (the same files an operator gets):
// <org>-root-ca-*, <org>-ca-* and <name>-cert/key/trust.pem per node. Created on first use;
// nodes added later (more workers) get their certificates from the existing CA.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import type { IdentityFiles } from '@hypha/mtls'

const run = promisify(execFile)
const certutil = join(dirname(createRequire(import.meta.url).resolve('@hypha/mtls/package.json')), 'bin', 'hypha-certutil.js')

async function certutilRun(args: readonly string[]): Promise<void> {
  await run(process.execPath, [certutil, ...args])
}

export interface DevPkiLayout {
  dir: string
  organisation: string
}

export function identityFilesOf(pki: DevPkiLayout, name: string): IdentityFiles {
  const crl = join(pki.dir, `${pki.organisation}-ca.crl.pem`)
  return {
    cert: join(pki.dir, `${name}-cert.pem`),
    key: join(pki.dir, `${name}-key.pem`),
    trust: join(pki.dir, `${name}-trust.pem`),
    crl: existsSync(crl) ? [crl] : [],
  }
}

/** A node of the dev PKI: its name and the role its certificate grants. */
export interface DevPkiNode {
  name: string
  role: 'gateway' | 'scheduler' | 'worker'
}

/**
 * Makes the CA on first use and a certificate for every node that lacks one, with the node's
 * role in it (so the stack runs with roles enforced where a certificate has one); returns what
 * it created.
 */
export async function ensureDevPki(pki: DevPkiLayout, nodes: readonly DevPkiNode[]): Promise<string[]> {
  const created: string[] = []
  const { dir, organisation: org } = pki
  const caCert = join(dir, `${org}-ca-cert.pem`)
  const caKey = join(dir, `${org}-ca-key.pem`)
  if (!existsSync(caCert)) {
    await mkdir(dir, { recursive: true })
    await certutilRun(['root', '-o', org, '-d', dir])
    await certutilRun(['org', '--root-cert', join(dir, `${org}-root-ca-cert.pem`), '--root-key', join(dir, `${org}-root-ca-key.pem`), '-o', org, '-d', dir])
    created.push(`${org} root and organisation CA`)
  }
  for (const { name, role } of nodes) {
    if (existsSync(identityFilesOf(pki, name).cert)) continue
    await certutilRun(['node', '-n', name, '--role', role, '--ca-cert', caCert, '--ca-key', caKey, '-s', '127.0.0.1,localhost', '-d', dir])
    created.push(name)
  }
  return created
}
