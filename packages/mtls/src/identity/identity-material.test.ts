// loadIdentityMaterial on files written by TestPki: a good node loads with its certificate's
// PeerId; a foreign key, a missing file, a non-Ed25519 key and an expired own certificate are
// refused with errors that name the file and the cause.
import { generateKeyPairSync, X509Certificate } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestPki } from '../../test/fixtures/test-pki.js'
import { CertificateRefusedError, isRefusal } from '../verify/errors.js'
import { peerIdOfCertificate } from '../verify/peer-id.js'
import { loadIdentityMaterial } from './identity-material.js'

const DAY_MS = 86_400_000

async function failure(loading: Promise<unknown>): Promise<Error> {
  let outcome: unknown
  try {
    await loading
  } catch (err) {
    outcome = err
  }
  // Not `instanceof Error`: errors made by Node itself (fs) come from another realm under jest's VM modules.
  if (typeof outcome !== 'object' || outcome === null || typeof (outcome as { message?: unknown }).message !== 'string') {
    throw new Error(`expected loading to fail, got ${String(outcome)}`)
  }
  return outcome as Error
}

describe('loadIdentityMaterial', () => {
  let pki: TestPki

  beforeAll(async () => {
    pki = await TestPki.create()
  })

  afterAll(async () => {
    await pki.cleanup()
  })

  it('loads a good node with the PeerId of its certificate', async () => {
    const node = await pki.node('good')
    const material = await loadIdentityMaterial(node.files)
    const expected = peerIdOfCertificate(new X509Certificate(new Uint8Array(node.issued.certificate.rawData)))
    expect(material.peerId.toString()).toBe(expected.toString())
    expect(material.privateKey.publicKey.equals(expected.publicKey)).toBe(true)
    expect(material.leaf.serialNumber.toLowerCase()).toBe(node.issued.certificate.serialNumber.toLowerCase())
    expect(material.chainDer).toHaveLength(2)
    expect(material.verifier.trustAnchors).toHaveLength(2)
    expect(material.verifier.revocation.size).toBe(1)
    // The node's own chain passes its own verifier.
    await expect(material.verifier.verify(material.chainDer)).resolves.toBeDefined()
  })

  it('refuses the key file of another node as key-mismatch, naming the key file', async () => {
    const node = await pki.node('owner')
    const stranger = await pki.node('stranger')
    const err = await failure(loadIdentityMaterial({ ...node.files, key: stranger.files.key }))
    expect(err).toBeInstanceOf(CertificateRefusedError)
    expect(isRefusal(err) ? err.reason : undefined).toBe('key-mismatch')
    expect(err.message).toContain(stranger.files.key)
    expect(err.message).toContain(node.files.cert)
  })

  it('names a missing certificate file and says it does not exist', async () => {
    const node = await pki.node('no-cert')
    const missing = join(pki.dir, 'does-not-exist-cert.pem')
    const err = await failure(loadIdentityMaterial({ ...node.files, cert: missing }))
    expect(err.message).toContain(missing)
    expect(err.message).toContain('no such file')
  })

  it('names a missing CRL file', async () => {
    const node = await pki.node('no-crl')
    const missing = join(pki.dir, 'does-not-exist.crl')
    const err = await failure(loadIdentityMaterial({ ...node.files, crl: [missing] }))
    expect(err.message).toContain(missing)
  })

  it('refuses an EC P-256 key with "expected an Ed25519 key", naming the file', async () => {
    const node = await pki.node('ec-key')
    const path = join(pki.dir, 'ec-key.pem')
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }))
    const err = await failure(loadIdentityMaterial({ ...node.files, key: path }))
    expect(err.message).toContain('expected an Ed25519 key')
    expect(err.message).toContain('found ec')
    expect(err.message).toContain(path)
  })

  it('refuses an RSA key with "expected an Ed25519 key"', async () => {
    const node = await pki.node('rsa-key')
    const path = join(pki.dir, 'rsa-key.pem')
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }))
    const err = await failure(loadIdentityMaterial({ ...node.files, key: path }))
    expect(err.message).toContain(`${path}: expected an Ed25519 key, found rsa`)
  })

  it('refuses a key file that holds no private key, naming it', async () => {
    const node = await pki.node('garbage-key')
    const path = join(pki.dir, 'garbage-key.pem')
    await writeFile(path, 'not a key\n')
    const err = await failure(loadIdentityMaterial({ ...node.files, key: path }))
    expect(err.message).toContain(`${path}: not a PEM private key`)
  })

  describe('an expired own certificate', () => {
    let files: Awaited<ReturnType<TestPki['node']>>['files']

    beforeAll(async () => {
      const node = await pki.node('expired', {
        notBefore: new Date(Date.now() - 400 * DAY_MS),
        notAfter: new Date(Date.now() - DAY_MS),
      })
      files = node.files
    })

    it('fails to load, saying it expired and naming the files', async () => {
      const err = await failure(loadIdentityMaterial(files))
      expect(err.message).toContain('expired')
      expect(err.message).toContain(files.cert)
      expect(err.message).toContain(files.trust)
    })

    it('loads with checkOwnChain: false', async () => {
      const material = await loadIdentityMaterial(files, { checkOwnChain: false })
      expect(material.leaf.subject).toContain('CN=expired')
      // ... and its verifier still refuses that chain, for peers.
      let reason: string | undefined
      try {
        await material.verifier.verify(material.chainDer)
      } catch (err) {
        reason = isRefusal(err) ? err.reason : String(err)
      }
      expect(reason).toBe('expired')
    })
  })

  it('fails to load a certificate of another organisation than its trust bundle', async () => {
    const node = await pki.node('foreign', { organisation: pki.foreign })
    const err = await failure(loadIdentityMaterial({ ...node.files, trust: pki.org.trustPath }))
    expect(err.message).toContain('untrusted')
  })
})
