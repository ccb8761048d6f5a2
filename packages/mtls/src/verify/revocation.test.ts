// RevocationList: stale CRLs still revoke (and are reported), CRL files are read in every
// encoding operators produce, a file without a CRL is named in the error, and a CRL extended
// with `previous` keeps what it revoked before.
import { X509Certificate } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createCrl,
  createIntermediateCa,
  createNodeCertificate,
  createRootCa,
  type IssuedCertificate,
  type Issuer,
  normaliseSerial,
} from '../pki/authority.js'
import { certificatesToPem, crlToPem, encodePem } from '../pki/pem.js'
import { x509 } from '../pki/x509.js'
import { CertificateVerifier } from './chain-verifier.js'
import { isRefusal } from './errors.js'
import { RevocationList } from './revocation.js'

const DAY_MS = 86_400_000

function nodeCert(certificate: x509.X509Certificate): X509Certificate {
  return new X509Certificate(new Uint8Array(certificate.rawData))
}

function crlDer(crl: x509.X509Crl): Uint8Array {
  return new Uint8Array(crl.rawData)
}

describe('RevocationList', () => {
  let dir: string
  let root: Issuer
  let ca: Issuer
  let revokedNode: IssuedCertificate
  let goodNode: IssuedCertificate
  let thirdNode: IssuedCertificate
  let caCert: X509Certificate

  const isRevoked = (list: RevocationList, node: IssuedCertificate) => list.isRevoked(nodeCert(node.certificate), caCert)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hypha-mtls-revocation-'))
    const rootIssued = await createRootCa({ organisation: 'acme' })
    root = { certificate: rootIssued.certificate, privateKey: rootIssued.keys.privateKey, chain: [] }
    const caIssued = await createIntermediateCa(root, { organisation: 'acme' })
    ca = { certificate: caIssued.certificate, privateKey: caIssued.keys.privateKey, chain: [root.certificate] }
    caCert = nodeCert(ca.certificate)
    revokedNode = await createNodeCertificate(ca, { name: 'revoked' })
    goodNode = await createNodeCertificate(ca, { name: 'good' })
    thirdNode = await createNodeCertificate(ca, { name: 'third' })
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('is empty and revokes nothing without CRLs', async () => {
    const list = RevocationList.empty()
    expect(list.size).toBe(0)
    expect(list.stale()).toEqual([])
    expect(await isRevoked(list, revokedNode)).toBe(false)
  })

  describe('a CRL past its nextUpdate', () => {
    let list: RevocationList
    let crl: x509.X509Crl
    const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000 - 40 * DAY_MS)

    beforeAll(async () => {
      crl = await createCrl(ca, {
        revoke: [{ serialNumber: revokedNode.certificate.serialNumber }],
        thisUpdate,
        nextUpdateDays: 30,
      })
      list = RevocationList.fromDer([{ source: 'stale.crl', der: crlDer(crl) }])
    })

    it('still revokes what it lists', async () => {
      expect(await isRevoked(list, revokedNode)).toBe(true)
    })

    it('does not revoke the certificates it does not list', async () => {
      expect(await isRevoked(list, goodNode)).toBe(false)
    })

    it('refuses only the listed peer in the verifier', async () => {
      const verifier = new CertificateVerifier({ trustAnchors: [caCert, nodeCert(root.certificate)], revocation: list })
      const chain = (node: IssuedCertificate) => [new Uint8Array(node.certificate.rawData), new Uint8Array(ca.certificate.rawData)]
      await expect(verifier.verify(chain(goodNode))).resolves.toBeDefined()
      let refusedReason: string | undefined
      try {
        await verifier.verify(chain(revokedNode))
      } catch (err) {
        refusedReason = isRefusal(err) ? err.reason : `unexpected ${String(err)}`
      }
      expect(refusedReason).toBe('revoked')
    })

    it('is reported by stale() with its source, issuer and nextUpdate', () => {
      const stale = list.stale()
      expect(stale).toHaveLength(1)
      expect(stale[0]?.source).toBe('stale.crl')
      expect(stale[0]?.issuer).toBe(ca.certificate.subject)
      expect(stale[0]?.nextUpdate.getTime()).toBe(thisUpdate.getTime() + 30 * DAY_MS)
    })

    it('is not stale at a time before its nextUpdate', () => {
      expect(list.stale(new Date(thisUpdate.getTime() + DAY_MS))).toEqual([])
    })

    it('is not confused with a fresh CRL, which is not stale', async () => {
      const fresh = await createCrl(ca, {})
      const both = RevocationList.fromDer([
        { source: 'stale.crl', der: crlDer(crl) },
        { source: 'fresh.crl', der: crlDer(fresh) },
      ])
      expect(both.size).toBe(2)
      expect(both.stale().map((s) => s.source)).toEqual(['stale.crl'])
      expect(await isRevoked(both, revokedNode)).toBe(true)
    })
  })

  describe('fromFiles', () => {
    let crl: x509.X509Crl

    beforeAll(async () => {
      crl = await createCrl(ca, { revoke: [{ serialNumber: revokedNode.certificate.serialNumber }] })
    })

    async function loads(name: string, content: string | Uint8Array): Promise<RevocationList> {
      const path = join(dir, name)
      await writeFile(path, content)
      const list = await RevocationList.fromFiles([path])
      expect(list.size).toBe(1)
      expect(await isRevoked(list, revokedNode)).toBe(true)
      expect(await isRevoked(list, goodNode)).toBe(false)
      return list
    }

    it('reads PEM labelled "X509 CRL"', async () => {
      const pem = crlToPem(crl.rawData)
      expect(pem).toContain('-----BEGIN X509 CRL-----')
      await loads('x509-label.crl.pem', pem)
    })

    it('reads PEM labelled "CRL"', async () => {
      const pem = encodePem(crl.rawData, 'CRL')
      expect(pem).toContain('-----BEGIN CRL-----')
      await loads('crl-label.crl.pem', pem)
    })

    it('reads DER', async () => {
      await loads('der.crl', crlDer(crl))
    })

    it('reads every CRL of a PEM file holding several, ignoring other blocks', async () => {
      const rootCrl = await createCrl(root, { revoke: [{ serialNumber: ca.certificate.serialNumber }] })
      const path = join(dir, 'bundle.crl.pem')
      await writeFile(
        path,
        [certificatesToPem([new Uint8Array(root.certificate.rawData)]), crlToPem(crl.rawData), encodePem(rootCrl.rawData, 'CRL'), ''].join(
          '\n',
        ),
      )
      const list = await RevocationList.fromFiles([path])
      expect(list.size).toBe(2)
      expect(await isRevoked(list, revokedNode)).toBe(true)
      expect(await list.isRevoked(caCert, nodeCert(root.certificate))).toBe(true)
    })

    it('names the file that holds no CRL (a certificate PEM)', async () => {
      const path = join(dir, 'not-a-crl.pem')
      await writeFile(path, certificatesToPem([new Uint8Array(ca.certificate.rawData)]))
      await expect(RevocationList.fromFiles([path])).rejects.toThrow(`${path}: no CRL found`)
    })

    it('names the file that is empty', async () => {
      const path = join(dir, 'empty.crl')
      await writeFile(path, '')
      await expect(RevocationList.fromFiles([path])).rejects.toThrow(path)
    })

    it('names the file whose DER is not a CRL', async () => {
      const path = join(dir, 'garbage.crl')
      await writeFile(path, new TextEncoder().encode('garbage, not DER'))
      await expect(RevocationList.fromFiles([path])).rejects.toThrow(`${path}: not a valid CRL`)
    })
  })

  describe('a CRL extended with previous', () => {
    let first: x509.X509Crl
    let second: x509.X509Crl

    beforeAll(async () => {
      first = await createCrl(ca, {
        revoke: [{ serialNumber: revokedNode.certificate.serialNumber, reason: x509.X509CrlReason.keyCompromise }],
        thisUpdate: new Date(Math.floor(Date.now() / 1000) * 1000 - DAY_MS),
      })
      second = await createCrl(ca, { previous: first, revoke: [{ serialNumber: thirdNode.certificate.serialNumber }] })
    })

    it('keeps the old entry next to the new one', () => {
      const serials = second.entries.map((e) => normaliseSerial(e.serialNumber)).sort()
      expect(serials).toEqual(
        [normaliseSerial(revokedNode.certificate.serialNumber), normaliseSerial(thirdNode.certificate.serialNumber)].sort(),
      )
    })

    it("keeps the old entry's revocation date and reason", () => {
      const old = second.entries.find((e) => normaliseSerial(e.serialNumber) === normaliseSerial(revokedNode.certificate.serialNumber))
      const original = first.entries[0]
      expect(old?.revocationDate.getTime()).toBe(original?.revocationDate.getTime())
      expect(old?.reason).toBe(x509.X509CrlReason.keyCompromise)
    })

    it('revokes both serials, and only them', async () => {
      const list = RevocationList.fromDer([{ source: 'second.crl', der: crlDer(second) }])
      expect(await isRevoked(list, revokedNode)).toBe(true)
      expect(await isRevoked(list, thirdNode)).toBe(true)
      expect(await isRevoked(list, goodNode)).toBe(false)
    })

    it('does not duplicate a serial revoked again', async () => {
      const third = await createCrl(ca, { previous: second, revoke: [{ serialNumber: revokedNode.certificate.serialNumber }] })
      expect(third.entries).toHaveLength(2)
    })
  })
})
