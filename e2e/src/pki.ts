// The e2e PKI, written on the host and mounted read-only into every container at /pki: the
// organisation's CA with its nodes, one node revoked in the CRL, and a foreign CA's node.
import { chown, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crlToPem, createCrl, type IdentityFiles, loadIdentityMaterial, writeDevPki } from '@hypha/mtls'

export const ORG = 'e2e'
/** Where the PKI directory is mounted in containers. */
export const PKI_MOUNT = '/pki'
/** uid of the `node` user the images run as. */
const NODE_UID = 1000

export interface E2ePki {
  dir: string
  /** Peer id per node name (ours and the foreign one). */
  peerIds: Record<string, string>
  /** Name of the CRL file (in dir) that revokes `revokedNode`. */
  crlFile: string
}

/**
 * Writes the hierarchy: `nodes` from the organisation CA (the last of `revoked` are revoked in the
 * CRL) and `foreign` from a CA nobody trusts. Files are chowned to the containers' user.
 */
export async function writeE2ePki(dir: string, options: { nodes: string[]; revoked?: string[]; foreign?: string[] }): Promise<E2ePki> {
  const ours = await writeDevPki({ dir, organisation: ORG, nodes: [...options.nodes, ...(options.revoked ?? [])] })
  const peerIds: Record<string, string> = {}
  const serials: string[] = []
  for (const [name, files] of Object.entries(ours.nodes)) {
    const material = await loadIdentityMaterial(files)
    peerIds[name] = material.peerId.toString()
    if (options.revoked?.includes(name) === true) serials.push(material.leaf.serialNumber)
  }
  const crl = await createCrl(ours.ca, { revoke: serials.map((serialNumber) => ({ serialNumber })) })
  await writeFile(ours.crl, crlToPem(crl.rawData))
  if ((options.foreign ?? []).length > 0) {
    const foreign = await writeDevPki({ dir, organisation: 'mallory', nodes: options.foreign ?? [] })
    for (const [name, files] of Object.entries(foreign.nodes)) peerIds[name] = (await loadIdentityMaterial(files)).peerId.toString()
  }
  await chown(dir, NODE_UID, NODE_UID)
  for (const file of await readdir(dir)) await chown(join(dir, file), NODE_UID, NODE_UID)
  return { dir, peerIds, crlFile: `${ORG}-ca.crl.pem` }
}

/** The HYPHA_SECURITY__* environment of a node, as seen inside a container. */
export function securityEnv(pki: E2ePki, name: string, options: { crl?: boolean } = {}): Record<string, string> {
  const files: IdentityFiles = {
    cert: `${PKI_MOUNT}/${name}-cert.pem`,
    key: `${PKI_MOUNT}/${name}-key.pem`,
    trust: `${PKI_MOUNT}/${name}-trust.pem`,
  }
  return {
    HYPHA_SECURITY__CERT: files.cert,
    HYPHA_SECURITY__KEY: files.key,
    HYPHA_SECURITY__TRUST: files.trust,
    // a foreign node has no use for our CRL (it is signed by a CA it does not trust)
    ...(options.crl === false ? {} : { HYPHA_SECURITY__CRL: `${PKI_MOUNT}/${pki.crlFile}` }),
  }
}
