// The HTTP app in process, around a real node: readiness is role-aware (503 with the reason
// when the role cannot do its job) and role shutdown hooks run before the node stops.
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { createNode, type HyphaNode, parseConfig } from '@hypha/network-core'
import type { INestApplication } from '@nestjs/common'
import { createAppLogger, createNodeHttpApp, ShutdownService } from '../src/index.js'

// a peer id nobody listens for: the scheduler never reaches its bootstrap peer
const UNREACHABLE = '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWR48SHr1CVYkDT2EmGLB7YW1BP8p1aXw5sVXx8WWqoHtL'

const silent = createAppLogger({ name: 'test', level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) })

let app: INestApplication | undefined
let node: HyphaNode | undefined

afterEach(async () => {
  if (app !== undefined) await app.close()
  else await node?.stop()
  app = undefined
  node = undefined
})

async function listen(a: INestApplication): Promise<string> {
  await a.listen(0, '127.0.0.1')
  const address = a.getHttpServer().address() as AddressInfo
  return `http://127.0.0.1:${address.port}`
}

it('a scheduler without its bootstrap peer is live but not ready (503 with the reason)', async () => {
  const config = parseConfig(
    `[network]\nlisten_addresses = ["/ip4/127.0.0.1/tcp/0"]\nbootstrap_peers = ["${UNREACHABLE}"]\n[network.transport]\nquic_enabled = false\ndial_timeout = "500ms"\n[security]\nmode = "open"\n`,
  )
  node = await createNode(config, undefined, 'scheduler')
  app = await createNodeHttpApp({ config, node, logger: silent })
  const base = await listen(app)
  expect((await fetch(`${base}/health/live`)).status).toBe(200)
  const ready = await fetch(`${base}/health/ready`)
  expect(ready.status).toBe(503)
  expect(await ready.json()).toMatchObject({
    status: 'error',
    error: { role: { status: 'down', reason: 'not connected to any bootstrap peer' } },
  })
})

it('role shutdown hooks run after HTTP stops accepting and before the node stops', async () => {
  const config = parseConfig(
    '[network]\nlisten_addresses = ["/ip4/127.0.0.1/tcp/0"]\n[network.transport]\nquic_enabled = false\n[security]\nmode = "open"\n',
  )
  const started = await createNode(config, undefined, 'gateway')
  node = started
  app = await createNodeHttpApp({ config, node: started, logger: silent, shutdown: { hooksTimeoutMs: 200 } })
  const base = await listen(app)
  expect((await fetch(`${base}/health/ready`)).status).toBe(200)
  const seen: string[] = []
  const shutdown = app.get(ShutdownService)
  // hooks run last-registered first
  shutdown.register('slow', () => new Promise<void>(() => {})) // never finishes: bounded by the budget
  shutdown.register('first', () => {
    seen.push(`first:${started.libp2p.status}`)
  })
  const closing = app.close()
  app = undefined
  await closing
  expect(seen).toEqual(['first:started'])
  expect(started.libp2p.status).toBe('stopped')
})
