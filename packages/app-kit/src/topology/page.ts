// The operator's page, served at GET / by every node: no build step, no framework, no request
// to anywhere but the node itself. It polls GET /network every second and draws this node's
// view: itself in the middle, its peers around it coloured by role, direct links solid, relayed
// ones dashed through the relay they use; relay reservations; refused peers. On a scheduler it
// also lists the workers (connected ones or not) and the tasks with their progress.
// The drawing keeps data-* attributes (data-peer, data-kind, data-state) for the browser test.

const STYLE = `
:root { color-scheme: light dark; --bg: #fbfbfa; --fg: #1d232a; --muted: #68737d; --line: #d5d9dd;
  --gateway: #7b4fd6; --scheduler: #0f7b6c; --worker: #c26a00; --unknown: #8a939b; --self: #1d232a;
  --ok: #1a7f37; --bad: #c0352b; --warn: #9a6700; }
@media (prefers-color-scheme: dark) { :root { --bg: #14181c; --fg: #e6e9ec; --muted: #96a0a9; --line: #323a42; --self: #e6e9ec; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; padding: .9rem 1.25rem; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.15rem; margin: 0; }
.id, td.mono, code { white-space: nowrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
#status { margin-left: auto; color: var(--muted); }
#status[data-state=error] { color: var(--bad); }
main { display: grid; grid-template-columns: minmax(360px, 640px) minmax(320px, 1fr); gap: 1rem 1.5rem; padding: 1rem 1.25rem; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
section { min-width: 0; }
h2 { font-size: .95rem; margin: 0 0 .5rem; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
svg { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 8px; }
.link { stroke-width: 2.2; fill: none; }
.link[data-kind=direct] { stroke: var(--ok); }
.link[data-kind=relayed] { stroke: var(--warn); stroke-dasharray: 7 5; }
.link[data-kind=disconnected] { stroke: var(--line); stroke-dasharray: 2 4; }
.node circle { stroke: var(--bg); stroke-width: 3; }
.node text { font-size: 11px; fill: var(--fg); text-anchor: middle; }
.node .sub { fill: var(--muted); font-size: 10px; }
.legend { color: var(--muted); margin: .35rem 0 0; font-size: 12px; }
.legend b { font-weight: 600; }
table { width: 100%; border-collapse: collapse; margin-bottom: 1.25rem; }
th, td { text-align: left; padding: .3rem .45rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.empty { color: var(--muted); font-style: italic; }
.role { display: inline-block; padding: 0 .4rem; border-radius: 9px; color: #fff; font-size: 11px; background: var(--unknown); }
.role.gateway { background: var(--gateway); } .role.scheduler { background: var(--scheduler); } .role.worker { background: var(--worker); }
.bar { position: relative; height: .8rem; min-width: 6rem; background: var(--line); border-radius: 4px; overflow: hidden; }
.bar > span { position: absolute; inset: 0 auto 0 0; background: var(--scheduler); }
.state-failed { color: var(--bad); } .state-succeeded { color: var(--ok); }
`

const SCRIPT = `
'use strict'
const ROLE_ORDER = { gateway: 0, scheduler: 1, worker: 2 }
const ACTIVE = new Set(['pending', 'assigned', 'running'])
const $ = (id) => document.getElementById(id)
const short = (id) => (id ? id.slice(0, 6) + '\\u2026' + id.slice(-6) : '')
const roleOf = (peer) => (peer.roles && peer.roles[0]) || 'unknown'
const ago = (iso) => { const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); return s < 90 ? s + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : Math.round(s / 3600) + ' h' }
function el(tag, attrs, ...children) {
  const ns = ['svg', 'g', 'line', 'path', 'circle', 'text'].includes(tag) ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml'
  const node = document.createElementNS(ns, tag)
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v))
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  return node
}
function rows(tbody, items, render, empty) {
  tbody.replaceChildren(...(items.length ? items.map(render) : [el('tr', {}, el('td', { class: 'empty', colspan: tbody.parentElement.tHead.rows[0].cells.length }, empty))]))
}
function badge(role) { return el('span', { class: 'role ' + role }, role) }

function drawTopology(view, workers) {
  const svg = $('topology'), W = 640, H = 420, cx = W / 2, cy = H / 2
  const peers = [...view.peers].sort((a, b) => (ROLE_ORDER[roleOf(a)] ?? 3) - (ROLE_ORDER[roleOf(b)] ?? 3) || a.id.localeCompare(b.id))
  const known = new Set(peers.map((p) => p.id))
  // workers the scheduler knows but is not connected to now: drawn greyed, unlinked
  const absent = (workers || []).filter((w) => !known.has(w.id)).map((w) => ({ id: w.id, roles: ['worker'], absent: true }))
  const all = [...peers, ...absent]
  const pos = new Map([[view.peerId, { x: cx, y: cy }]])
  const r = Math.min(W, H) / 2 - 48
  all.forEach((p, i) => { const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(all.length, 1); pos.set(p.id, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) }) })
  const links = el('g', {}), nodes = el('g', {})
  // a link ends at the edge of the peer's circle, so it never runs over the labels
  const edge = (from, at, radius) => { const dx = at.x - from.x, dy = at.y - from.y, d = Math.hypot(dx, dy) || 1; return { x: at.x - (dx / d) * radius, y: at.y - (dy / d) * radius } }
  for (const p of all) {
    const to = edge({ x: cx, y: cy }, pos.get(p.id), 19)
    if (p.absent) { links.append(el('line', { class: 'link', 'data-kind': 'disconnected', 'data-peer': p.id, x1: cx, y1: cy, x2: to.x, y2: to.y })); continue }
    const via = !p.direct && p.relay && pos.get(p.relay)
    if (via) {
      const end = edge(via, pos.get(p.id), 19)
      links.append(el('path', { class: 'link', 'data-kind': 'relayed', 'data-peer': p.id, 'data-relay': p.relay, d: 'M' + cx + ',' + cy + ' Q' + via.x + ',' + via.y + ' ' + end.x + ',' + end.y }, el('title', {}, 'relayed through ' + short(p.relay))))
    } else {
      links.append(el('line', { class: 'link', 'data-kind': p.direct ? 'direct' : 'relayed', 'data-peer': p.id, 'data-transport': p.transport, x1: cx, y1: cy, x2: to.x, y2: to.y }, el('title', {}, p.transport + (p.latencyMs == null ? '' : ', ' + p.latencyMs.toFixed(1) + ' ms'))))
    }
  }
  const drawNode = (id, role, label, self, absent) => {
    const at = pos.get(id)
    nodes.append(el('g', { class: 'node', 'data-peer': id, 'data-role': role, 'data-self': self || undefined, opacity: absent ? 0.45 : 1 },
      el('circle', { cx: at.x, cy: at.y, r: self ? 24 : 17, fill: 'var(--' + (ROLE_ORDER[role] === undefined ? 'unknown' : role) + ')' }),
      el('text', { x: at.x, y: at.y + (self ? 38 : 31) }, label),
      el('text', { class: 'sub', x: at.x, y: at.y + (self ? 51 : 43) }, short(id))))
  }
  for (const p of all) drawNode(p.id, roleOf(p), roleOf(p) + (p.absent ? ' (gone)' : view.relayServer && view.relayServer.reservations.includes(p.id) ? ' \\u00b7 R' : ''), false, p.absent)
  drawNode(view.peerId, view.role, 'this ' + view.role, true, false)
  svg.replaceChildren(links, nodes)
  svg.setAttribute('aria-label', view.role + ' with ' + peers.length + ' peers')
}

function renderPeers(view) {
  rows($('peers').tBodies[0], view.peers, (p) => el('tr', { 'data-peer': p.id },
    el('td', { class: 'mono', title: p.id }, short(p.id)), el('td', {}, badge(roleOf(p))), el('td', {}, p.transport),
    el('td', {}, p.direct ? 'direct' : 'relayed via ' + short(p.relay)), el('td', {}, p.latencyMs == null ? '\\u2013' : p.latencyMs.toFixed(1) + ' ms'),
    el('td', {}, ago(p.since))), 'no peers connected')
}

function renderReservations(view) {
  const parts = []
  parts.push(view.reservations.needed ? 'This node needs a relay reservation: ' + (view.reservations.relays.length ? 'held on ' + view.reservations.relays.map(short).join(', ') : 'none held yet') + '.' : 'This node needs no relay reservation.')
  if (view.relayServer) {
    const s = view.relayServer
    parts.push('As a relay: ' + s.reservations.length + (s.maxReservations == null ? '' : ' / ' + s.maxReservations) + ' reservations, ' + s.circuits + (s.maxCircuits == null ? '' : ' / ' + s.maxCircuits) + ' circuits.')
  }
  $('reservations').replaceChildren(...parts.map((t) => el('p', {}, t)))
}

function renderRefusals(view) {
  const counts = Object.entries(view.refusals.counts).map(([k, v]) => k + ' ' + v).join(', ')
  $('refusal-counts').textContent = counts ? 'Since start: ' + counts : ''
  rows($('refusals').tBodies[0], view.refusals.recent.slice(0, 20), (r) => el('tr', { 'data-reason': r.reason },
    el('td', {}, ago(r.at)), el('td', { class: 'mono', title: r.peerId || '' }, short(r.peerId) || r.remoteAddr || '?'),
    el('td', {}, r.reason), el('td', {}, r.by === 'remote' ? 'it refused us' : 'we refused it'), el('td', {}, r.detail)), 'no peer refused')
}

function renderTasks(tasks) {
  rows($('tasks').tBodies[0], tasks, (t) => {
    const fraction = t.state === 'succeeded' ? 1 : t.progress && t.progress.fraction != null ? t.progress.fraction : 0
    return el('tr', { 'data-task': t.id, 'data-state': t.state },
      el('td', { class: 'mono', title: t.id }, t.id.length > 14 ? short(t.id) : t.id), el('td', {}, t.executor),
      el('td', { class: 'state-' + t.state }, t.state), el('td', { class: 'mono', title: t.worker || '' }, short(t.worker)),
      el('td', {}, el('div', { class: 'bar', role: 'progressbar', 'aria-valuenow': Math.round(fraction * 100), 'aria-valuemin': 0, 'aria-valuemax': 100 }, el('span', { style: 'width:' + (fraction * 100).toFixed(1) + '%' }))),
      el('td', {}, t.error || (ACTIVE.has(t.state) && t.progress && t.progress.message) || ''))
  }, 'no tasks')
}

async function json(path) {
  const response = await fetch(path, { headers: { 'x-hypha-poll': 'page' }, cache: 'no-store' })
  if (!response.ok) throw new Error(path + ': HTTP ' + response.status)
  return response.json()
}

// The tasks shown: every unfinished one, and the last ones seen finishing while the page was
// open (GET /tasks lists oldest first; a long-lived stack has more finished tasks than a page).
const RECENT_KEPT = 20
const recent = new Map()
let active = new Map()
async function liveTasks() {
  const now = await json('/tasks?state=pending,assigned,running&limit=200')
  const ids = new Set(now.map((t) => t.id))
  const gone = [...active.keys()].filter((id) => !ids.has(id))
  for (const task of await Promise.all(gone.map((id) => json('/tasks/' + encodeURIComponent(id)).catch(() => undefined)))) {
    if (task) recent.set(task.id, task)
  }
  while (recent.size > RECENT_KEPT) recent.delete(recent.keys().next().value)
  active = new Map(now.map((t) => [t.id, t]))
  return [...now, ...[...recent.values()].reverse()]
}

let updates = 0
async function refresh() {
  try {
    const view = await json('/network')
    const scheduler = view.role === 'scheduler'
    const [workers, tasks] = scheduler ? await Promise.all([json('/workers'), liveTasks()]) : [undefined, undefined]
    document.title = 'Hypha ' + view.role + ' ' + short(view.peerId)
    $('title').textContent = 'Hypha ' + view.role
    $('self').textContent = view.peerId
    drawTopology(view, workers)
    renderPeers(view)
    renderReservations(view)
    renderRefusals(view)
    $('tasks-section').hidden = !scheduler
    if (scheduler) renderTasks(tasks)
    updates++
    document.body.dataset.updates = String(updates)
    $('status').dataset.state = 'ok'
    $('status').textContent = 'live \\u00b7 updated ' + new Date().toLocaleTimeString()
  } catch (err) {
    $('status').dataset.state = 'error'
    $('status').textContent = 'not answering: ' + err.message
  } finally {
    setTimeout(refresh, 1000)
  }
}
refresh()
`

export const OPERATOR_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Hypha node</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="title">Hypha</h1><span class="id" id="self"></span><span id="status" data-state="connecting">connecting\u2026</span></header>
<main>
<section>
<h2>Topology</h2>
<svg id="topology" viewBox="0 0 640 420" role="img" aria-label="topology"></svg>
<p class="legend"><b>solid</b>: direct (QUIC or TCP) \u00b7 <b>dashed</b>: relayed, drawn through the relay \u00b7 <b>R</b>: holds a reservation on this relay \u00b7 greyed: a worker the scheduler knows, not connected now</p>
</section>
<section>
<h2>Peers</h2>
<table id="peers"><thead><tr><th>peer</th><th>role</th><th>transport</th><th>link</th><th>latency</th><th>since</th></tr></thead><tbody></tbody></table>
<h2>Relay reservations</h2>
<div id="reservations"></div>
<h2>Refused peers</h2>
<p class="legend" id="refusal-counts"></p>
<table id="refusals"><thead><tr><th>when</th><th>peer</th><th>reason</th><th>who</th><th>detail</th></tr></thead><tbody></tbody></table>
</section>
<section id="tasks-section" hidden style="grid-column: 1 / -1">
<h2>Tasks</h2>
<p class="legend">Unfinished tasks, then the last ones that finished while this page was open.</p>
<table id="tasks"><thead><tr><th>task</th><th>executor</th><th>state</th><th>worker</th><th>progress</th><th>message</th></tr></thead><tbody></tbody></table>
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`
