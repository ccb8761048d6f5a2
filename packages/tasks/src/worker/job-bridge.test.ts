// The job bridge on a real Unix socket: task info, input, progress (validated), results (bounded),
// and clear errors for what a job gets wrong.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type JobBridge, startJobBridge } from './job-bridge.js'

let dir: string
let bridge: JobBridge
const progress: Array<[number | undefined, string | undefined]> = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hypha-bridge-'))
  await writeFile(join(dir, 'input'), 'the input')
  progress.length = 0
  bridge = await startJobBridge({
    socketPath: join(dir, 'job.sock'),
    task: { id: 't1', executor: 'x', inputSize: 9, inputKind: 'text' },
    inputPath: join(dir, 'input'),
    resultPath: join(dir, 'result'),
    maxResultBytes: 1024,
    progress: (fraction, message) => progress.push([fraction, message]),
  })
})

afterEach(async () => {
  await bridge.close()
  await rm(dir, { recursive: true, force: true })
})

function call(method: string, path: string, body?: string | Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: bridge.socketPath, method, path }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (chunk: Buffer) => parts.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

it('serves the task and its input', async () => {
  expect(JSON.parse((await call('GET', '/v1/task')).text)).toEqual({ id: 't1', executor: 'x', inputSize: 9, inputKind: 'text' })
  expect(await call('GET', '/v1/input')).toEqual({ status: 200, text: 'the input' })
})

it('passes valid progress on and refuses invalid progress with the reason', async () => {
  expect((await call('POST', '/v1/progress', JSON.stringify({ fraction: 0.5, message: 'half' }))).status).toBe(204)
  expect((await call('POST', '/v1/progress', '{}')).status).toBe(204)
  const outOfRange = await call('POST', '/v1/progress', JSON.stringify({ fraction: 2 }))
  expect(outOfRange.status).toBe(400)
  expect(JSON.parse(outOfRange.text).error).toContain('fraction')
  const notJson = await call('POST', '/v1/progress', 'half way')
  expect(notJson).toMatchObject({ status: 400 })
  expect(JSON.parse(notJson.text).error).toContain('must be JSON')
  expect((await call('POST', '/v1/progress', JSON.stringify({ message: 'x'.repeat(5000) }))).status).toBe(413)
  expect(progress).toEqual([[0.5, 'half'], [undefined, undefined]])
})

it('takes a result up to the limit, refuses a larger one without keeping any of it', async () => {
  expect((await call('PUT', '/v1/result', Buffer.alloc(1024, 1))).status).toBe(204)
  expect((await stat(join(dir, 'result'))).size).toBe(1024)
  const tooLarge = await call('PUT', '/v1/result', Buffer.alloc(1025, 2))
  expect(tooLarge.status).toBe(413)
  expect(JSON.parse(tooLarge.text).error).toContain('max_output')
  await expect(readFile(join(dir, 'result'))).rejects.toMatchObject({ code: 'ENOENT' })
})

it('answers an unknown route with 404 and the routes there are', async () => {
  const answer = await call('GET', '/v1/secrets')
  expect(answer.status).toBe(404)
  expect(JSON.parse(answer.text).error).toContain('GET /v1/task')
})
