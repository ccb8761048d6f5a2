// Who may speak which side of the task protocol, from the roles in peers' certificates
// (@hypha/mtls, URI SANs urn:hypha:role:<role>): only schedulers announce tasks, assign them and
// serve their inputs; only workers offer, pull, renew, report and deliver results. Without this
// check any node of the organisation could announce tasks and have workers run them: one stolen
// worker key would be a scheduler, which with process executors is remote job execution.
//
// A certificate without roles (issued before roles existed) is accepted as any role while the
// node's config allows it (security.allow_roleless_peers, for migration), refused otherwise.

import { roleStanding } from '@hypha/mtls'

/** The task protocol's two sides. */
export type TaskRole = 'scheduler' | 'worker'

/** Where the verified roles of connected peers come from (a NodeIdentity). */
export interface PeerRoleSource {
  /** The roles a peer's verified certificate grants (empty: roleless); undefined when not verified here. */
  rolesOf(peer: string): ReadonlySet<string> | undefined
}

export interface RoleRefusal {
  peer: string
  /** The role the peer acted as. */
  role: TaskRole
  /** What it did: a protocol id or topic. */
  protocol: string
  reason: string
}

export class RoleCheck {
  readonly #source: PeerRoleSource | undefined
  readonly #allowRoleless: boolean

  /**
   * @param source - undefined: no certificates (security.mode = "open", or an engine driven
   *   without a network in tests): every peer may act as anything
   */
  constructor(source: PeerRoleSource | undefined, allowRoleless: boolean) {
    this.#source = source
    this.#allowRoleless = allowRoleless
  }

  /** True when roles are checked at all. */
  get enforced(): boolean {
    return this.#source !== undefined
  }

  /** Undefined when `peer` may act as `role`; otherwise why not. */
  refusal(peer: string, role: TaskRole): string | undefined {
    if (this.#source === undefined) return undefined
    const roles = this.#source.rolesOf(peer)
    switch (roleStanding(roles, role, this.#allowRoleless)) {
      case 'granted':
        return undefined
      case 'unverified':
        return `${peer} has no certificate verified by this node`
      case 'roleless-refused':
        return `the certificate of ${peer} names no role, and security.allow_roleless_peers is false`
      case 'other-role':
        return `the certificate of ${peer} is for ${[...(roles ?? [])].sort().join(', ')}, not ${role}`
    }
  }

  /** True when roles are checked and this peer's certificate has not been verified here (yet). */
  unknown(peer: string): boolean {
    return this.#source !== undefined && this.#source.rolesOf(peer) === undefined
  }

  /**
   * Resolves once the peer's certificate is verified here (a QUIC connection is admitted a moment
   * after it opens), or when `signal` aborts. Polled: the source says what it knows, not when.
   */
  async whenKnown(peer: string, signal: AbortSignal): Promise<void> {
    while (this.unknown(peer) && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20)
        signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
      })
    }
  }

  /** False only when the peer's verified certificate says it is not `role` (unknown peers pass). */
  mayBe(peer: string, role: TaskRole): boolean {
    if (this.#source === undefined) return true
    const standing = roleStanding(this.#source.rolesOf(peer), role, this.#allowRoleless)
    return standing === 'granted' || standing === 'unverified'
  }
}
