// Where a running task's input comes from, in this order:
//  1. inline in the assignment (small inputs);
//  2. the bulk transfer protocol, when this worker's node has it: the input is pulled once into
//     the node's bulk directory as `input.<lease id>`, sha256-checked and resumed after a broken
//     connection, then read from the file as often as the executor asks; the file goes when the
//     attempt ends;
//  3. INPUT_PROTOCOL (protocol/input-stream.ts), streamed from the scheduler's memory: for
//     workers without bulk transfer, and when a scheduler refuses or cannot serve the pull (one
//     that predates input payloads says it serves none).
import { createReadStream } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import type { BulkTransfer } from '@hypha/network-core'
import type { PeerId } from '@libp2p/interface'
import { type Assignment, inputPayloadName } from '../protocol/messages.js'
import type { TaskInput } from './executors.js'

/** Pulls of one input tried (each resuming the last) before falling back to INPUT_PROTOCOL. */
const PULL_ATTEMPTS = 3

export interface InputSourceInit {
  assignment: Assignment
  scheduler: () => PeerId
  /** The input over INPUT_PROTOCOL, from the scheduler's memory. */
  streamed: () => AsyncIterable<Uint8Array>
  bulk: Pick<BulkTransfer, 'pull' | 'store'> | undefined
  maxInputBytes: number
  signal: AbortSignal
  /** A pull that failed, before the fallback (logged by the worker as a protocol error). */
  onPullError: (err: unknown) => void
}

export interface InputSource {
  input: TaskInput
  /** Deletes a pulled input file; call once the attempt is over. */
  release(): Promise<void>
}

/** Where a task's bytes come from: the assignment itself, a pulled file, or INPUT_PROTOCOL. */
type Origin = { inline: Uint8Array } | { file: string } | { streamed: true }

export function inputSource(init: InputSourceInit): InputSource {
  const { assignment, bulk, signal } = init
  const { input } = assignment
  const name = inputPayloadName(assignment.lease.id)
  const destination = bulk?.store.pathOf(name)
  let pulled: Promise<string | undefined> | undefined

  /** The pulled file, or undefined when the input has to come over INPUT_PROTOCOL. Pulled once. */
  const pull = (): Promise<string | undefined> => {
    pulled ??= (async () => {
      if (bulk === undefined || destination === undefined) return undefined
      for (let attempt = 1; attempt <= PULL_ATTEMPTS; attempt++) {
        try {
          const info = await bulk.pull(init.scheduler(), name, destination, { signal })
          if (info.size !== input.size) throw new Error(`the input payload has ${info.size} bytes, the assignment says ${input.size}`)
          return destination
        } catch (err) {
          if (signal.aborted) throw err
          init.onPullError(err)
          // refused (no longer our lease, or a scheduler that serves no inputs) or not spoken at
          // all: no point retrying; a broken transfer is retried and resumes where it stopped
          if ((err as { remote?: unknown }).remote === true || (err as Error).name === 'UnsupportedProtocolError') break
        }
      }
      await rm(`${destination}.partial`, { force: true })
      return undefined
    })()
    return pulled
  }

  const origin = async (): Promise<Origin> => {
    if (input.inline !== undefined) return { inline: new Uint8Array(Buffer.from(input.inline, 'base64')) }
    if (input.size > init.maxInputBytes)
      throw new Error(`the input has ${input.size} bytes, more than this worker's limit of ${init.maxInputBytes}`)
    const file = await pull()
    return file === undefined ? { streamed: true } : { file }
  }

  const chunks = async function* (): AsyncGenerator<Uint8Array> {
    const from = await origin()
    if ('inline' in from) yield from.inline
    else if ('file' in from) {
      for await (const chunk of createReadStream(from.file, { highWaterMark: 256 * 1024, signal }) as AsyncIterable<Buffer>)
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    } else yield* init.streamed()
  }

  const bytes = async (): Promise<Uint8Array> => {
    const from = await origin()
    if ('inline' in from) return from.inline
    // one read of the whole file rather than its chunks joined
    if ('file' in from) return new Uint8Array(await readFile(from.file, { signal }))
    const parts: Uint8Array[] = []
    for await (const chunk of init.streamed()) parts.push(chunk)
    return new Uint8Array(Buffer.concat(parts))
  }

  return {
    input: {
      kind: input.kind,
      size: input.size,
      stream: chunks,
      bytes,
      text: async () => new TextDecoder().decode(await bytes()),
    },
    release: async () => {
      if (pulled === undefined || destination === undefined) return
      await pulled.catch(() => undefined)
      await Promise.all([rm(destination, { force: true }), rm(`${destination}.partial`, { force: true })])
    },
  }
}
