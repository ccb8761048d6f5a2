// File names of the PKI material, in one place so the CLI, the docs and the tests agree:
// the same layout as Hypha's certutil (`<org>-root-ca-*.pem`, `<org>-ca-*.pem`, `<name>-*.pem`).
// Pure functions only: no file system access here.
import { basename, dirname, join } from 'node:path'

export interface CaFileNames {
  cert: string
  key: string
}

export interface BundleFileNames extends CaFileNames {
  /** The CA certificates up to (and including) the root. */
  trust: string
}

const CA_CERT_SUFFIX = '-ca-cert.pem'
const CA_TRUST_SUFFIX = '-ca-trust.pem'

export function rootCaFileNames(organisation: string): CaFileNames {
  return { cert: `${organisation}-root-ca-cert.pem`, key: `${organisation}-root-ca-key.pem` }
}

export function organisationCaFileNames(organisation: string): BundleFileNames {
  return {
    cert: `${organisation}${CA_CERT_SUFFIX}`,
    key: `${organisation}-ca-key.pem`,
    trust: `${organisation}${CA_TRUST_SUFFIX}`,
  }
}

export function nodeFileNames(name: string): BundleFileNames {
  return { cert: `${name}-cert.pem`, key: `${name}-key.pem`, trust: `${name}-trust.pem` }
}

/**
 * The trust bundle written next to a CA certificate by `org`: `<prefix>-ca-trust.pem` for
 * `<prefix>-ca-cert.pem`; undefined when the path does not follow that pattern.
 */
export function trustBundleSiblingOf(caCertPath: string): string | undefined {
  const file = basename(caCertPath)
  if (!file.endsWith(CA_CERT_SUFFIX) || file.length === CA_CERT_SUFFIX.length) {
    return undefined
  }
  return join(dirname(caCertPath), file.slice(0, -CA_CERT_SUFFIX.length) + CA_TRUST_SUFFIX)
}

/**
 * Why a name cannot be used as the stem of an output file name, or undefined when it can:
 * it must be non-empty and must not contain a path separator or control characters, so
 * `-o ../x` cannot write outside the output directory.
 */
export function fileStemProblem(name: string): string | undefined {
  if (name.trim() === '') {
    return 'must not be empty'
  }
  if (/[/\\]/.test(name)) {
    return 'must not contain a path separator'
  }
  if ([...name].some((char) => (char.codePointAt(0) ?? 0) < 0x20 || char === '\u007f')) {
    return 'must not contain control characters'
  }
  return undefined
}
