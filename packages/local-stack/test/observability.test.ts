// The alert rules and the scrape config of deploy/prometheus, checked by promtool: syntax
// (`check rules`, `check config`) and behaviour (`test rules alerts.test.yml`: each alert fires on
// the series that should trigger it and stays quiet on healthy ones). The live part (every
// metric the rules and the dashboard query is exported, `check metrics` on each role's
// /metrics) runs against the local stack in local-stack.test.ts.
import { alertExpressions, dashboardExpressions, promtool, queriedMetricNames } from './observability-files.js'

it('promtool accepts the alert rules and the scrape config', () => {
  const rules = promtool(['check', 'rules', 'alerts.yml'])
  expect(rules).toMatchObject({ code: 0 })
  expect(rules.output).toContain('SUCCESS: 8 rules found')
  expect(promtool(['check', 'config', 'scrape.yml'])).toMatchObject({ code: 0 })
})

it('promtool unit tests of the alert rules pass', () => {
  const tests = promtool(['test', 'rules', 'alerts.test.yml'])
  expect(tests.output).toContain('SUCCESS')
  expect(tests.code).toBe(0)
})

it('a broken rule is caught: promtool is really checking', () => {
  // an alert whose expression does not parse
  const broken = promtool(['check', 'rules', '/dev/stdin'], 'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(hypha_bytes_total[5m]\n')
  expect(broken.code).not.toBe(0)
})

it('the dashboard and the rules query hypha_* metrics only, and a fair number of them', () => {
  const names = queriedMetricNames([...dashboardExpressions(), ...alertExpressions()])
  expect(names.size).toBeGreaterThanOrEqual(15)
  for (const expr of [...dashboardExpressions(), ...alertExpressions()]) expect(expr).toMatch(/hypha_/)
})
