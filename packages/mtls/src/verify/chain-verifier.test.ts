// CertificateVerifier on in-memory certificates: which chains are accepted (with and without
// the intermediate in the trust bundle), and the exact reason code of every refusal, including
// revoked leaves and intermediates and CRLs forged under a real CA's name.
import { X509Certificate } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import {
  createCrl,
  createIntermediateCa,
  createNodeCertificate,
  createRootCa,
  generateEd25519KeyPair,
  type IssuedCertificate,
  type Issuer,
} from '../pki/authority.js'
import { nodeCrypto, x509 } from '../pki/x509.js'
import { CertificateVerifier } from './chain-verifier.js'
import { type CertificateRefusedError, isRefusal, type RefusalReason } from './errors.js'
import { peerIdOfCertificate } from './peer-id.js'
import { RevocationList } from './revocation.js'

const DAY_MS = 86_400_000

interface Organisation {
  root: Issuer
  ca: Issuer
}

function der(certificate: x509.X509Certificate): Uint8Array {
  return new Uint8Array(certificate.rawData)
}

function nodeCert(certificate: x509.X509Certificate): X509Certificate {
  return new X509Certificate(der(certificate))
}

async function createOrganisation(name: string, ca: { notBefore?: Date; notAfter?: Date } = {}): Promise<Organisation> {
  const rootIssued = await createRootCa({ organisation: name })
  const root: Issuer = { certificate: rootIssued.certificate, privateKey: rootIssued.keys.privateKey, chain: [] }
  return { root, ca: await intermediateUnder(root, name, ca) }
}

async function intermediateUnder(
  root: Issuer,
  name: string,
  validity: { notBefore?: Date; notAfter?: Date; commonName?: string } = {},
): Promise<Issuer> {
  const caIssued = await createIntermediateCa(root, { organisation: name, ...validity })
  return { certificate: caIssued.certificate, privateKey: caIssued.keys.privateKey, chain: [root.certificate] }
}

/** What a peer sends: its leaf, then its organisation CA. */
function chainOf(leaf: IssuedCertificate, org: Organisation): Uint8Array[] {
  return [der(leaf.certificate), der(org.ca.certificate)]
}

function peerIdOf(issued: IssuedCertificate): PeerId {
  return peerIdOfCertificate(nodeCert(issued.certificate))
}

async function refusal(verification: Promise<unknown>): Promise<CertificateRefusedError> {
  let outcome: unknown
  try {
    await verification
  } catch (err) {
    outcome = err
  }
  if (outcome === undefined) {
    throw new Error('expected the chain to be refused, but it verified')
  }
  if (!isRefusal(outcome)) {
    throw outcome
  }
  return outcome
}

async function expectRefused(verification: Promise<unknown>, reason: RefusalReason, peerId?: PeerId): Promise<CertificateRefusedError> {
  const err = await refusal(verification)
  expect(err.reason).toBe(reason)
  expect(err.message.startsWith(`${reason}: `)).toBe(true)
  if (peerId !== undefined) {
    expect(err.peerId?.toString()).toBe(peerId.toString())
  }
  return err
}

function crlList(...crls: Array<{ source: string; crl: x509.X509Crl }>): RevocationList {
  return RevocationList.fromDer(crls.map(({ source, crl }) => ({ source, der: new Uint8Array(crl.rawData) })))
}

describe('CertificateVerifier', () => {
  let acme: Organisation
  let mallory: Organisation
  let worker: IssuedCertificate
  let other: IssuedCertificate
  let foreigner: IssuedCertificate
  /** The acme trust bundle as nodes get it: organisation CA and root. */
  let acmeTrust: X509Certificate[]
  let acmeRootOnly: X509Certificate[]

  const verifier = (trustAnchors: readonly X509Certificate[], revocation = RevocationList.empty(), now?: () => Date) =>
    new CertificateVerifier({ trustAnchors, revocation, ...(now !== undefined ? { now } : {}) })

  beforeAll(async () => {
    acme = await createOrganisation('acme')
    mallory = await createOrganisation('mallory')
    worker = await createNodeCertificate(acme.ca, { name: 'worker-1' })
    other = await createNodeCertificate(acme.ca, { name: 'worker-2' })
    foreigner = await createNodeCertificate(mallory.ca, { name: 'intruder' })
    acmeTrust = [nodeCert(acme.ca.certificate), nodeCert(acme.root.certificate)]
    acmeRootOnly = [nodeCert(acme.root.certificate)]
  })

  it('refuses as malformed a leaf that parses but whose key does not decode (found by fuzzing)', async () => {
    const [leafDer, ...rest] = chainOf(worker, acme)
    // the first single-bit change of the leaf that still parses as X.509 but breaks its key
    let broken: Uint8Array | undefined
    for (let at = 0; at < (leafDer as Uint8Array).length && broken === undefined; at++) {
      const candidate = Uint8Array.from(leafDer as Uint8Array)
      candidate[at] = (candidate[at] as number) ^ 0x01
      let parsed: X509Certificate
      try {
        parsed = new X509Certificate(candidate)
      } catch {
        continue
      }
      try {
        peerIdOfCertificate(parsed)
      } catch (err) {
        if (!isRefusal(err)) broken = candidate
      }
    }
    expect(broken).toBeDefined()
    await expectRefused(verifier(acmeTrust).verify([broken as Uint8Array, ...rest]), 'malformed-certificate')
  })

  describe('accepts', () => {
    it('a leaf and its organisation CA against a bundle of organisation CA and root', async () => {
      const verified = await verifier(acmeTrust).verify(chainOf(worker, acme))
      expect(verified.peerId.toString()).toBe(peerIdOf(worker).toString())
      expect(verified.peerId.equals(peerIdOf(worker))).toBe(true)
      expect(verified.leaf.serialNumber.toLowerCase()).toBe(nodeCert(worker.certificate).serialNumber.toLowerCase())
      expect(verified.path.map((c) => c.subject.replace(/\n/g, ', '))).toEqual([
        'CN=worker-1, O=acme',
        'CN=acme CA, O=acme',
        'CN=acme Root CA, O=acme',
      ])
    })

    it('a leaf whose intermediate the peer sends, against a bundle holding only the root', async () => {
      const verified = await verifier(acmeRootOnly).verify(chainOf(worker, acme))
      expect(verified.peerId.equals(peerIdOf(worker))).toBe(true)
      expect(verified.path).toHaveLength(3)
    })

    it('a leaf without its intermediate when the bundle holds the organisation CA', async () => {
      const verified = await verifier(acmeTrust).verify([der(worker.certificate)])
      expect(verified.peerId.equals(peerIdOf(worker))).toBe(true)
    })

    it('the PeerId the transport authenticated when it matches the leaf key', async () => {
      const verified = await verifier(acmeTrust).verify(chainOf(worker, acme), peerIdOf(worker))
      expect(verified.peerId.equals(peerIdOf(worker))).toBe(true)
    })

    it('a leaf whose serial another issuer revoked (serials count per issuing CA)', async () => {
      // mallory's CA revokes a serial equal to worker-1's: that must not touch acme's node.
      const crl = await createCrl(mallory.ca, { revoke: [{ serialNumber: worker.certificate.serialNumber }] })
      const revocation = crlList({ source: 'mallory.crl', crl })
      await expect(
        verifier([...acmeTrust, nodeCert(mallory.ca.certificate)], revocation).verify(chainOf(worker, acme)),
      ).resolves.toBeDefined()
    })
  })

  describe('refuses', () => {
    it('a leaf of another organisation as untrusted', async () => {
      const err = await expectRefused(verifier(acmeTrust).verify(chainOf(foreigner, mallory)), 'untrusted', peerIdOf(foreigner))
      expect(err.message).toContain('mallory')
    })

    it('a chain that brings its own (untrusted) root, as untrusted', async () => {
      // The path is complete up to a self-signed root: only the trust bundle can refuse it.
      const chain = [...chainOf(foreigner, mallory), der(mallory.root.certificate)]
      const err = await expectRefused(verifier(acmeTrust).verify(chain), 'untrusted', peerIdOf(foreigner))
      expect(err.message).toContain('mallory Root CA')
      const forged = await createOrganisation('acme')
      const forgedLeaf = await createNodeCertificate(forged.ca, { name: 'worker-1' })
      await expectRefused(
        verifier(acmeRootOnly).verify([...chainOf(forgedLeaf, forged), der(forged.root.certificate)]),
        'untrusted',
        peerIdOf(forgedLeaf),
      )
    })

    it('a leaf of another organisation sent without its CA as untrusted', async () => {
      await expectRefused(verifier(acmeTrust).verify([der(foreigner.certificate)]), 'untrusted', peerIdOf(foreigner))
    })

    it('a leaf without its intermediate when the bundle holds only the root, as untrusted', async () => {
      const err = await expectRefused(verifier(acmeRootOnly).verify([der(worker.certificate)]), 'untrusted', peerIdOf(worker))
      expect(err.message).toContain('acme CA')
    })

    it('a leaf with a CA of another organisation whose name it borrows, as untrusted', async () => {
      // A "forged" acme CA: same names, its own root; its leaf must not pass acme's bundle.
      const forged = await createOrganisation('acme')
      const forgedLeaf = await createNodeCertificate(forged.ca, { name: 'worker-1' })
      await expectRefused(verifier(acmeTrust).verify(chainOf(forgedLeaf, forged)), 'untrusted', peerIdOf(forgedLeaf))
      await expectRefused(verifier(acmeRootOnly).verify(chainOf(forgedLeaf, forged)), 'untrusted', peerIdOf(forgedLeaf))
    })

    it('an expired leaf', async () => {
      const expired = await createNodeCertificate(acme.ca, {
        name: 'expired',
        notBefore: new Date(Date.now() - 400 * DAY_MS),
        notAfter: new Date(Date.now() - DAY_MS),
      })
      const err = await expectRefused(verifier(acmeTrust).verify(chainOf(expired, acme)), 'expired', peerIdOf(expired))
      expect(err.message).toContain('CN=expired')
    })

    it('a leaf that is not yet valid', async () => {
      const future = await createNodeCertificate(acme.ca, {
        name: 'future',
        notBefore: new Date(Date.now() + DAY_MS),
        notAfter: new Date(Date.now() + 400 * DAY_MS),
      })
      const err = await expectRefused(verifier(acmeTrust).verify(chainOf(future, acme)), 'not-yet-valid', peerIdOf(future))
      expect(err.message).toContain('CN=future')
    })

    it('a valid leaf under an expired intermediate, as expired', async () => {
      const oldCa = await intermediateUnder(acme.root, 'acme', {
        commonName: 'acme Old CA',
        notBefore: new Date(Date.now() - 800 * DAY_MS),
        notAfter: new Date(Date.now() - DAY_MS),
      })
      const leaf = await createNodeCertificate(oldCa, { name: 'orphan' })
      const chain = [der(leaf.certificate), der(oldCa.certificate)]
      const err = await expectRefused(verifier(acmeRootOnly).verify(chain), 'expired', peerIdOf(leaf))
      expect(err.message).toContain('acme Old CA')
      // Trusting the expired CA explicitly does not make it valid either.
      await expectRefused(verifier([nodeCert(oldCa.certificate), ...acmeRootOnly]).verify(chain), 'expired', peerIdOf(leaf))
    })

    it('a valid leaf under a not-yet-valid intermediate, as not-yet-valid', async () => {
      const nextCa = await intermediateUnder(acme.root, 'acme', {
        commonName: 'acme Next CA',
        notBefore: new Date(Date.now() + DAY_MS),
        notAfter: new Date(Date.now() + 800 * DAY_MS),
      })
      const leaf = await createNodeCertificate(nextCa, { name: 'early' })
      const err = await expectRefused(
        verifier(acmeRootOnly).verify([der(leaf.certificate), der(nextCa.certificate)]),
        'not-yet-valid',
        peerIdOf(leaf),
      )
      expect(err.message).toContain('acme Next CA')
    })

    it('a CA certificate presented as the leaf', async () => {
      await expectRefused(
        verifier(acmeTrust).verify([der(acme.ca.certificate), der(acme.root.certificate)]),
        'leaf-is-ca',
        peerIdOfCertificate(nodeCert(acme.ca.certificate)),
      )
      await expectRefused(
        verifier(acmeTrust).verify([der(acme.root.certificate)]),
        'leaf-is-ca',
        peerIdOfCertificate(nodeCert(acme.root.certificate)),
      )
    })

    it('a certificate signed by a node certificate (not a CA)', async () => {
      const keys = await generateEd25519KeyPair()
      const sub = await x509.X509CertificateGenerator.create(
        {
          serialNumber: '01',
          subject: 'CN=sub-node, O=acme',
          issuer: worker.certificate.subject,
          notBefore: new Date(Date.now() - 60_000),
          notAfter: new Date(Date.now() + DAY_MS),
          publicKey: keys.publicKey,
          signingKey: worker.keys.privateKey,
          signingAlgorithm: { name: 'Ed25519' },
          extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
        },
        nodeCrypto,
      )
      const err = await refusal(verifier(acmeTrust).verify([der(sub), ...chainOf(worker, acme)]))
      // OpenSSL's issuer check already rejects an issuer without keyCertSign, so this surfaces
      // as 'untrusted'; 'not-a-ca' would be as good. Anything but acceptance.
      expect(['untrusted', 'not-a-ca']).toContain(err.reason)
      expect(err.peerId?.toString()).toBe(peerIdOfCertificate(new X509Certificate(der(sub))).toString())
    })

    it('a leaf whose key is not the PeerId the transport authenticated', async () => {
      const err = await expectRefused(
        verifier(acmeTrust).verify(chainOf(worker, acme), peerIdOf(other)),
        'peer-id-mismatch',
        peerIdOf(worker),
      )
      expect(err.message).toContain(peerIdOf(worker).toString())
      expect(err.message).toContain(peerIdOf(other).toString())
    })

    it('an empty chain, without a PeerId', async () => {
      const err = await expectRefused(verifier(acmeTrust).verify([]), 'empty-chain')
      expect(err.peerId).toBeUndefined()
    })

    it('garbage bytes as malformed-certificate, without a PeerId', async () => {
      const garbage = new TextEncoder().encode('this is not a certificate')
      const err = await expectRefused(verifier(acmeTrust).verify([garbage]), 'malformed-certificate')
      expect(err.message).toContain('certificate 0')
      expect(err.peerId).toBeUndefined()
      const second = await expectRefused(verifier(acmeTrust).verify([der(worker.certificate), garbage]), 'malformed-certificate')
      expect(second.message).toContain('certificate 1')
    })

    it("a leaf whose serial is in its organisation CA's CRL", async () => {
      const crl = await createCrl(acme.ca, { revoke: [{ serialNumber: worker.certificate.serialNumber }] })
      const revocation = crlList({ source: 'acme-ca.crl', crl })
      const err = await expectRefused(verifier(acmeTrust, revocation).verify(chainOf(worker, acme)), 'revoked', peerIdOf(worker))
      expect(err.message).toContain('CN=worker-1')
      // Only the listed serial: worker-2 of the same CA still verifies.
      await expect(verifier(acmeTrust, revocation).verify(chainOf(other, acme))).resolves.toBeDefined()
      // Also when the bundle holds only the root and the intermediate comes from the peer.
      await expectRefused(verifier(acmeRootOnly, revocation).verify(chainOf(worker, acme)), 'revoked', peerIdOf(worker))
    })

    it("a leaf whose organisation CA is in the root's CRL (revoked intermediate)", async () => {
      const crl = await createCrl(acme.root, { revoke: [{ serialNumber: acme.ca.certificate.serialNumber }] })
      const revocation = crlList({ source: 'acme-root.crl', crl })
      const err = await expectRefused(verifier(acmeTrust, revocation).verify(chainOf(worker, acme)), 'revoked', peerIdOf(worker))
      expect(err.message).toContain('acme CA')
      await expectRefused(verifier(acmeRootOnly, revocation).verify(chainOf(worker, acme)), 'revoked', peerIdOf(worker))
      await expectRefused(verifier(acmeTrust, revocation).verify([der(worker.certificate)]), 'revoked', peerIdOf(worker))
    })
  })

  describe('CRLs forged under a real CA name', () => {
    let forged: Organisation

    beforeAll(async () => {
      // Another CA hierarchy created with the same organisation name: same subject names, other keys.
      forged = await createOrganisation('acme')
      expect(forged.ca.certificate.subject).toBe(acme.ca.certificate.subject)
      expect(forged.root.certificate.subject).toBe(acme.root.certificate.subject)
    })

    it('ignores a CRL naming the organisation CA but signed by another key', async () => {
      const crl = await createCrl(forged.ca, { revoke: [{ serialNumber: worker.certificate.serialNumber }] })
      expect(crl.issuer).toBe(acme.ca.certificate.subject)
      const revocation = crlList({ source: 'forged-ca.crl', crl })
      const verified = await verifier(acmeTrust, revocation).verify(chainOf(worker, acme))
      expect(verified.peerId.equals(peerIdOf(worker))).toBe(true)
      expect(await revocation.isRevoked(nodeCert(worker.certificate), nodeCert(acme.ca.certificate))).toBe(false)
    })

    it('ignores a CRL naming the root but signed by another key', async () => {
      const crl = await createCrl(forged.root, { revoke: [{ serialNumber: acme.ca.certificate.serialNumber }] })
      const revocation = crlList({ source: 'forged-root.crl', crl })
      await expect(verifier(acmeRootOnly, revocation).verify(chainOf(worker, acme))).resolves.toBeDefined()
    })

    it('still applies the genuine CRL loaded next to a forged one', async () => {
      const forgedCrl = await createCrl(forged.ca, { revoke: [{ serialNumber: other.certificate.serialNumber }] })
      const genuineCrl = await createCrl(acme.ca, { revoke: [{ serialNumber: worker.certificate.serialNumber }] })
      const revocation = crlList({ source: 'forged-ca.crl', crl: forgedCrl }, { source: 'acme-ca.crl', crl: genuineCrl })
      await expectRefused(verifier(acmeTrust, revocation).verify(chainOf(worker, acme)), 'revoked', peerIdOf(worker))
      await expect(verifier(acmeTrust, revocation).verify(chainOf(other, acme))).resolves.toBeDefined()
    })
  })

  describe('with an injected clock', () => {
    let leaf: IssuedCertificate
    // A window entirely in the future of the real clock: 100 to 200 days from now.
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 + 100 * DAY_MS)
    const notAfter = new Date(notBefore.getTime() + 100 * DAY_MS)

    beforeAll(async () => {
      leaf = await createNodeCertificate(acme.ca, { name: 'later', notBefore, notAfter })
    })

    it('accepts the leaf while the clock is inside its validity', async () => {
      const now = () => new Date(notBefore.getTime() + 50 * DAY_MS)
      const verified = await verifier(acmeTrust, RevocationList.empty(), now).verify(chainOf(leaf, acme))
      expect(verified.peerId.equals(peerIdOf(leaf))).toBe(true)
    })

    it('refuses it as not-yet-valid before notBefore and the real clock as well', async () => {
      await expectRefused(
        verifier(acmeTrust, RevocationList.empty(), () => new Date(notBefore.getTime() - 1000)).verify(chainOf(leaf, acme)),
        'not-yet-valid',
        peerIdOf(leaf),
      )
      await expectRefused(verifier(acmeTrust).verify(chainOf(leaf, acme)), 'not-yet-valid', peerIdOf(leaf))
    })

    it('refuses it as expired after notAfter', async () => {
      const err = await expectRefused(
        verifier(acmeTrust, RevocationList.empty(), () => new Date(notAfter.getTime() + 1000)).verify(chainOf(leaf, acme)),
        'expired',
        peerIdOf(leaf),
      )
      expect(err.message).toContain(notAfter.toISOString())
    })

    it("refuses a chain that is valid today once the clock passes the leaf's end", async () => {
      const end = new Date(nodeCert(worker.certificate).validTo)
      await expectRefused(
        verifier(acmeTrust, RevocationList.empty(), () => new Date(end.getTime() + DAY_MS)).verify(chainOf(worker, acme)),
        'expired',
        peerIdOf(worker),
      )
    })
  })
})
