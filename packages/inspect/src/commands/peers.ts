// `peers URL`: a node's view from its HTTP server (GET /network): each peer's role, transport,
// whether the link is direct or through which relay, its round trip and since when; then the
// node's relay reservations and the peers it refused or that refused it.
import { type NetworkViewBody, NetworkViewSchema } from '@hypha/app-kit'
import { getJson } from '../http.js'
import { age, json, type Output, paint, shortId, table } from '../output.js'

export async function peersCommand(url: string, options: { json: boolean }, output: Output): Promise<number> {
  const view = await getJson(`${url}/network`, NetworkViewSchema, "a node's network view (GET /network)")
  if (options.json) {
    output.write(json(view))
    return 0
  }
  output.write(renderPeers(view, output))
  return 0
}

export function renderPeers(view: NetworkViewBody, output: Output, now = Date.now()): string {
  const lines: string[] = [`${paint(output, 'bold', view.role)} ${view.peerId}\n\n`]
  const peers = [...view.peers].sort((a, b) => (a.roles[0] ?? '~').localeCompare(b.roles[0] ?? '~') || a.id.localeCompare(b.id))
  lines.push(
    peers.length === 0
      ? 'No peers connected.\n'
      : table(
          ['peer', 'role', 'transport', 'link', 'latency', 'since'],
          peers.map((p) => [
            output.tty ? shortId(p.id) : p.id,
            p.roles.join(',') || '-',
            p.transport,
            p.direct
              ? paint(output, 'green', 'direct')
              : paint(output, 'yellow', `relayed via ${output.tty ? shortId(p.relay) : (p.relay ?? '?')}`),
            p.latencyMs === null ? '-' : `${p.latencyMs.toFixed(1)} ms`,
            age(p.since, now),
          ]),
        ),
  )
  const reservations = view.reservations
  lines.push(
    `\nReservations: ${reservations.needed ? (reservations.relays.length > 0 ? `held on ${reservations.relays.map(shortId).join(', ')}` : paint(output, 'red', 'needed, none held')) : 'none needed'}\n`,
  )
  if (view.relayServer !== null) {
    const s = view.relayServer
    lines.push(
      `Relay: ${s.reservations.length}${s.maxReservations !== null ? `/${s.maxReservations}` : ''} reservations, ${s.circuits}${s.maxCircuits !== null ? `/${s.maxCircuits}` : ''} circuits\n`,
    )
  }
  const refusals = view.refusals.recent.slice(0, 10)
  if (refusals.length > 0) {
    const counts = Object.entries(view.refusals.counts)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ')
    lines.push(`\nRefused (${counts}):\n`)
    lines.push(
      table(
        ['when', 'peer', 'reason', 'by', 'detail'],
        refusals.map((r) => [
          `${age(r.at, now)} ago`,
          shortId(r.peerId ?? r.remoteAddr),
          paint(output, 'red', r.reason),
          r.by === 'remote' ? 'them' : 'us',
          r.detail,
        ]),
      ),
    )
  }
  return lines.join('')
}
