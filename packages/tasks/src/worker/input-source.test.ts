import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BulkTransfer } from '@hypha/network-core'
import type { PeerId } from '@libp2p/interface'
import type { Assignment } from '../protocol/messages.js'
import { inputSource } from './input-source.js'

const LEASE = '00000000-0000-4000-8000-000000000001'
const SCHEDULER = { toString: () => 'scheduler' } as unknown as PeerId
const PAYLOAD = new TextEncoder().encode('the input, as the scheduler holds it')

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hypha-input-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function assignment(inline?: string): Assignment {
  return {
    id: 'task-1',
    executor: 'sha256',
    input: { kind: 'bytes', size: PAYLOAD.byteLength, ...(inline !== undefined ? { inline } : {}) },
    attempt: 1,
    lease: { id: LEASE, ttlMs: 1_000 },
  }
}

function failure(name: string, remote = false): Error {
  return Object.assign(new Error(name), { name, remote })
}

/** A bulk service whose pulls answer with `outcomes` in turn: 'ok' writes the payload to the destination. */
function fakeBulk(outcomes: Array<'ok' | Error>): { bulk: Pick<BulkTransfer, 'pull' | 'store'>; pulls: string[] } {
  const pulls: string[] = []
  const bulk = {
    store: { pathOf: (name: string) => join(dir, name) },
    pull: async (_peer: unknown, name: string, destination: string) => {
      pulls.push(name)
      const outcome = outcomes.shift() ?? failure('no more outcomes')
      if (outcome !== 'ok') throw outcome
      await writeFile(destination, PAYLOAD)
      return { size: PAYLOAD.byteLength, sha256: 'not checked here' }
    },
  } as unknown as Pick<BulkTransfer, 'pull' | 'store'>
  return { bulk, pulls }
}

function source(bulk: Pick<BulkTransfer, 'pull' | 'store'> | undefined, streamed: string[], inline?: string) {
  const errors: unknown[] = []
  const made = inputSource({
    assignment: assignment(inline),
    scheduler: () => SCHEDULER,
    streamed: async function* () {
      streamed.push('streamed')
      yield PAYLOAD
    },
    bulk,
    maxInputBytes: 1024,
    signal: new AbortController().signal,
    onPullError: (err) => errors.push(err),
  })
  return { ...made, errors }
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

describe('inputSource', () => {
  it('takes an inline input as it is, without a pull', async () => {
    const { bulk, pulls } = fakeBulk([])
    const streamed: string[] = []
    const { input } = source(bulk, streamed, Buffer.from(PAYLOAD).toString('base64'))
    expect(text(await input.bytes())).toBe(text(PAYLOAD))
    expect(pulls).toEqual([])
    expect(streamed).toEqual([])
  })

  it('pulls a large input once as input.<lease>, reads it from the file as often as asked, and deletes it on release', async () => {
    const { bulk, pulls } = fakeBulk(['ok'])
    const streamed: string[] = []
    const { input, release } = source(bulk, streamed)
    expect(text(await input.bytes())).toBe(text(PAYLOAD))
    const chunks: Uint8Array[] = []
    for await (const chunk of input.stream()) chunks.push(chunk)
    expect(text(Buffer.concat(chunks))).toBe(text(PAYLOAD))
    expect(pulls).toEqual([`input.${LEASE}`])
    expect(streamed).toEqual([])
    expect(existsSync(join(dir, `input.${LEASE}`))).toBe(true)
    await release()
    expect(existsSync(join(dir, `input.${LEASE}`))).toBe(false)
  })

  it('retries a broken pull (each resuming the last), then falls back to INPUT_PROTOCOL', async () => {
    const { bulk, pulls } = fakeBulk([failure('StreamResetError'), 'ok'])
    const streamed: string[] = []
    const first = source(bulk, streamed)
    expect(text(await first.input.bytes())).toBe(text(PAYLOAD))
    expect(pulls).toHaveLength(2)
    expect(first.errors).toHaveLength(1)

    const broken = fakeBulk([failure('StreamResetError'), failure('StreamResetError'), failure('StreamResetError')])
    const second = source(broken.bulk, streamed)
    expect(text(await second.input.bytes())).toBe(text(PAYLOAD))
    expect(broken.pulls).toHaveLength(3)
    expect(streamed).toEqual(['streamed'])
  })

  it('falls back at once when the scheduler refuses the pull or does not speak bulk transfer', async () => {
    for (const refusal of [failure('BulkTransferError', true), failure('UnsupportedProtocolError')]) {
      const { bulk, pulls } = fakeBulk([refusal])
      const streamed: string[] = []
      const { input, errors } = source(bulk, streamed)
      expect(text(await input.bytes())).toBe(text(PAYLOAD))
      expect(pulls).toHaveLength(1)
      expect(errors).toEqual([refusal])
      expect(streamed).toEqual(['streamed'])
    }
  })

  it('streams over INPUT_PROTOCOL on a worker without bulk transfer', async () => {
    const streamed: string[] = []
    const { input } = source(undefined, streamed)
    expect(text(await input.bytes())).toBe(text(PAYLOAD))
    expect(streamed).toEqual(['streamed'])
  })

  it('refuses an input larger than the worker takes, before fetching anything', async () => {
    const { bulk, pulls } = fakeBulk(['ok'])
    const made = inputSource({
      assignment: { ...assignment(), input: { kind: 'bytes', size: 4096 } },
      scheduler: () => SCHEDULER,
      streamed: async function* () {
        yield PAYLOAD
      },
      bulk,
      maxInputBytes: 1024,
      signal: new AbortController().signal,
      onPullError: () => undefined,
    })
    await expect(made.input.bytes()).rejects.toThrow("the input has 4096 bytes, more than this worker's limit of 1024")
    expect(pulls).toEqual([])
  })
})
