import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DirectoryBulkStore } from '@hypha/network-core'
import type { PeerId } from '@libp2p/interface'
import { inputPayloadName } from '../protocol/messages.js'
import { InputPayloads } from './input-payloads.js'
import type { TaskRecord } from './task-store.js'

const LEASE = '00000000-0000-4000-8000-00000000000a'
const HOLDER = 'worker-a'
const INPUT = new Uint8Array(64 * 1024).fill(7)

let dir: string
let store: DirectoryBulkStore

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hypha-inputs-'))
  store = new DirectoryBulkStore(dir)
  await store.init()
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function leasedTask(input: Uint8Array = INPUT, digestOf: Uint8Array = input): TaskRecord {
  return {
    id: 'task-1',
    inputSize: input.byteLength,
    inputDigest: createHash('sha256').update(digestOf).digest('hex'),
    lease: { id: LEASE, holder: HOLDER },
  } as unknown as TaskRecord
}

function payloads(task: TaskRecord | undefined, stored: Uint8Array | undefined = INPUT) {
  let reads = 0
  const inputs = new InputPayloads({
    bulk: { store },
    store: {
      input: async () => {
        reads++
        return stored
      },
    },
    taskOfLease: async (leaseId) => (leaseId === task?.lease?.id ? task : undefined),
    authorizePeer: (peer) => (peer === 'gateway' ? 'only a worker fetches task inputs' : undefined),
  })
  return { inputs, reads: () => reads }
}

const pull = (peer: string, name = inputPayloadName(LEASE)) => ({
  op: 'pull' as const,
  name,
  peer: { toString: () => peer } as unknown as PeerId,
})

describe('InputPayloads', () => {
  it('writes the input into the bulk store on the first pull, once for pulls at the same time', async () => {
    const { inputs, reads } = payloads(leasedTask())
    expect(await Promise.all([inputs.authorize(pull(HOLDER)), inputs.authorize(pull(HOLDER))])).toEqual([true, true])
    expect(reads()).toBe(1)
    expect(await store.stat(inputPayloadName(LEASE))).toEqual({
      size: INPUT.byteLength,
      sha256: createHash('sha256').update(INPUT).digest('hex'),
    })
    // there already: not read again
    expect(await inputs.authorize(pull(HOLDER))).toBe(true)
    expect(reads()).toBe(1)
    await inputs.discard(leasedTask(), LEASE)
    expect((await readdir(dir)).filter((name) => name.startsWith('input.'))).toEqual([])
  })

  it('refuses other peers, other names, other roles, and a stored input that does not match its digest', async () => {
    const { inputs } = payloads(leasedTask())
    expect(await inputs.authorize(pull('worker-b'))).toBe(`worker-b holds no lease ${LEASE}`)
    expect(await inputs.authorize(pull(HOLDER, 'result.x'))).toMatch(/^a scheduler serves only task inputs/)
    expect(await inputs.authorize(pull('gateway'))).toBe('only a worker fetches task inputs')
    const corrupted = payloads(leasedTask(INPUT, new Uint8Array(INPUT.byteLength)))
    expect(await corrupted.inputs.authorize(pull(HOLDER))).toBe('the stored input of task-1 does not match its digest')
    expect(await store.stat(inputPayloadName(LEASE))).toBeUndefined()
    const small = payloads(leasedTask(new Uint8Array(10)), new Uint8Array(10))
    expect(await small.inputs.authorize(pull(HOLDER))).toBe('the input of task-1 is inline in its assignment')
  })
})
