// Task inputs that travel as bulk payloads, the scheduler's side. An input too large to ride
// inline in the assignment is pulled by the lease holder as `input.<lease id>` (resumable,
// sha256 checked by the puller): on the first pull the scheduler writes it from the task store
// into its bulk directory (once, however many pulls ask at the same time), checked against the
// digest recorded at submission. The file goes when the attempt ends (report or expiry), and
// anything left behind with the prune's sweep. Workers without bulk transfer fetch over
// INPUT_PROTOCOL (protocol/input-stream.ts), which stays served.
import type { BulkAccessRequest, BulkTransfer } from '@hypha/network-core'
import { inputPayloadName, LIMITS, leaseIdOfInputPayload } from '../protocol/messages.js'
import type { TaskRecord, TaskStore } from './task-store.js'

export interface InputPayloadsInit {
  bulk: Pick<BulkTransfer, 'store'>
  store: Pick<TaskStore, 'input'>
  /** The task a lease belongs to (ResultPayloads keeps that index for both). */
  taskOfLease: (leaseId: string) => Promise<TaskRecord | undefined>
  /** Refuses a peer before anything else (its role): undefined when it may pull, else why not. */
  authorizePeer?: (peer: string) => string | undefined
}

export class InputPayloads {
  readonly #init: InputPayloadsInit
  /** Inputs being written into the bulk directory, by payload name. */
  readonly #writing = new Map<string, Promise<true | string>>()

  constructor(init: InputPayloadsInit) {
    this.#init = init
  }

  /** The bulk access policy for pulls: true once the input is there for the puller, or why not. */
  async authorize(request: BulkAccessRequest): Promise<true | string> {
    const peer = request.peer.toString()
    const refused = this.#init.authorizePeer?.(peer)
    if (refused !== undefined) return refused
    const leaseId = leaseIdOfInputPayload(request.name)
    if (leaseId === undefined) return `a scheduler serves only task inputs, named ${inputPayloadName('<lease id>')}`
    const task = await this.#init.taskOfLease(leaseId)
    if (task?.lease?.id !== leaseId || task.lease.holder !== peer) return `${peer} holds no lease ${leaseId}`
    if (!pulledAsFile(task)) return `the input of ${task.id} is inline in its assignment`
    return this.#materialise(request.name, task)
  }

  /** Deletes the input file of the attempt under `leaseId`, now over (a task with an inline input has none). */
  async discard(task: Pick<TaskRecord, 'inputSize'>, leaseId: string): Promise<void> {
    if (pulledAsFile(task)) await this.#init.bulk.store.remove(inputPayloadName(leaseId))
  }

  /** Deletes input files last written before `before` (epoch ms); returns how many. */
  async sweep(before: number): Promise<number> {
    return this.#init.bulk.store.sweep(before, (name) => leaseIdOfInputPayload(name) !== undefined)
  }

  #materialise(name: string, task: TaskRecord): Promise<true | string> {
    let writing = this.#writing.get(name)
    if (writing === undefined) {
      writing = this.#write(name, task).finally(() => this.#writing.delete(name))
      this.#writing.set(name, writing)
    }
    return writing
  }

  async #write(name: string, task: TaskRecord): Promise<true | string> {
    const { store } = this.#init.bulk
    const held = await store.stat(name)
    if (held !== undefined && held.size === task.inputSize && held.sha256 === task.inputDigest) return true
    const bytes = await this.#init.store.input(task.id)
    if (bytes === undefined) return `the input of ${task.id} is gone`
    // what the store gives back must be what was submitted: the puller checks against the digest
    // written here (hashed once, while writing); no pull is served before this check is done
    const written = await store.writePayload(name, bytes)
    if (written.sha256 !== task.inputDigest) {
      await store.remove(name)
      return `the stored input of ${task.id} does not match its digest`
    }
    return true
  }
}

/** Only an input too large to ride inline in the assignment is pulled as a file. */
function pulledAsFile(task: Pick<TaskRecord, 'inputSize'>): boolean {
  return task.inputSize > LIMITS.inlineInputBytes
}
