import { createHash } from 'node:crypto'
import { echoExecutor, type ExecutorContext, sha256Executor, sleepExecutor, type TaskInput } from './executors.js'

function input(kind: 'text' | 'bytes', chunks: Uint8Array[]): TaskInput {
  const all = Buffer.concat(chunks)
  return {
    kind,
    size: all.byteLength,
    stream: async function* () { for (const chunk of chunks) yield chunk },
    bytes: async () => new Uint8Array(all),
    text: async () => all.toString('utf8'),
  }
}

function context(taskInput: TaskInput, signal = new AbortController().signal): ExecutorContext {
  return { taskId: 't', input: taskInput, signal, progress: () => undefined }
}

const text = (s: string): TaskInput => input('text', [Buffer.from(s)])

describe('built-in executors', () => {
  it('echo returns text input as a string and byte input as base64', async () => {
    expect(await echoExecutor(context(text('héllo')))).toEqual({ echo: 'héllo' })
    expect(await echoExecutor(context(input('bytes', [Buffer.from([0, 255])])))).toEqual({ echo: { base64: 'AP8=' } })
  })

  it('sha256 hashes the input chunk by chunk', async () => {
    const chunks = [Buffer.from('abc'), Buffer.alloc(100_000, 7), Buffer.from('xyz')]
    const expected = createHash('sha256').update(Buffer.concat(chunks)).digest('hex')
    expect(await sha256Executor(context(input('bytes', chunks)))).toEqual({ sha256: expected })
  })

  it('sleep waits the given milliseconds', async () => {
    const started = performance.now()
    expect(await sleepExecutor(context(text('30')))).toEqual({ slept: 30 })
    expect(performance.now() - started).toBeGreaterThanOrEqual(25)
  })

  it('sleep stops when its signal aborts', async () => {
    const controller = new AbortController()
    const running = sleepExecutor(context(text('60000'), controller.signal))
    controller.abort(new Error('stop now'))
    await expect(running).rejects.toThrow('stop now')
  })

  it('sleep refuses input that is not a whole number of milliseconds', async () => {
    for (const bad of ['-1', '1.5', 'soon', '', '99999999999']) {
      await expect(sleepExecutor(context(text(bad)))).rejects.toThrow(/whole number of milliseconds/)
    }
  })
})
