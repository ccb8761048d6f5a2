// Each rendered object checked against its published schema: the Kubernetes API's (package
// kubernetes-models) or cert-manager's CRDs (@kubernetes-models/cert-manager). Those validators
// catch wrong types, enums and required fields but, as the API server's own schema does
// without strict field validation, let unknown fields through; unknownFields() adds that
// (a misspelt `readinesProbe` would otherwise be dropped silently by the API server).
import { Certificate, Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1'
import { CertificateRequestPolicy } from '@kubernetes-models/cert-manager/policy.cert-manager.io/v1alpha1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1'
import { Namespace, PersistentVolumeClaim, Service, ServiceAccount } from 'kubernetes-models/v1'
import type { KubeObject } from './render.js'

interface SchemaError {
  instancePath: string
  message?: string
}

type Validator = (data: unknown) => SchemaError[]

function modelValidator(Model: new (data: never) => { validate(): void }): Validator {
  return (data) => {
    try {
      new Model(data as never).validate()
      return []
    } catch (err) {
      const errors = (err as { errors?: SchemaError[] }).errors
      return errors ?? [{ instancePath: '', message: (err as Error).message }]
    }
  }
}

/** Every kind the manifests may hold. Anything else fails: add its schema here first. */
const VALIDATORS: Record<string, Validator> = {
  'v1/Namespace': modelValidator(Namespace),
  'v1/ServiceAccount': modelValidator(ServiceAccount),
  'v1/Service': modelValidator(Service),
  'v1/PersistentVolumeClaim': modelValidator(PersistentVolumeClaim),
  'apps/v1/Deployment': modelValidator(Deployment),
  'policy/v1/PodDisruptionBudget': modelValidator(PodDisruptionBudget),
  'networking.k8s.io/v1/NetworkPolicy': modelValidator(NetworkPolicy),
  'rbac.authorization.k8s.io/v1/Role': modelValidator(Role),
  'rbac.authorization.k8s.io/v1/RoleBinding': modelValidator(RoleBinding),
  'cert-manager.io/v1/Certificate': modelValidator(Certificate),
  'cert-manager.io/v1/Issuer': modelValidator(Issuer),
  'policy.cert-manager.io/v1alpha1/CertificateRequestPolicy': modelValidator(CertificateRequestPolicy),
}

/** Problems of one object, each "path: what is wrong"; empty when it is valid. */
export function schemaProblems(object: KubeObject): string[] {
  const validate = VALIDATORS[`${object.apiVersion}/${object.kind}`]
  if (validate === undefined) {
    return [`${object.apiVersion} ${object.kind} has no schema in deploy/checks/schemas.ts`]
  }
  return [
    ...validate(object).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`),
    ...unknownFields(object, validate).map((path) => `${path}: unknown field`),
  ]
}

/**
 * JSON pointers of the fields no schema declares. A declared field has a type, so replacing its
 * value with one of another type (an object or array by a string, a scalar by an array) makes
 * the validator complain at that path; an undeclared field is ignored whatever it holds. Maps
 * (labels, resources) declare their values' type, so their keys count as declared.
 */
export function unknownFields(
  object: KubeObject,
  validate: Validator = VALIDATORS[`${object.apiVersion}/${object.kind}`] as Validator,
): string[] {
  const unknown: string[] = []
  for (const path of fieldPaths(object)) {
    if (path.length === 1 && (path[0] === 'apiVersion' || path[0] === 'kind')) continue
    const pointer = `/${path.map(escapePointer).join('/')}`
    if (unknown.some((parent) => pointer.startsWith(`${parent}/`))) continue
    const value = valueAt(object, path)
    const probe = typeof value === 'object' && value !== null ? 'not-this-type' : [[]]
    const errors = validate(replaced(object, path, probe))
    if (!errors.some((e) => e.instancePath === pointer || e.instancePath.startsWith(`${pointer}/`))) {
      unknown.push(pointer)
    }
  }
  return unknown
}

type Path = Array<string | number>

function* fieldPaths(value: unknown, path: Path = []): Generator<Path> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* fieldPaths(value[i], [...path, i])
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      yield [...path, key]
      yield* fieldPaths(child, [...path, key])
    }
  }
}

function valueAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((current, key) => (current as Record<string | number, unknown>)[key], value)
}

function replaced(object: KubeObject, path: Path, probe: unknown): KubeObject {
  const copy = structuredClone(object)
  const parent = valueAt(copy, path.slice(0, -1)) as Record<string | number, unknown>
  parent[path.at(-1) as string | number] = probe
  return copy
}

function escapePointer(segment: string | number): string {
  return String(segment).replaceAll('~', '~0').replaceAll('/', '~1')
}
