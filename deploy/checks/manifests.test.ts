// The Kubernetes manifests, offline: every overlay renders, every object is valid against the
// Kubernetes and cert-manager schemas with no unknown field, and the objects fit together
// (selectors select, references resolve, ports exist, certificates are Ed25519 with roles).
// What an operator must create before applying an overlay is exactly what docs/operations.md
// lists; everything else an overlay needs, it brings.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { APPROVER_POLICY, buildOverlay, K8S_DIR, type KubeObject, kubectlKustomize, OVERLAYS, objectName, renderOverlay } from './render.js'
import { schemaProblems, unknownFields } from './schemas.js'

const REPO = join(K8S_DIR, '..', '..')

/** Objects the operator creates (docs/operations.md); kube-root-ca.crt is in every namespace. */
const PROVIDED: Record<(typeof OVERLAYS)[number], string[]> = {
  base: ['ConfigMap/kube-root-ca.crt', 'ConfigMap/hypha-trust', 'Secret/hypha-ca'],
  'overlays/dev': ['ConfigMap/kube-root-ca.crt'],
  'overlays/production': ['ConfigMap/kube-root-ca.crt', 'ConfigMap/hypha-trust', 'Secret/hypha-ca', 'Secret/hypha-postgres'],
}

interface Container {
  name: string
  image: string
  args?: string[]
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, { name?: string; key?: string; fieldPath?: string }> }>
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>
  restartPolicy?: string
  startupProbe?: Probe
  livenessProbe?: Probe
  readinessProbe?: Probe
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  volumeMounts?: Array<{ name: string; mountPath: string }>
}
interface Probe {
  httpGet?: { path: string; port: string | number }
  exec?: { command: string[] }
}
interface Volume {
  name: string
  secret?: { secretName: string }
  configMap?: { name: string }
  persistentVolumeClaim?: { claimName: string }
  projected?: { sources: Array<{ configMap?: { name: string }; secret?: { name: string } }> }
}
interface PodSpec {
  serviceAccountName?: string
  automountServiceAccountToken?: boolean
  containers: Container[]
  initContainers?: Container[]
  volumes?: Volume[]
}
interface Workload extends KubeObject {
  spec: {
    replicas?: number
    selector: { matchLabels: Record<string, string> }
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec }
  }
}
interface CertificateObject extends KubeObject {
  spec: {
    secretName: string
    uris?: string[]
    isCA?: boolean
    privateKey?: { algorithm?: string; rotationPolicy?: string }
    issuerRef: { name: string; kind?: string }
  }
}

const rendered = new Map(OVERLAYS.map((overlay) => [overlay, renderOverlay(overlay)]))

function objects(overlay: (typeof OVERLAYS)[number]): KubeObject[] {
  return rendered.get(overlay) as KubeObject[]
}
function ofKind<T extends KubeObject>(overlay: (typeof OVERLAYS)[number], kind: string): T[] {
  return objects(overlay).filter((o) => o.kind === kind) as T[]
}
function deployment(overlay: (typeof OVERLAYS)[number], name: string): Workload {
  const found = ofKind<Workload>(overlay, 'Deployment').find((d) => d.metadata.name === name)
  if (found === undefined) throw new Error(`${overlay} has no Deployment/${name}`)
  return found
}
/** The value after `flag` in a container's args ("--issuer hypha-ca"), undefined without the flag. */
function flagValue(args: readonly string[] | undefined, flag: string): string | undefined {
  const at = args?.indexOf(flag) ?? -1
  return at < 0 ? undefined : args?.[at + 1]
}
function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value)
}

describe.each(OVERLAYS)('%s', (overlay) => {
  it('renders, and every object is valid against its schema with no unknown field', () => {
    const problems = objects(overlay).flatMap((object) => schemaProblems(object).map((p) => `${objectName(object)} ${p}`))
    expect(problems).toEqual([])
    expect(objects(overlay).every((o) => o.metadata.namespace === 'hypha' || o.kind === 'Namespace')).toBe(true)
  })

  it('brings every ConfigMap, Secret, claim, service account and issuer its pods and certificates use, but what the operator provides', () => {
    const all = objects(overlay)
    const present = new Set(all.map(objectName))
    for (const certificate of ofKind<CertificateObject>(overlay, 'Certificate')) present.add(`Secret/${certificate.spec.secretName}`)
    const needed = new Set<string>()
    for (const workload of ofKind<Workload>(overlay, 'Deployment')) {
      const pod = workload.spec.template.spec
      if (pod.serviceAccountName !== undefined) needed.add(`ServiceAccount/${pod.serviceAccountName}`)
      for (const volume of pod.volumes ?? []) {
        if (volume.secret !== undefined) needed.add(`Secret/${volume.secret.secretName}`)
        if (volume.configMap !== undefined) needed.add(`ConfigMap/${volume.configMap.name}`)
        if (volume.persistentVolumeClaim !== undefined) needed.add(`PersistentVolumeClaim/${volume.persistentVolumeClaim.claimName}`)
        for (const source of volume.projected?.sources ?? []) {
          if (source.configMap !== undefined) needed.add(`ConfigMap/${source.configMap.name}`)
          if (source.secret !== undefined) needed.add(`Secret/${source.secret.name}`)
        }
      }
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        for (const env of container.env ?? []) {
          const ref = env.valueFrom?.secretKeyRef ?? env.valueFrom?.configMapKeyRef
          if (ref?.name !== undefined) needed.add(`${env.valueFrom?.secretKeyRef !== undefined ? 'Secret' : 'ConfigMap'}/${ref.name}`)
        }
        const issuer = flagValue(container.args, '--issuer')
        if (issuer !== undefined) needed.add(`Issuer/${issuer}`)
      }
    }
    for (const certificate of ofKind<CertificateObject>(overlay, 'Certificate'))
      needed.add(`${certificate.spec.issuerRef.kind ?? 'Issuer'}/${certificate.spec.issuerRef.name}`)
    for (const issuer of ofKind<KubeObject & { spec: { ca?: { secretName: string } } }>(overlay, 'Issuer')) {
      if (issuer.spec.ca !== undefined) needed.add(`Secret/${issuer.spec.ca.secretName}`)
    }
    const missing = [...needed].filter((name) => !present.has(name)).sort()
    expect(missing).toEqual([...PROVIDED[overlay]].sort())
  })

  it('selects its own pods: Deployment, Service, disruption budget and network policy selectors, probe ports', () => {
    const workloads = ofKind<Workload>(overlay, 'Deployment')
    const podLabels = workloads.map((w) => w.spec.template.metadata.labels)
    for (const workload of workloads) {
      expect(matches(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels)).toBe(true)
      const pod = workload.spec.template.spec
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const portNames = new Set((container.ports ?? []).map((p) => p.name))
        for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
          if (probe?.httpGet !== undefined)
            expect({ container: container.name, port: portNames.has(String(probe.httpGet.port)) }).toEqual({
              container: container.name,
              port: true,
            })
        }
        expect({ container: container.name, requests: container.resources?.requests !== undefined }).toEqual({
          container: container.name,
          requests: true,
        })
        const mounts = new Set((pod.volumes ?? []).map((v) => v.name))
        for (const mount of container.volumeMounts ?? [])
          expect(`${container.name}:${mount.name}:${mounts.has(mount.name)}`).toBe(`${container.name}:${mount.name}:true`)
      }
      for (const container of pod.containers) {
        expect({
          container: container.name,
          probes: [container.livenessProbe?.httpGet?.path, container.readinessProbe?.httpGet?.path],
        }).toEqual({
          container: container.name,
          probes: ['/health/live', '/health/ready'],
        })
      }
    }
    for (const service of ofKind<KubeObject & { spec: { selector: Record<string, string> } }>(overlay, 'Service')) {
      expect({ service: service.metadata.name, selects: podLabels.some((labels) => matches(service.spec.selector, labels)) }).toEqual({
        service: service.metadata.name,
        selects: true,
      })
    }
    for (const budget of ofKind<KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
      overlay,
      'PodDisruptionBudget',
    )) {
      expect(podLabels.some((labels) => matches(budget.spec.selector.matchLabels, labels))).toBe(true)
    }
    const policies = ofKind<
      KubeObject & {
        spec: { podSelector: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; values: string[] }> } }
      }
    >(overlay, 'NetworkPolicy')
    const covered = (labels: Record<string, string>) =>
      policies.some(
        (p) =>
          p.metadata.name !== 'hypha-default-deny-ingress' &&
          matches(p.spec.podSelector.matchLabels ?? {}, labels) &&
          (p.spec.podSelector.matchExpressions ?? []).every((e) => e.values.includes(labels[e.key] ?? '')),
      )
    expect(policies.map((p) => p.metadata.name)).toContain('hypha-default-deny-ingress')
    for (const labels of podLabels)
      expect({ pod: labels['app.kubernetes.io/component'], allowed: covered(labels) }).toEqual({
        pod: labels['app.kubernetes.io/component'],
        allowed: true,
      })
  })

  it('gives the gateway a stable Ed25519 certificate and every other pod its own, with its role', () => {
    const certificates = ofKind<CertificateObject>(overlay, 'Certificate')
    for (const certificate of certificates) expect(certificate.spec.privateKey?.algorithm).toBe('Ed25519')
    const gateway = certificates.find((c) => c.metadata.name === 'hypha-gateway')
    expect(gateway?.spec).toMatchObject({
      secretName: 'hypha-gateway-tls',
      uris: ['urn:hypha:role:gateway'],
      privateKey: { rotationPolicy: 'Never' },
    })
    for (const name of ['hypha-scheduler', 'hypha-worker']) {
      const pod = deployment(overlay, name).spec.template.spec
      const sidecar = pod.initContainers?.find((c) => c.name === 'certificate')
      expect(sidecar?.restartPolicy).toBe('Always')
      expect(sidecar?.args?.slice(0, 2)).toEqual(['cert-manager', '--watch'])
      // --role $(HYPHA_ROLE) comes from the pod's component label, which must name a role
      const roleEnv = sidecar?.env?.find((e) => e.name === 'HYPHA_ROLE')
      expect(roleEnv?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['app.kubernetes.io/component']")
      expect(['scheduler', 'worker']).toContain(deployment(overlay, name).spec.template.metadata.labels['app.kubernetes.io/component'])
      // only the sidecar holds the service account token
      expect(pod.automountServiceAccountToken).toBe(false)
      const tokenMounts = [...pod.containers, ...(pod.initContainers ?? [])].filter((c) =>
        (c.volumeMounts ?? []).some((m) => m.name === 'kube-api-access'),
      )
      expect(tokenMounts.map((c) => c.name)).toEqual(['certificate'])
      const node = pod.containers[0] as Container
      expect(node.env?.find((e) => e.name === 'HYPHA_SECURITY__CERT')?.value).toBe('/pki/tls.crt')
    }
    expect(ofKind(overlay, 'StatefulSet')).toEqual([])
  })

  it('lets the node user read the Secret files it mounts (kubelet makes them root-owned)', () => {
    for (const workload of ofKind<Workload>(overlay, 'Deployment')) {
      const pod = workload.spec.template.spec as PodSpec & { securityContext?: { runAsUser?: number; fsGroup?: number } }
      for (const volume of pod.volumes ?? []) {
        const mode = (volume.secret as { defaultMode?: number } | undefined)?.defaultMode
        if (mode === undefined || (mode & 0o004) !== 0) continue
        // not world-readable: readable only through the group kubelet sets from fsGroup
        expect({
          volume: `${workload.metadata.name}/${volume.name}`,
          fsGroup: pod.securityContext?.fsGroup,
          groupRead: (mode & 0o040) !== 0,
        }).toEqual({
          volume: `${workload.metadata.name}/${volume.name}`,
          fsGroup: 1000,
          groupRead: true,
        })
      }
    }
  })

  it('uses images the Dockerfile builds, and the certutil path the image has', () => {
    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8')
    const targets = new Set([...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]))
    for (const workload of ofKind<Workload>(overlay, 'Deployment')) {
      const pod = workload.spec.template.spec
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const [name] = container.image.split(':')
        expect(targets).toContain(name?.replace(/^hypha\//, ''))
      }
    }
    const sidecar = deployment(overlay, 'hypha-worker').spec.template.spec.initContainers?.find(
      (c) => c.name === 'certificate',
    ) as Container & { command: string[] }
    const script = sidecar.command.find((part) => part.startsWith('/app/')) as string
    expect(existsSync(join(REPO, script.replace(/^\/app\//, '')))).toBe(true)
  })
})

describe('the overlays differ where they should', () => {
  it("dev brings its own CA and trusts it; production trusts the operator's bundle", () => {
    const devCa = ofKind<CertificateObject>('overlays/dev', 'Certificate').find((c) => c.spec.isCA === true)
    expect(devCa?.spec.secretName).toBe('hypha-ca')
    for (const name of ['hypha-gateway', 'hypha-scheduler', 'hypha-worker']) {
      const trust = (overlay: (typeof OVERLAYS)[number]) =>
        deployment(overlay, name).spec.template.spec.volumes?.find((v) => v.name === 'trust')
      expect(trust('overlays/dev')).toEqual({
        name: 'trust',
        secret: { secretName: 'hypha-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
      })
      expect(trust('overlays/production')?.configMap?.name).toBe('hypha-trust')
    }
    expect(ofKind<CertificateObject>('overlays/production', 'Certificate').some((c) => c.spec.isCA === true)).toBe(false)
  })

  it('production runs two schedulers on PostgreSQL with a shared claim and a budget; dev one on SQLite', () => {
    const scheduler = deployment('overlays/production', 'hypha-scheduler')
    expect(scheduler.spec.replicas).toBe(2)
    const env = scheduler.spec.template.spec.containers[0]?.env ?? []
    expect(env.find((e) => e.name === 'HYPHA_SCHEDULER__STORE')?.valueFrom?.secretKeyRef).toEqual({ name: 'hypha-postgres', key: 'url' })
    expect(env.find((e) => e.name === 'PGPASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'hypha-postgres', key: 'password' })
    const claim = ofKind<KubeObject & { spec: { accessModes: string[] } }>('overlays/production', 'PersistentVolumeClaim')[0]
    expect(claim?.spec.accessModes).toEqual(['ReadWriteMany'])
    expect(
      ofKind('overlays/production', 'PodDisruptionBudget')
        .map((b) => b.metadata.name)
        .sort(),
    ).toEqual(['hypha-scheduler', 'hypha-worker'])
    const gateway = ofKind<KubeObject & { spec: { type?: string; ports: Array<{ protocol: string }> } }>(
      'overlays/production',
      'Service',
    ).find((s) => s.metadata.name === 'hypha-gateway')
    expect(gateway?.spec.type).toBe('LoadBalancer')
    expect(new Set(gateway?.spec.ports.map((p) => p.protocol))).toEqual(new Set(['TCP', 'UDP']))

    const devScheduler = deployment('overlays/dev', 'hypha-scheduler')
    expect(devScheduler.spec.replicas).toBe(1)
    expect((devScheduler.spec as { strategy?: { type: string } }).strategy?.type).toBe('Recreate')
    expect(devScheduler.spec.template.spec.containers[0]?.env?.some((e) => e.name === 'HYPHA_SCHEDULER__STORE')).toBe(false)
  })
})

describe('approver-policy: each role signs only its own certificates', () => {
  interface Policy extends KubeObject {
    spec: {
      allowed: {
        commonName: { value: string }
        dnsNames: { values: string[] }
        uris: { values: string[]; required?: boolean }
        isCA: boolean
      }
      constraints: { maxDuration: string; privateKey: { algorithm: string } }
      selector: { issuerRef: { name: string }; namespace: { matchNames: string[] } }
    }
  }
  const policyObjects = renderOverlay(APPROVER_POLICY)
  const policies = policyObjects.filter((o): o is Policy => o.kind === 'CertificateRequestPolicy')
  const hours = (duration: string) => Number(/^(\d+)h$/.exec(duration)?.[1] ?? Number.NaN)
  const glob = (pattern: string) => new RegExp(`^${pattern.replaceAll('.', '\\.').replaceAll('*', '.*')}$`)

  it('renders valid objects; the policies are cluster objects, the bindings in the namespace', () => {
    expect(policyObjects.flatMap((o) => schemaProblems(o).map((p) => `${objectName(o)} ${p}`))).toEqual([])
    for (const object of policyObjects) {
      expect({ object: objectName(object), namespace: object.metadata.namespace }).toEqual({
        object: objectName(object),
        namespace: object.kind === 'CertificateRequestPolicy' ? undefined : 'hypha',
      })
    }
  })

  it('allows what the overlays request and nothing more: the role URI, the names, the lifetime, Ed25519', () => {
    for (const overlay of OVERLAYS) {
      const gateway = ofKind<CertificateObject & { spec: { commonName: string; duration: string } }>(overlay, 'Certificate').find(
        (c) => c.metadata.name === 'hypha-gateway',
      )
      const requests = [
        { role: 'gateway', name: gateway?.spec.commonName ?? '', hours: hours(gateway?.spec.duration ?? '') },
        ...['scheduler', 'worker'].map((role) => {
          const sidecar = deployment(overlay, `hypha-${role}`).spec.template.spec.initContainers?.find((c) => c.name === 'certificate')
          // pod names: <deployment>-<replica set hash>-<suffix>
          return {
            role,
            name: `hypha-${role}-7c9f8d6b5-x2k4q`,
            hours: hours(flagValue(sidecar?.args, '--duration') ?? ''),
          }
        }),
      ]
      for (const request of requests) {
        const policy = policies.find((p) => p.metadata.name === `hypha-${request.role}`) as Policy
        expect(policy.spec.allowed.uris).toEqual({ values: [`urn:hypha:role:${request.role}`], required: true })
        expect(glob(policy.spec.allowed.commonName.value).test(request.name)).toBe(true)
        expect(policy.spec.allowed.dnsNames.values.some((v) => glob(v).test(request.name))).toBe(true)
        expect(request.hours).toBeLessThanOrEqual(hours(policy.spec.constraints.maxDuration))
        expect(policy.spec.constraints.privateKey.algorithm).toBe('Ed25519')
        expect(policy.spec.allowed.isCA).toBe(false)
        expect(policy.spec.selector).toEqual({
          issuerRef: { name: 'hypha-ca', kind: 'Issuer', group: 'cert-manager.io' },
          namespace: { matchNames: ['hypha'] },
        })
      }
      // a worker's name never fits the scheduler's or the gateway's policy
      for (const other of ['scheduler', 'gateway']) {
        const policy = policies.find((p) => p.metadata.name === `hypha-${other}`) as Policy
        expect(glob(policy.spec.allowed.commonName.value).test('hypha-worker-7c9f8d6b5-x2k4q')).toBe(false)
      }
    }
  })

  it("lets each service account use its own role's policy only", () => {
    const bindings = policyObjects.filter((o) => o.kind === 'RoleBinding') as Array<
      KubeObject & { roleRef: { name: string }; subjects: Array<{ name: string; namespace: string }> }
    >
    const roles = policyObjects.filter((o) => o.kind === 'Role') as Array<
      KubeObject & { rules: Array<{ resourceNames: string[]; verbs: string[] }> }
    >
    const usable = (account: string) =>
      bindings
        .filter((b) => b.subjects.some((s) => `${s.namespace}/${s.name}` === account))
        .flatMap((b) => roles.find((r) => r.metadata.name === b.roleRef.name)?.rules.flatMap((rule) => rule.resourceNames) ?? [])
    expect(usable('hypha/hypha-worker')).toEqual(['hypha-worker'])
    expect(usable('hypha/hypha-scheduler')).toEqual(['hypha-scheduler'])
    expect(usable('cert-manager/cert-manager')).toEqual(['hypha-gateway'])
  })
})

describe('kubectl', () => {
  // where kubectl exists (these machines have 1.32), `kubectl apply -k` renders what the tests checked
  const kubectl = kubectlKustomize('base') !== undefined
  ;(kubectl ? it : it.skip).each([...OVERLAYS, APPROVER_POLICY])(
    'kustomize in kubectl renders %s exactly as the pinned kustomize does',
    (path) => {
      expect(kubectlKustomize(path)).toBe(buildOverlay(path))
    },
  )
})

describe('the schema check itself', () => {
  const worker = () => structuredClone(deployment('overlays/dev', 'hypha-worker'))

  it('reports a misspelt field with its path', () => {
    const object = worker()
    const container = object.spec.template.spec.containers[0] as Container & Record<string, unknown>
    container.readinesProbe = container.readinessProbe
    expect(unknownFields(object)).toEqual(['/spec/template/spec/containers/0/readinesProbe'])
    expect(schemaProblems(object)).toEqual(['/spec/template/spec/containers/0/readinesProbe: unknown field'])
  })

  it('reports a wrong type and a wrong enum value', () => {
    const object = worker()
    ;(object.spec as Record<string, unknown>).replicas = 'two'
    const port = object.spec.template.spec.containers[0]?.ports?.[0] as { protocol?: string }
    port.protocol = 'QUIC'
    const problems = schemaProblems(object)
    expect(problems).toContain('/spec/replicas: must be integer')
    expect(problems.some((p) => p.startsWith('/spec/template/spec/containers/0/ports/0/protocol'))).toBe(true)
  })

  it('knows label keys with slashes are map keys, not fields', () => {
    const object = worker()
    object.metadata.labels = { ...object.metadata.labels, 'example.com/team': 'compute' }
    expect(unknownFields(object)).toEqual([])
  })

  it('refuses a kind it has no schema for', () => {
    expect(schemaProblems({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' } })).toEqual([
      'apps/v1 StatefulSet has no schema in deploy/checks/schemas.ts',
    ])
  })
})
