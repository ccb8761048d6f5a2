// A node's live mTLS identity: the material loaded from disk plus the TLS context built from
// it, reloaded in place when the files change. A renewed certificate for the same key, a new
// trust bundle or a new CRL take effect on the next handshake; a different key would mean a
// different PeerId, so it is refused and the running identity is kept.
import { type FSWatcher, watch } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { type SecureContext, createSecureContext } from 'node:tls'
import { TypedEventEmitter } from '@libp2p/interface'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import type { CertificateVerifier, VerifiedPeer } from '../verify/chain-verifier.js'
import { type CertificateRefusedError, KeyChangedError, type RefusalReason } from '../verify/errors.js'
import type { StaleCrl } from '../verify/revocation.js'
import { type IdentityFiles, type IdentityMaterial, type LoadIdentityOptions, loadIdentityMaterial } from './identity-material.js'
import { PeerRegistry } from './peer-registry.js'
import { type SecurityLog, stderrSecurityLog } from './security-log.js'
import { type CertificateRole, rolesOfCertificate } from '../pki/roles.js'

export interface NodeIdentityEvents {
  /** New material is in force; connections are re-checked against it. */
  reloaded: CustomEvent<{ staleCrls: StaleCrl[] }>
  'reload-failed': CustomEvent<{ error: Error }>
  /** A remote peer was refused (by the TLS encrypter or the admission protocol). */
  'peer:refused': CustomEvent<PeerRefusal>
  'peer:verified': CustomEvent<{ peer: VerifiedPeer; via: SecurityStage }>
}

/** Where a peer's certificate was checked: the TLS handshake (TCP, relayed) or admission (QUIC). */
export type SecurityStage = 'tls' | 'admission' | 'recheck'

export interface PeerRefusal {
  reason: RefusalReason
  detail: string
  via: SecurityStage
  /** Who refused: this node ('local') or the remote, which told us its verdict. */
  by: 'local' | 'remote'
  peerId?: string
  remoteAddr?: string
}

export interface NodeIdentityOptions extends LoadIdentityOptions {
  log?: SecurityLog
  /** Watch the files and reload on change (default false; apps turn it on). */
  watch?: boolean
  /** Quiet period after the last file event before reloading (editors write in bursts). */
  reloadDebounceMs?: number
}

/** kubelet's AtomicWriter renames a new `..data` symlink into a Secret/ConfigMap volume on every update. */
const KUBELET_DATA_LINK = '..data'

export class NodeIdentity extends TypedEventEmitter<NodeIdentityEvents> {
  readonly files: IdentityFiles
  readonly log: SecurityLog
  /** Peers verified on this node and peers known to be revoked: shared by encrypter, admission and gater. */
  readonly peers = new PeerRegistry()
  #material: IdentityMaterial
  #secureContext: SecureContext
  #watchers: FSWatcher[] = []
  #reloadTimer: NodeJS.Timeout | undefined
  #reloading: Promise<void> = Promise.resolve()
  readonly #debounceMs: number
  readonly #loadOptions: LoadIdentityOptions

  private constructor(files: IdentityFiles, material: IdentityMaterial, options: NodeIdentityOptions) {
    super()
    this.files = files
    this.#material = material
    this.#secureContext = buildSecureContext(material)
    this.log = options.log ?? stderrSecurityLog
    this.#debounceMs = options.reloadDebounceMs ?? 100
    this.#loadOptions = options.checkOwnChain !== undefined ? { checkOwnChain: options.checkOwnChain } : {}
  }

  static async load(files: IdentityFiles, options: NodeIdentityOptions = {}): Promise<NodeIdentity> {
    const identity = new NodeIdentity(files, await loadIdentityMaterial(files, options), options)
    identity.#warnStale()
    if (options.watch === true) {
      identity.watch()
    }
    return identity
  }

  get peerId(): PeerId {
    return this.#material.peerId
  }

  get privateKey(): Ed25519PrivateKey {
    return this.#material.privateKey
  }

  get verifier(): CertificateVerifier {
    return this.#material.verifier
  }

  get material(): Readonly<IdentityMaterial> {
    return this.#material
  }

  get secureContext(): SecureContext {
    return this.#secureContext
  }

  /** The roles this node's own certificate grants (empty: a roleless certificate). */
  get roles(): ReadonlySet<CertificateRole> {
    return rolesOfCertificate(this.#material.leaf)
  }

  /**
   * The roles a connected peer's verified certificate grants (empty: roleless); undefined when
   * this node has not verified that peer (not connected, or admission still running).
   */
  rolesOf(peer: PeerId | string): ReadonlySet<CertificateRole> | undefined {
    const id = typeof peer === 'string' ? peer : peer.toString()
    return this.peers.verifiedById(id)?.roles
  }

  /** Re-reads every file; on success swaps the material atomically, on failure keeps the old one. */
  async reload(): Promise<void> {
    const next = this.#reloading.then(() => this.#reload())
    this.#reloading = next.catch(() => undefined)
    return next
  }

  async #reload(): Promise<void> {
    try {
      const material = await loadIdentityMaterial(this.files, this.#loadOptions)
      if (!material.peerId.equals(this.#material.peerId)) {
        throw new KeyChangedError(
          `the key in ${this.files.key} belongs to ${material.peerId.toString()}, not to the running node ${this.#material.peerId.toString()}: a new key needs a restart`,
        )
      }
      // Build the TLS context first: if it fails, nothing has been swapped.
      const secureContext = buildSecureContext(material)
      this.#material = material
      this.#secureContext = secureContext
      this.peers.clearRevoked()
      const staleCrls = this.#warnStale()
      this.log.info('mtls identity reloaded', {
        peerId: material.peerId.toString(),
        certificateSerial: material.leaf.serialNumber.toLowerCase(),
        certificateNotAfter: new Date(material.leaf.validTo).toISOString(),
        crls: material.verifier.revocation.size,
      })
      this.safeDispatchEvent('reloaded', { detail: { staleCrls } })
    } catch (err) {
      const error = err as Error
      this.log.warn('mtls identity reload failed, keeping the previous one', { error: error.message })
      this.safeDispatchEvent('reload-failed', { detail: { error } })
      throw error
    }
  }

  /** Records a verified peer and announces it. */
  acceptPeer(peer: VerifiedPeer, via: SecurityStage): void {
    this.peers.recordVerified(peer)
    this.safeDispatchEvent('peer:verified', { detail: { peer, via } })
  }

  /** Logs a refusal with its reason (always, not only under DEBUG), remembers revoked peers, and announces it. */
  refusePeer(error: CertificateRefusedError, context: { via: SecurityStage; by: 'local' | 'remote'; remoteAddr?: string }): PeerRefusal {
    if (error.reason === 'revoked' && error.peerId !== undefined) {
      this.peers.recordRevoked(error.peerId)
    }
    const refusal: PeerRefusal = {
      reason: error.reason,
      detail: error.message,
      ...context,
      ...(error.peerId !== undefined ? { peerId: error.peerId.toString() } : {}),
    }
    this.log.warn(context.by === 'local' ? 'peer refused' : 'refused by peer', { ...refusal })
    this.safeDispatchEvent('peer:refused', { detail: refusal })
    return refusal
  }

  /**
   * Watches the directories of the files (atomic renames replace the inode a file watch would
   * follow). A Kubernetes Secret or ConfigMap volume changes by swapping its `..data` symlink,
   * an event that names none of the files: that swap counts as a change of them all.
   */
  watch(): void {
    if (this.#watchers.length > 0) {
      return
    }
    const paths = [this.files.cert, this.files.key, this.files.trust, ...(this.files.crl ?? [])].map((p) => resolve(p))
    const watched = new Set(paths)
    for (const dir of new Set(paths.map((p) => dirname(p)))) {
      const watcher = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === KUBELET_DATA_LINK || watched.has(resolve(dir, filename.toString()))) {
          this.#scheduleReload()
        }
      })
      watcher.on('error', (err) => this.log.warn('mtls file watch failed', { dir, error: err.message }))
      this.#watchers.push(watcher)
    }
  }

  close(): void {
    for (const watcher of this.#watchers) watcher.close()
    this.#watchers = []
    clearTimeout(this.#reloadTimer)
  }

  #scheduleReload(): void {
    clearTimeout(this.#reloadTimer)
    this.#reloadTimer = setTimeout(() => {
      this.reload().catch(() => undefined) // already logged and dispatched
    }, this.#debounceMs)
    this.#reloadTimer.unref()
  }

  #warnStale(): StaleCrl[] {
    const stale = this.#material.verifier.revocation.stale()
    for (const crl of stale) {
      this.log.warn('CRL is past its nextUpdate: still applied, publish a fresh one', {
        crl: crl.source,
        issuer: crl.issuer,
        nextUpdate: crl.nextUpdate.toISOString(),
      })
    }
    return stale
  }
}

function buildSecureContext(material: IdentityMaterial): SecureContext {
  return createSecureContext({
    cert: material.chainPem,
    key: material.keyPem,
    ca: material.trustPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
  })
}
