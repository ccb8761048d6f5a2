// Renders a kustomize overlay the way `kubectl apply -k` would, offline: `kubectl kustomize`
// (kubectl carries kustomize), then one object per YAML document.
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

export function renderOverlay(path: string): KubeObject[] {
  let output: string
  try {
    output = execFileSync('kubectl', ['kustomize', join(K8S_DIR, path)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const error = err as NodeJS.ErrnoException & { stderr?: string }
    if (error.code === 'ENOENT') {
      throw new Error('kubectl is not installed: the manifests are rendered with `kubectl kustomize` (kubectl >= 1.27)')
    }
    throw new Error(`kubectl kustomize ${path} failed: ${error.stderr ?? error.message}`)
  }
  return parseAllDocuments(output).map((document, index) => {
    if (document.errors.length > 0) throw new Error(`${path}: document ${index}: ${document.errors[0]?.message}`)
    return document.toJS() as KubeObject
  })
}

/** "Deployment/hypha-worker": how failures name an object. */
export function objectName(object: KubeObject): string {
  return `${object.kind}/${object.metadata.name}`
}
