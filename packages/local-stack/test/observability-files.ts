// The observability pack's files (deploy/prometheus, deploy/grafana) and promtool, for the tests
// that check them: the rules by promtool, the queries against what the nodes export.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The repository root (this file runs from packages/local-stack/dist/test). */
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url))
export const PROMETHEUS_DIR = `${REPO}deploy/prometheus`
export const DASHBOARD = `${REPO}deploy/grafana/hypha.json`

/** promtool (Debian's prometheus package; `npm test` installs it, scripts/ensure-promtool.sh). */
export function promtool(args: readonly string[], input?: string): { code: number; output: string } {
  const bin = process.env.HYPHA_PROMTOOL ?? 'promtool'
  const result = spawnSync(bin, args, { cwd: PROMETHEUS_DIR, input, encoding: 'utf8' })
  if (result.error !== undefined) throw new Error(`cannot run ${bin} (${result.error.message}): run sh scripts/ensure-promtool.sh or set HYPHA_PROMTOOL`)
  return { code: result.status ?? -1, output: `${result.stdout}${result.stderr}` }
}

/** Every PromQL expression of the dashboard's panels. */
export function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets?: Array<{ expr?: string }> }> }
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr).filter((expr) => expr !== undefined))
}

/** Every `expr:` of the alert rules (one line each). */
export function alertExpressions(): string[] {
  return readFileSync(`${PROMETHEUS_DIR}/alerts.yml`, 'utf8')
    .split('\n')
    .map((line) => /^\s*expr:\s*(.+)$/.exec(line)?.[1])
    .filter((expr): expr is string => expr !== undefined)
}

/** The hypha_* metric names a PromQL expression reads. */
export function queriedMetricNames(expressions: readonly string[]): Set<string> {
  const names = new Set<string>()
  for (const expr of expressions) for (const [name] of expr.matchAll(/\bhypha_[a-z0-9_]+\b/g)) names.add(name)
  return names
}

/** The metric names an exposition declares (a histogram's as its _bucket, _sum and _count series). */
export function exportedMetricNames(exposition: string): Set<string> {
  const names = new Set<string>()
  for (const line of exposition.split('\n')) {
    const declared = /^# TYPE (\S+) (\S+)/.exec(line)
    if (declared === null) continue
    const [, name, type] = declared as unknown as [string, string, string]
    names.add(name)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`)
  }
  return names
}
