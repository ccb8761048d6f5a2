import { MemoryTaskStore } from './memory-task-store.js'
import type { TaskRecord } from './task-store.js'

function record(id: string, state: TaskRecord['state'] = 'pending'): TaskRecord {
  return {
    id, executor: 'echo', input: new TextEncoder().encode(id), inputKind: 'text', inputDigest: id,
    maxAttempts: 3, state, attempts: 0, createdAt: 1, updatedAt: 1,
  }
}

describe('MemoryTaskStore', () => {
  it('inserts once per id and returns the stored record on a duplicate', async () => {
    const store = new MemoryTaskStore()
    expect((await store.insert(record('a'))).inserted).toBe(true)
    const again = await store.insert({ ...record('a'), executor: 'sleep' })
    expect(again.inserted).toBe(false)
    expect(again.record.executor).toBe('echo')
    expect(store.size).toBe(1)
  })

  it('applies an update atomically, or writes nothing when the change declines', async () => {
    const store = new MemoryTaskStore()
    await store.insert(record('a'))
    expect(await store.update('a', () => undefined)).toBeUndefined()
    expect(await store.update('missing', (t) => ({ ...t }))).toBeUndefined()
    const updated = await store.update('a', (t) => ({ ...t, state: 'assigned', attempts: t.attempts + 1 }))
    expect(updated).toMatchObject({ state: 'assigned', attempts: 1 })
    expect(await store.get('a')).toMatchObject({ state: 'assigned', attempts: 1 })
    await expect(store.update('a', (t) => ({ ...t, id: 'b' }))).rejects.toThrow(/may not change its id/)
  })

  it('hands out copies: changing a returned record does not change the store', async () => {
    const store = new MemoryTaskStore()
    await store.insert({ ...record('a'), requirements: { labels: { gpu: 'yes' } } })
    const got = await store.get('a')
    if (got === undefined) throw new Error('missing')
    got.state = 'failed'
    if (got.requirements?.labels !== undefined) got.requirements.labels.gpu = 'no'
    expect(await store.get('a')).toMatchObject({ state: 'pending', requirements: { labels: { gpu: 'yes' } } })
  })

  it('lists oldest first, filtered by state and limited', async () => {
    const store = new MemoryTaskStore()
    for (const [id, state] of [['a', 'pending'], ['b', 'running'], ['c', 'pending'], ['d', 'pending']] as const) await store.insert(record(id, state))
    expect((await store.list()).map((t) => t.id)).toEqual(['a', 'b', 'c', 'd'])
    expect((await store.list({ states: ['pending'] })).map((t) => t.id)).toEqual(['a', 'c', 'd'])
    expect((await store.list({ states: ['pending'], limit: 2 })).map((t) => t.id)).toEqual(['a', 'c'])
  })
})
