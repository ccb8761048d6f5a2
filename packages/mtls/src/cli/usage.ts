// The help text: one block per command, shown all together by `--help` / `help` and one at a
// time by `<command> --help`. Kept next to the parsers' option lists in the command modules.
import { PROGRAM } from './console.js'

export const COMMAND_USAGE = {
  root: `${PROGRAM} root -o ORG [-n CN] [--country CC] [-d DIR] [--days N] [--force]
  Create a self-signed root CA. Writes DIR/ORG-root-ca-cert.pem and DIR/ORG-root-ca-key.pem.
    -o, --organization ORG   organisation (O=), also the file name prefix
    -n, --name CN            common name (default "ORG Root CA")
        --country CC         two-letter country code (C=)
    -d, --dir DIR            output directory, created if missing (default .)
        --days N             validity in days (default 3650)
        --force              replace an existing key file`,
  org: `${PROGRAM} org --root-cert FILE --root-key FILE -o ORG [-n CN] [-d DIR] [--days N] [--force]
  Create an organisation CA signed by the root CA. Writes DIR/ORG-ca-cert.pem,
  DIR/ORG-ca-key.pem and DIR/ORG-ca-trust.pem (organisation CA + root: the trust bundle).
        --root-cert FILE     root CA certificate
        --root-key FILE      root CA private key
    -o, --organization ORG   organisation (O=), also the file name prefix
    -n, --name CN            common name (default "ORG CA")
    -d, --dir DIR            output directory (default .)
        --days N             validity in days (default 1825)
        --force              replace an existing key file`,
  node: `${PROGRAM} node -n NAME --ca-cert FILE --ca-key FILE [-r ROLE,...] [-s SAN,...] [--key FILE] [--trust FILE]
                   [-d DIR] [--days N] [--force]
  Create a node certificate signed by a CA. Writes DIR/NAME-cert.pem (the node certificate,
  then the issuing CA unless it is the root), DIR/NAME-key.pem and DIR/NAME-trust.pem (the CA
  chain up to the root). The PeerId of the node is derived from its key.
    -n, --name NAME          node name: common name, a DNS name and the file name prefix
        --ca-cert FILE       issuing CA certificate (organisation CA, or the root)
        --ca-key FILE        issuing CA private key
    -r, --role ROLE,...      what the node may do: gateway, scheduler, worker (repeatable); put
                             in the certificate as URI SANs urn:hypha:role:ROLE. Without one the
                             certificate is roleless (accepted only where security.allow_roleless_peers)
    -s, --san SAN,...        extra DNS names or IP addresses (repeatable)
        --key FILE           certify this existing Ed25519 key (renewal keeps the PeerId)
        --trust FILE         CA chain up to the root for NAME-trust.pem (default: the CA itself
                             when it is a root, else PREFIX-ca-trust.pem next to PREFIX-ca-cert.pem)
    -d, --dir DIR            output directory (default .)
        --days N             validity in days (default 365)
        --force              replace an existing key file (a new key means a new PeerId)`,
  revoke: `${PROGRAM} revoke --ca-cert FILE --ca-key FILE --cert FILE --crl FILE [--reason R] [--days N]
  Revoke a certificate issued by the CA: creates the CRL at --crl, or re-signs the existing
  one with the new entry added (PEM "X509 CRL"). Running nodes reload the file.
        --ca-cert FILE       CA that issued the certificate
        --ca-key FILE        that CA's private key
        --cert FILE          certificate to revoke (the first one in the file)
        --crl FILE           CRL to create or extend (must be this CA's)
        --reason R           RFC 5280 reason: unspecified, keyCompromise, cACompromise,
                             affiliationChanged, superseded, cessationOfOperation,
                             certificateHold, privilegeWithdrawn, aACompromise
        --days N             days until the CRL's nextUpdate (default 30): publish a new CRL before`,
  inspect: `${PROGRAM} inspect FILE [--json]
  Show every certificate, CRL and private key in a PEM (or DER) file: subject, issuer,
  serial, validity, key type, CA or not, SANs and, for node certificates and keys, the PeerId.
        --json               print JSON instead of text`,
  verify: `${PROGRAM} verify --cert FILE --trust FILE [--crl FILE ...]
  Verify a node certificate chain (node certificate first, then intermediates) against a
  trust bundle and CRLs, as nodes do. Prints "OK: <subject> (PeerId ...)", or fails with
  the reason (untrusted, expired, revoked, ...).
        --cert FILE          node certificate chain
        --trust FILE         trusted CA certificates
        --crl FILE           CRL to apply (repeatable)`,
  'cert-manager': `${PROGRAM} cert-manager --issuer NAME -d DIR [-n NAME] [-r ROLE,...] [-s SAN,...] [--duration D]
                           [--watch] [--issuer-kind Issuer|ClusterIssuer] [--write-ca] [--timeout S]
  Get this pod's node certificate from cert-manager: makes an Ed25519 key (or keeps DIR/tls.key),
  sends a CertificateRequest for it, waits until it is issued and writes DIR/tls.crt. With
  --watch it stays running and renews at two thirds of each certificate's life with the same
  key (same PeerId; nodes reload the file). In a pod it uses the service account; elsewhere
  give --server (e.g. 'kubectl proxy' at http://127.0.0.1:8001) and --namespace.
        --issuer NAME        cert-manager issuer that signs (an Ed25519 CA issuer)
        --issuer-kind KIND   Issuer (default, same namespace) or ClusterIssuer
        --issuer-group G     issuer API group (default cert-manager.io)
    -d, --dir DIR            writes tls.key (0600, kept across renewals) and tls.crt
    -n, --name NAME          common name and DNS SAN (default $POD_NAME, else the host name)
    -r, --role ROLE,...      gateway, scheduler, worker: URI SANs urn:hypha:role:ROLE
    -s, --san SAN,...        extra DNS names or IP addresses
        --duration D         requested validity, e.g. 24h or 90m (default 24h)
        --watch              keep renewing until SIGTERM
        --write-ca           also write the issuer's CA (status.ca) as DIR/ca.crt
        --timeout S          seconds to wait for one request to be issued (default 300)
        --owner-pod NAME     pod that owns the request, deleted with it (default $POD_NAME)
        --owner-uid UID      that pod's uid (default $POD_UID)
        --server URL         API server (default: in-cluster), --namespace NS, --token-file FILE,
        --api-ca FILE        the API server's CA (default: the service account's)`
} as const

export type CommandName = keyof typeof COMMAND_USAGE

export function isCommandName(value: string): value is CommandName {
  return Object.hasOwn(COMMAND_USAGE, value)
}

export function fullUsage(): string {
  return `Usage: ${PROGRAM} <command> [options]

Creates and checks the Ed25519 certificate hierarchy of a Hypha network
(root CA -> organisation CA -> node certificates) and its revocation lists.

Commands:
  root      create a self-signed root CA
  org       create an organisation CA signed by the root CA
  node      create a node certificate and key signed by a CA
  revoke    revoke a certificate: create or extend its CA's CRL
  inspect   show the certificates, CRLs and keys in a file
  verify    check a node certificate chain against a trust bundle and CRLs
  cert-manager  get and renew this pod's certificate from cert-manager (Kubernetes)
  help      show this help ('${PROGRAM} help COMMAND' for one command)

${Object.values(COMMAND_USAGE).join('\n\n')}

Exit status: 0 success, 1 failure (unreadable file, refused certificate, ...), 2 usage error.
`
}

export function commandUsage(command: CommandName): string {
  return `Usage: ${COMMAND_USAGE[command]}\n`
}
