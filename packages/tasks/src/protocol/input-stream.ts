// INPUT_PROTOCOL, both ends: the worker sends one JSON request frame naming task and lease, the
// scheduler answers with a header frame (size or refusal) and then the bytes in bounded chunks.
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import {
  type InputHeader,
  InputHeaderSchema,
  type InputRequest,
  InputRequestSchema,
  LIMITS,
  TASK_PROTOCOL_VERSION,
} from './messages.js'

/** Control frames are small JSON objects; chunks are at most LIMITS.inputChunkBytes. */
const MAX_FRAME_BYTES = LIMITS.inputChunkBytes

export class InputFetchError extends Error {
  override readonly name = 'InputFetchError'
  readonly reason: string

  constructor(reason: string, message: string) {
    super(message)
    this.reason = reason
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
}

/**
 * Server side. `resolve` returns the task's input bytes when the request's lease is held by the
 * remote peer, or a refusal reason. Aborts the stream on any failure; never throws.
 */
export async function serveInput(
  stream: Stream,
  resolve: (request: InputRequest) => Promise<Uint8Array | Exclude<InputHeader, { ok: true }>['reason']>,
  options: { signal: AbortSignal; chunkBytes?: number },
): Promise<void> {
  const { signal } = options
  const chunkBytes = Math.min(options.chunkBytes ?? LIMITS.inputChunkBytes, LIMITS.inputChunkBytes)
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  try {
    const parsed = InputRequestSchema.safeParse(decodeJson((await lp.read({ signal })).subarray()))
    const answer = parsed.success ? await resolve(parsed.data) : 'invalid'
    if (typeof answer === 'string') {
      await lp.write(encode({ v: TASK_PROTOCOL_VERSION, ok: false, reason: answer } satisfies InputHeader), { signal })
      await stream.close({ signal })
      return
    }
    await lp.write(encode({ v: TASK_PROTOCOL_VERSION, ok: true, size: answer.byteLength } satisfies InputHeader), { signal })
    for (let offset = 0; offset < answer.byteLength; offset += chunkBytes) {
      await lp.write(answer.subarray(offset, Math.min(offset + chunkBytes, answer.byteLength)), { signal })
    }
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}

/**
 * Client side: yields the input in chunks as they arrive, checking the total against the header
 * and `maxBytes`. Throws InputFetchError on a refusal or a short/oversized transfer.
 */
export async function* fetchInput(
  stream: Stream,
  request: InputRequest,
  options: { signal: AbortSignal; maxBytes: number },
): AsyncGenerator<Uint8Array> {
  const { signal } = options
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  let done = false
  try {
    await lp.write(encode(request), { signal })
    const header = InputHeaderSchema.safeParse(decodeJson((await lp.read({ signal })).subarray()))
    if (!header.success) throw new InputFetchError('invalid', 'the scheduler sent an invalid input header')
    if (!header.data.ok) throw new InputFetchError(header.data.reason, `the scheduler refused the input: ${header.data.reason}`)
    const size = header.data.size
    if (size > options.maxBytes) throw new InputFetchError('too-large', `input of ${size} bytes exceeds ${options.maxBytes}`)
    let received = 0
    while (received < size) {
      const chunk = (await lp.read({ signal })).subarray()
      received += chunk.byteLength
      if (received > size) throw new InputFetchError('invalid', `the scheduler sent more than the announced ${size} bytes`)
      yield chunk
    }
    done = true
    await stream.close({ signal }).catch(() => undefined)
  } finally {
    if (!done) stream.abort(new Error('input fetch abandoned'))
  }
}
