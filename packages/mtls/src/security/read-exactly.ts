// Reads exactly n bytes from a paused Node stream without consuming more, so whatever the
// peer sent after (the multiplexer's first bytes) stays buffered for the next reader.
import type { Readable } from 'node:stream'

export async function readExactly(stream: Readable, n: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (n === 0) return new Uint8Array()
  return new Promise<Uint8Array>((resolve, reject) => {
    const tryRead = (): void => {
      const chunk = stream.read(n) as Buffer | null
      if (chunk !== null) {
        cleanup()
        resolve(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      }
    }
    const onEnd = (): void => {
      cleanup()
      reject(new Error(`stream ended before ${n} bytes arrived`))
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    const onAbort = (): void => {
      cleanup()
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
    }
    const cleanup = (): void => {
      stream.off('readable', tryRead)
      stream.off('end', onEnd)
      stream.off('close', onEnd)
      stream.off('error', onError)
      signal?.removeEventListener('abort', onAbort)
    }
    stream.on('readable', tryRead)
    stream.once('end', onEnd)
    stream.once('close', onEnd)
    stream.once('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
    tryRead()
  })
}
