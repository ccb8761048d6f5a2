// The job bridge: a small HTTP API on a Unix socket that a process executor hands its job
// (HYPHA_JOB_SOCKET), in the shape of Hypha's: the job reads its task and input, reports
// progress and sends its result through it. The socket lives in the attempt's own directory
// (mode 0700), so only the worker's user can reach it; it serves one job and closes with it.
//
//   GET  /v1/task      {id, executor, inputSize, inputKind}
//   GET  /v1/input     the input bytes
//   POST /v1/progress  {"fraction": 0..1, "message": "..."} (both optional) -> 204
//   PUT  /v1/result    the result bytes (replaces any earlier ones), at most maxResultBytes -> 204, else 413
import { createReadStream, createWriteStream } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { z } from 'zod'
import { LIMITS } from '../protocol/messages.js'

export interface JobBridgeInit {
  socketPath: string
  task: { id: string; executor: string; inputSize: number; inputKind: 'text' | 'bytes' }
  inputPath: string
  resultPath: string
  maxResultBytes: number
  progress(fraction?: number, message?: string): void
}

export interface JobBridge {
  readonly socketPath: string
  close(): Promise<void>
}

const ProgressBodySchema = z.strictObject({
  fraction: z.number().min(0).max(1).optional(),
  message: z.string().max(LIMITS.progressMessageChars).optional(),
})

const MAX_PROGRESS_BODY_BYTES = 4096

class BodyTooLargeError extends Error {}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end()
    return
  }
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
}

async function readSmallBody(req: IncomingMessage, limit: number): Promise<string> {
  const parts: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > limit) throw new BodyTooLargeError(`body larger than ${limit} bytes`)
    parts.push(chunk)
  }
  return Buffer.concat(parts).toString('utf8')
}

/** Copies a request body to `path`, failing once more than `limit` bytes arrive. */
async function receiveFile(req: IncomingMessage, path: string, limit: number): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError(`result of ${declared} bytes, more than max_output (${limit})`)
  let size = 0
  await pipeline(
    req,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        size += chunk.byteLength
        if (size > limit) throw new BodyTooLargeError(`result larger than max_output (${limit} bytes)`)
        yield chunk
      }
    },
    createWriteStream(path),
  )
}

export async function startJobBridge(init: JobBridgeInit): Promise<JobBridge> {
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, err instanceof BodyTooLargeError ? 413 : 500, { error: err instanceof Error ? err.message : String(err) })
      else res.destroy()
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = `${req.method ?? ''} ${(req.url ?? '').split('?')[0]}`
    switch (route) {
      case 'GET /v1/task':
        send(res, 200, init.task)
        return
      case 'GET /v1/input': {
        const { size } = await stat(init.inputPath)
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
        await pipeline(createReadStream(init.inputPath), res)
        return
      }
      case 'POST /v1/progress': {
        let body: unknown
        try {
          body = JSON.parse(await readSmallBody(req, MAX_PROGRESS_BODY_BYTES))
        } catch (err) {
          if (err instanceof BodyTooLargeError) throw err
          send(res, 400, { error: 'the body must be JSON: {"fraction": 0..1, "message": "..."}' })
          return
        }
        const parsed = ProgressBodySchema.safeParse(body)
        if (!parsed.success) {
          send(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') })
          return
        }
        init.progress(parsed.data.fraction, parsed.data.message)
        send(res, 204)
        return
      }
      case 'PUT /v1/result':
        try {
          await receiveFile(req, init.resultPath, init.maxResultBytes)
        } catch (err) {
          await rm(init.resultPath, { force: true })
          throw err
        }
        send(res, 204)
        return
      default:
        send(res, 404, { error: `no route ${route}; see GET /v1/task, GET /v1/input, POST /v1/progress, PUT /v1/result` })
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.socketPath, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    socketPath: init.socketPath,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(init.socketPath, { force: true })
    },
  }
}
