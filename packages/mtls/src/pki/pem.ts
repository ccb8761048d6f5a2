// PEM encoding and decoding of certificates, CRLs and keys. Node's TLS wants CRLs labelled
// "X509 CRL" (@peculiar/x509 writes "CRL"), so everything we write goes through here.
import { X509Certificate } from 'node:crypto'
import { x509 } from './x509.js'

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g

export interface PemBlock {
  label: string
  der: Uint8Array
}

/** Every PEM block in a text, in order. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = []
  for (const match of text.matchAll(PEM_BLOCK)) {
    const label = match[1] ?? ''
    const body = (match[2] ?? '').replace(/\s+/g, '')
    blocks.push({ label, der: new Uint8Array(Buffer.from(body, 'base64')) })
  }
  return blocks
}

export function encodePem(der: Uint8Array | ArrayBuffer, label: string): string {
  return x509.PemConverter.encode(der instanceof Uint8Array ? toArrayBuffer(der) : der, label)
}

export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}

/** DER of every certificate in a PEM text; other blocks are ignored. */
export function decodeCertificates(text: string): Uint8Array[] {
  return decodePemBlocks(text)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => b.der)
}

export function certificatesToPem(ders: readonly Uint8Array[]): string {
  return ders.map((der) => encodePem(der, 'CERTIFICATE')).join('\n') + '\n'
}

export function crlToPem(der: Uint8Array | ArrayBuffer): string {
  return encodePem(der, 'X509 CRL') + '\n'
}

/** DER of every CRL in a PEM text (either label) or of a raw DER file. */
export function decodeCrls(content: Uint8Array): Uint8Array[] {
  const text = Buffer.from(content).toString('latin1')
  if (text.includes('-----BEGIN')) {
    return decodePemBlocks(text)
      .filter((b) => b.label === 'X509 CRL' || b.label === 'CRL')
      .map((b) => b.der)
  }
  return content.byteLength > 0 ? [content] : []
}

export function parseNodeCertificate(der: Uint8Array): X509Certificate {
  return new X509Certificate(der)
}
