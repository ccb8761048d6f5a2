// Log hygiene of readiness: probes arrive every few seconds, so a node that is not ready must not
// write an error per probe. In a file of its own: nestjs-pino keeps one root logger per process
// (module), and this test needs its own.
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { createNode, type HyphaNode, parseConfig } from '@hypha/network-core'
import type { INestApplication } from '@nestjs/common'
import { createAppLogger, createNodeHttpApp } from '../src/index.js'

const UNREACHABLE = '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWR48SHr1CVYkDT2EmGLB7YW1BP8p1aXw5sVXx8WWqoHtL'
let app: INestApplication | undefined
let node: HyphaNode | undefined

afterEach(async () => {
  if (app !== undefined) await app.close()
  else await node?.stop()
})

async function listen(a: INestApplication): Promise<string> {
  await a.listen(0, '127.0.0.1')
  const address = a.getHttpServer().address() as AddressInfo
  return `http://127.0.0.1:${address.port}`
}

it('failed readiness probes are not errors in the log: one info line when readiness changes, the rest at debug', async () => {
  const lines: Array<{ level: number; msg: string }> = []
  const capture = createAppLogger({
    name: 'test',
    level: 'debug',
    destination: new Writable({
      write: (chunk: Buffer, _e, cb) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string })
        cb()
      },
    }),
  })
  const config = parseConfig(
    `[network]\nlisten_addresses = ["/ip4/127.0.0.1/tcp/0"]\nbootstrap_peers = ["${UNREACHABLE}"]\n[network.transport]\nquic_enabled = false\ndial_timeout = "500ms"\n[security]\nmode = "open"\n`,
  )
  node = await createNode(config, undefined, 'scheduler')
  app = await createNodeHttpApp({ config, node, logger: capture })
  const base = await listen(app)
  for (let i = 0; i < 5; i++) expect((await fetch(`${base}/health/ready`)).status).toBe(503)
  const readiness = lines.filter((l) => l.msg.includes('not ready'))
  expect(lines.filter((l) => l.level >= 50)).toEqual([])
  expect(readiness.filter((l) => l.level === 30)).toHaveLength(1)
  expect(readiness.filter((l) => l.level === 20)).toHaveLength(4)
  expect(readiness[0]?.msg).toContain('not connected to any bootstrap peer')
  // and no line dumps the request (headers and all)
  expect(readiness.every((l) => !('req' in l) || typeof (l as { req?: unknown }).req !== 'object')).toBe(true)
})

