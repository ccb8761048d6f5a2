// Every launcher of a Hypha node passes NODE_RUNTIME_FLAGS: they cannot be set from inside the
// process, so a launcher that drifts silently runs nodes with V8's defaults.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NODE_RUNTIME_FLAGS } from './node-flags.js'

const repo = (path: string): string => fileURLToPath(new URL(`../../../../../${path}`, import.meta.url))

describe('NODE_RUNTIME_FLAGS', () => {
  it.each(['gateway', 'scheduler', 'worker'])('the %s bin passes them in its shebang (which pnpm shims copy)', (role) => {
    const shebang = readFileSync(repo(`apps/${role}/bin/hypha-${role}.js`), 'utf8').split('\n')[0]
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_RUNTIME_FLAGS.join(' ')}`)
  })

  it('the service images pass them in their ENTRYPOINT', () => {
    const entrypoints = readFileSync(repo('Dockerfile'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('ENTRYPOINT') && line.includes('entrypoint.mjs'))
    expect(entrypoints).toHaveLength(1)
    expect(JSON.parse(entrypoints[0]!.slice('ENTRYPOINT'.length))).toEqual(['tini', '--', 'node', ...NODE_RUNTIME_FLAGS, '/app/docker/entrypoint.mjs'])
  })

  it('a process started with them caps the young generation', async () => {
    const { execFileSync } = await import('node:child_process')
    // new_space is two semi-spaces; allocate enough survivors to make V8 grow it to its cap
    const script = `const keep=[];for(let i=0;i<3e6;i++){keep.push({i});if(keep.length>2e5)keep.splice(0,1e5)};const s=require('node:v8').getHeapSpaceStatistics().find(s=>s.space_name==='new_space');console.log(s.space_size)`
    const capped = Number(execFileSync(process.execPath, [...NODE_RUNTIME_FLAGS, '-e', script], { encoding: 'utf8' }))
    expect(capped).toBeLessThanOrEqual(2 * 16 * 1024 * 1024)
  })
})
