// `probe ADDR --config FILE`: asks the node at ADDR over libp2p (/hypha/health/1.0.0) whether it
// is ready, as a node with FILE's certificates. Exit 0 ready, 1 not ready or no answer: for
// scripts and liveness checks from outside the node's host.
import { type HealthAnswer, HealthProtocol, parseTarget } from '@hypha/app-kit'
import type { NetworkConfig } from '@hypha/network-core'
import { InspectError } from '../errors.js'
import { json, type Output, paint } from '../output.js'
import { type Session, withSession } from '../session.js'

export async function probeCommand(
  address: string,
  options: { config: NetworkConfig; timeoutMs: number; json: boolean },
  output: Output,
): Promise<number> {
  const target = parseTarget(address)
  const answer = await withSession(options.config, { bootstrap: false }, async ({ node, identity }: Session): Promise<HealthAnswer> => {
    if (identity !== undefined && target.toString().endsWith(`/p2p/${identity.peerId.toString()}`)) {
      throw new InspectError(`${address} is this certificate's own peer id: probe with another node's configuration`, 2)
    }
    try {
      return await node.rpc.request(target, HealthProtocol.id, HealthProtocol, {}, { timeoutMs: options.timeoutMs })
    } catch (err) {
      throw new InspectError(`no answer from ${address}: ${(err as Error).name}: ${(err as Error).message}`)
    }
  })
  if (options.json) output.write(json(answer))
  else
    output.write(
      `${answer.ready ? paint(output, 'green', 'ready') : paint(output, 'red', 'not ready')}: ${answer.role} ${answer.version}${answer.reason !== undefined ? ` (${answer.reason})` : ''}\n`,
    )
  return answer.ready ? 0 : 1
}
