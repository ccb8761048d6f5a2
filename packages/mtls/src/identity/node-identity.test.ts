// NodeIdentity: reloading in place (same-key renewal is taken, a new key or a broken CRL is
// refused and the running material kept), watching the files for a new CRL, and refusals
// that are logged with their reason and remembered for revoked peers.
import { X509Certificate } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import { type TestNode, TestPki } from '../../test/fixtures/test-pki.js'
import { createCrl, createNodeCertificate } from '../pki/authority.js'
import { certificatesToPem, crlToPem } from '../pki/pem.js'
import { CertificateRefusedError, isRefusal } from '../verify/errors.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import type { IdentityFiles } from './identity-material.js'
import { NodeIdentity, type NodeIdentityEvents, type NodeIdentityOptions } from './node-identity.js'
import type { SecurityFields, SecurityLog } from './security-log.js'

const DAY_MS = 86_400_000
const EVENT_TIMEOUT_MS = 5_000

interface LogLine {
  level: 'info' | 'warn'
  message: string
  fields: SecurityFields
}

class RecordingLog implements SecurityLog {
  readonly lines: LogLine[] = []

  info(message: string, fields: SecurityFields = {}): void {
    this.lines.push({ level: 'info', message, fields })
  }

  warn(message: string, fields: SecurityFields = {}): void {
    this.lines.push({ level: 'warn', message, fields })
  }

  find(level: LogLine['level'], message: string): LogLine[] {
    return this.lines.filter((l) => l.level === level && l.message === message)
  }
}

/** Resolves with the next `type` event, or rejects after `timeoutMs`. */
function nextEvent<K extends keyof NodeIdentityEvents>(
  identity: NodeIdentity,
  type: K,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<NodeIdentityEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (event: NodeIdentityEvents[K]): void => {
      clearTimeout(timer)
      resolve(event)
    }
    const timer = setTimeout(() => {
      identity.removeEventListener(type, listener)
      reject(new Error(`no "${String(type)}" event within ${timeoutMs} ms`))
    }, timeoutMs)
    identity.addEventListener(type, listener, { once: true })
  })
}

function der(node: TestNode): Uint8Array {
  return new Uint8Array(node.issued.certificate.rawData)
}

function peerIdOf(node: TestNode): PeerId {
  return peerIdOfCertificate(new X509Certificate(der(node)))
}

async function reasonOf(verification: Promise<unknown>): Promise<string> {
  try {
    await verification
  } catch (err) {
    return isRefusal(err) ? err.reason : `unexpected error: ${String(err)}`
  }
  return 'verified'
}

describe('NodeIdentity', () => {
  let pki: TestPki
  const opened: NodeIdentity[] = []

  async function load(files: IdentityFiles, options: NodeIdentityOptions = {}): Promise<NodeIdentity> {
    const identity = await NodeIdentity.load(files, options)
    opened.push(identity)
    return identity
  }

  /** A node whose CRL file is its own copy of the organisation's, so tests can break it freely. */
  async function nodeWithOwnCrl(name: string): Promise<TestNode> {
    const node = await pki.node(name)
    const crl = join(pki.dir, `${name}-own.crl.pem`)
    await copyFile(pki.org.crlPath, crl)
    return { ...node, files: { ...node.files, crl: [crl] } }
  }

  function chainOf(node: TestNode): Uint8Array[] {
    return [der(node), new Uint8Array(pki.org.ca.certificate.rawData)]
  }

  beforeAll(async () => {
    pki = await TestPki.create()
  })

  afterEach(() => {
    for (const identity of opened.splice(0)) identity.close()
  })

  afterAll(async () => {
    await pki.cleanup()
  })

  it('loads with the PeerId of its certificate and logs to the given SecurityLog', async () => {
    const node = await pki.node('plain')
    const log = new RecordingLog()
    const identity = await load(node.files, { log })
    expect(identity.peerId.toString()).toBe(peerIdOf(node).toString())
    expect(identity.log).toBe(log)
    expect(identity.material.leaf.serialNumber.toLowerCase()).toBe(node.issued.certificate.serialNumber.toLowerCase())
    expect(identity.secureContext).toBeDefined()
    expect(log.lines).toEqual([])
  })

  it('warns at load about a CRL past its nextUpdate and reports it on reload', async () => {
    const node = await pki.node('stale-crl')
    const crlPath = join(pki.dir, 'stale-own.crl.pem')
    const stale = await createCrl(pki.org.ca, { thisUpdate: new Date(Date.now() - 40 * DAY_MS), nextUpdateDays: 30 })
    await writeFile(crlPath, crlToPem(stale.rawData))
    const log = new RecordingLog()
    const identity = await load({ ...node.files, crl: [crlPath] }, { log })
    const warnings = log.find('warn', 'CRL is past its nextUpdate: still applied, publish a fresh one')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.fields.crl).toBe(crlPath)
    const reloaded = nextEvent(identity, 'reloaded')
    await identity.reload()
    expect((await reloaded).detail.staleCrls.map((s) => s.source)).toEqual([crlPath])
  })

  it('takes a renewed certificate for the same key on reload', async () => {
    const node = await pki.node('renewed')
    const log = new RecordingLog()
    const identity = await load(node.files, { log })
    const before = identity.material
    const oldSerial = before.leaf.serialNumber

    const renewed = await createNodeCertificate(pki.org.ca, { name: 'renewed', keys: node.issued.keys })
    await writeFile(
      node.files.cert,
      certificatesToPem([new Uint8Array(renewed.certificate.rawData), new Uint8Array(pki.org.ca.certificate.rawData)]),
    )
    const reloaded = nextEvent(identity, 'reloaded')
    await identity.reload()
    const event = await reloaded

    expect(event.detail.staleCrls).toEqual([])
    expect(identity.material.leaf.serialNumber).not.toBe(oldSerial)
    expect(identity.material.leaf.serialNumber.toLowerCase()).toBe(renewed.certificate.serialNumber.toLowerCase())
    expect(identity.peerId.toString()).toBe(before.peerId.toString())
    expect(identity.peerId.toString()).toBe(peerIdOf(node).toString())
    const info = log.find('info', 'mtls identity reloaded')
    expect(info).toHaveLength(1)
    expect(info[0]?.fields.certificateSerial).toBe(renewed.certificate.serialNumber.toLowerCase())
    expect(info[0]?.fields.peerId).toBe(before.peerId.toString())
  })

  it("refuses another node's key on reload with KeyChangedError and keeps the running material", async () => {
    const node = await pki.node('keeper')
    const other = await pki.node('usurper')
    const log = new RecordingLog()
    const identity = await load(node.files, { log })
    const before = identity.material
    const oldSerial = before.leaf.serialNumber

    await writeFile(node.files.cert, await readFile(other.files.cert))
    await writeFile(node.files.key, await readFile(other.files.key))
    const failed = nextEvent(identity, 'reload-failed')
    let reloadedEvents = 0
    identity.addEventListener('reloaded', () => reloadedEvents++)

    await expect(identity.reload()).rejects.toMatchObject({ name: 'KeyChangedError' })
    const event = await failed
    expect(event.detail.error.name).toBe('KeyChangedError')
    expect(event.detail.error.message).toContain(peerIdOf(other).toString())
    expect(reloadedEvents).toBe(0)
    expect(identity.material).toBe(before)
    expect(identity.material.leaf.serialNumber).toBe(oldSerial)
    expect(identity.peerId.toString()).toBe(peerIdOf(node).toString())
    expect(log.find('warn', 'mtls identity reload failed, keeping the previous one')).toHaveLength(1)
  })

  it('refuses a broken CRL file on reload and keeps the running material, then recovers', async () => {
    const node = await nodeWithOwnCrl('broken-crl')
    const crlPath = node.files.crl?.[0] as string
    const identity = await load(node.files, { log: new RecordingLog() })
    const before = identity.material
    const verifierBefore = identity.verifier

    await writeFile(crlPath, new TextEncoder().encode('garbage that is not a CRL'))
    const failed = nextEvent(identity, 'reload-failed')
    await expect(identity.reload()).rejects.toThrow(crlPath)
    expect((await failed).detail.error.message).toContain(crlPath)
    expect(identity.material).toBe(before)
    expect(identity.verifier).toBe(verifierBefore)
    expect(identity.material.leaf.serialNumber).toBe(before.leaf.serialNumber)

    // A good CRL again: the next reload succeeds.
    await writeFile(crlPath, crlToPem((await createCrl(pki.org.ca, {})).rawData))
    await identity.reload()
    expect(identity.verifier).not.toBe(verifierBefore)
  })

  it('reloads when the watched CRL file is rewritten, and the new verifier refuses the revoked node', async () => {
    // Its own PKI directory: no other test writes where this identity watches.
    const watchedPki = await TestPki.create()
    try {
      const node = await watchedPki.node('watcher')
      const victim = await watchedPki.node('victim')
      const victimChain = [der(victim), new Uint8Array(watchedPki.org.ca.certificate.rawData)]
      const identity = await load(node.files, { log: new RecordingLog(), watch: true, reloadDebounceMs: 50 })
      expect(await reasonOf(identity.verifier.verify(victimChain))).toBe('verified')

      const reloaded = nextEvent(identity, 'reloaded')
      await watchedPki.revoke(victim)
      await reloaded

      expect(await reasonOf(identity.verifier.verify(victimChain))).toBe('revoked')
      expect(await reasonOf(identity.verifier.verify(identity.material.chainDer))).toBe('verified')
    } finally {
      for (const identity of opened.splice(0)) identity.close()
      await watchedPki.cleanup()
    }
  })

  it("reloads a renewal delivered the way kubelet updates a Secret volume (a '..data' symlink swap)", async () => {
    // kubelet's AtomicWriter: the files are symlinks into ..data, itself a symlink to a
    // timestamped directory; an update writes a new directory and renames a fresh ..data_tmp
    // symlink over ..data. No event names tls.crt, so a watch that waits for it misses it.
    const node = await pki.node('kubelet-secret')
    const volume = await mkdtemp(join(tmpdir(), 'hypha-secret-volume-'))
    try {
      const writeVersion = async (version: string, chainPem: string) => {
        await mkdir(join(volume, version))
        await writeFile(join(volume, version, 'tls.crt'), chainPem)
        await copyFile(node.files.key, join(volume, version, 'tls.key'))
        await symlink(version, join(volume, '..data_tmp'))
        await rename(join(volume, '..data_tmp'), join(volume, '..data'))
      }
      await writeVersion('..2026_12_01_00_00_00.1', await readFile(node.files.cert, 'utf8'))
      await symlink('..data/tls.crt', join(volume, 'tls.crt'))
      await symlink('..data/tls.key', join(volume, 'tls.key'))
      const files = { ...node.files, cert: join(volume, 'tls.crt'), key: join(volume, 'tls.key') }
      const identity = await load(files, { log: new RecordingLog(), watch: true, reloadDebounceMs: 50 })

      const renewed = await createNodeCertificate(pki.org.ca, { name: 'kubelet-secret', keys: node.issued.keys })
      const reloaded = nextEvent(identity, 'reloaded')
      await writeVersion(
        '..2026_12_01_00_10_00.2',
        certificatesToPem([new Uint8Array(renewed.certificate.rawData), new Uint8Array(pki.org.ca.certificate.rawData)]),
      )
      await reloaded
      expect(identity.material.leaf.serialNumber.toLowerCase()).toBe(renewed.certificate.serialNumber.toLowerCase())
      expect(identity.peerId.toString()).toBe(peerIdOf(node).toString())
    } finally {
      for (const identity of opened.splice(0)) identity.close()
      await rm(volume, { recursive: true, force: true })
    }
  })

  it('stops watching on close()', async () => {
    const watchedPki = await TestPki.create()
    try {
      const closedNode = await watchedPki.node('closed')
      const sentinelNode = await watchedPki.node('sentinel')
      const victim = await watchedPki.node('victim')
      const victimChain = [der(victim), new Uint8Array(watchedPki.org.ca.certificate.rawData)]
      // The closed identity would reload well before the sentinel (shorter debounce) if it still watched.
      const closed = await load(closedNode.files, { log: new RecordingLog(), watch: true, reloadDebounceMs: 10 })
      const sentinel = await load(sentinelNode.files, { log: new RecordingLog(), watch: true, reloadDebounceMs: 300 })
      const closedVerifier = closed.verifier
      let closedEvents = 0
      closed.addEventListener('reloaded', () => closedEvents++)
      closed.addEventListener('reload-failed', () => closedEvents++)
      closed.close()

      const reloaded = nextEvent(sentinel, 'reloaded')
      await watchedPki.revoke(victim)
      await reloaded

      expect(await reasonOf(sentinel.verifier.verify(victimChain))).toBe('revoked')
      expect(closedEvents).toBe(0)
      expect(closed.verifier).toBe(closedVerifier)
      expect(await reasonOf(closed.verifier.verify(victimChain))).toBe('verified')
    } finally {
      for (const identity of opened.splice(0)) identity.close()
      await watchedPki.cleanup()
    }
  })

  describe('refusePeer', () => {
    it('remembers a revoked peer and logs a warn line with the reason', async () => {
      const node = await pki.node('refuser')
      const victim = await pki.node('refused')
      const log = new RecordingLog()
      const identity = await load(node.files, { log })
      // A real refusal: the victim's chain against a verifier whose CRL lists it.
      const crl = await createCrl(pki.org.ca, { revoke: [{ serialNumber: victim.issued.certificate.serialNumber }] })
      const crlPath = join(pki.dir, 'refuser-own.crl.pem')
      await writeFile(crlPath, crlToPem(crl.rawData))
      const revoking = await load({ ...node.files, crl: [crlPath] }, { log: new RecordingLog() })
      let error: CertificateRefusedError | undefined
      try {
        await revoking.verifier.verify(chainOf(victim))
      } catch (err) {
        if (isRefusal(err)) error = err
      }
      expect(error?.reason).toBe('revoked')
      expect(error?.peerId?.toString()).toBe(peerIdOf(victim).toString())

      expect(identity.peers.isKnownRevoked(peerIdOf(victim))).toBe(false)
      const refusedEvent = nextEvent(identity, 'peer:refused')
      const refusal = identity.refusePeer(error as CertificateRefusedError, {
        via: 'tls',
        by: 'local',
        remoteAddr: '/ip4/127.0.0.1/tcp/4001',
      })

      expect(identity.peers.isKnownRevoked(peerIdOf(victim))).toBe(true)
      expect(identity.peers.isKnownRevoked(peerIdOf(node))).toBe(false)
      expect(refusal).toMatchObject({ reason: 'revoked', via: 'tls', by: 'local', peerId: peerIdOf(victim).toString() })
      expect((await refusedEvent).detail).toEqual(refusal)
      const warns = log.find('warn', 'peer refused')
      expect(warns).toHaveLength(1)
      expect(warns[0]?.fields).toMatchObject({
        reason: 'revoked',
        peerId: peerIdOf(victim).toString(),
        via: 'tls',
        by: 'local',
        remoteAddr: '/ip4/127.0.0.1/tcp/4001',
      })
      expect(String(warns[0]?.fields.detail)).toContain('CN=refused')
    })

    it('does not mark a peer revoked for another reason, and logs a remote verdict as "refused by peer"', async () => {
      const node = await pki.node('refuser-2')
      const peer = await pki.node('expired-peer')
      const log = new RecordingLog()
      const identity = await load(node.files, { log })
      const error = new CertificateRefusedError('expired', 'the certificate expired')
      error.peerId = peerIdOf(peer)

      identity.refusePeer(error, { via: 'admission', by: 'local' })
      expect(identity.peers.isKnownRevoked(peerIdOf(peer))).toBe(false)
      expect(log.find('warn', 'peer refused')[0]?.fields).toMatchObject({ reason: 'expired', via: 'admission' })

      const remote = new CertificateRefusedError('revoked', 'the remote says we are revoked')
      identity.refusePeer(remote, { via: 'admission', by: 'remote' })
      expect(log.find('warn', 'refused by peer')[0]?.fields).toMatchObject({ reason: 'revoked', by: 'remote' })
    })
  })
})
