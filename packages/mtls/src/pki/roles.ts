// Roles in certificates: what a node may do on the network, decided by the CA that issued its
// certificate, not by the node. A node certificate names its roles as URI subject alternative
// names, `urn:hypha:role:<role>` (cert-manager issues them with `spec.uris`); a certificate
// without one is "roleless" (issued before roles existed), which a node's config may still accept.
import type { X509Certificate } from 'node:crypto'

export const NODE_ROLES = ['gateway', 'scheduler', 'worker'] as const
export type CertificateRole = (typeof NODE_ROLES)[number]

export const ROLE_URI_PREFIX = 'urn:hypha:role:'

export function isCertificateRole(value: string): value is CertificateRole {
  return (NODE_ROLES as readonly string[]).includes(value)
}

/** The SAN URI that grants `role`. */
export function roleUri(role: CertificateRole): string {
  return `${ROLE_URI_PREFIX}${role}`
}

/**
 * The roles a certificate grants (empty: a roleless certificate). URIs of unknown roles are
 * ignored: a newer CA may grant roles this version does not know.
 */
export function rolesOfCertificate(certificate: X509Certificate): ReadonlySet<CertificateRole> {
  const roles = new Set<CertificateRole>()
  // Node prints SANs as "DNS:a, IP Address:1.2.3.4, URI:urn:hypha:role:worker"
  for (const entry of (certificate.subjectAltName ?? '').split(/,\s*/)) {
    if (!entry.startsWith(`URI:${ROLE_URI_PREFIX}`)) continue
    const role = entry.slice(`URI:${ROLE_URI_PREFIX}`.length).trim()
    if (isCertificateRole(role)) roles.add(role)
  }
  return roles
}

/**
 * How a peer stands against a role, from the roles its verified certificate grants (undefined:
 * not verified by this node). A roleless certificate passes only while `allowRoleless` (the
 * migration setting security.allow_roleless_peers). The one policy the task protocol and the
 * relay checks share.
 */
export type RoleStanding = 'granted' | 'unverified' | 'roleless-refused' | 'other-role'

export function roleStanding(roles: ReadonlySet<string> | undefined, role: CertificateRole, allowRoleless: boolean): RoleStanding {
  if (roles === undefined) return 'unverified'
  if (roles.size === 0) return allowRoleless ? 'granted' : 'roleless-refused'
  return roles.has(role) ? 'granted' : 'other-role'
}
