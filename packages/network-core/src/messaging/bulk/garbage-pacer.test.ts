import { type Collect, GarbagePacer, v8Collector } from './garbage-pacer.js'

describe('GarbagePacer', () => {
  it('runs one young-generation collection per bytesPerCollection moved, whatever the chunk sizes', () => {
    const calls: Parameters<Collect>[0][] = []
    const pacer = new GarbagePacer(1000, () => (options) => calls.push(options))
    pacer.moved(999)
    expect(calls).toHaveLength(0)
    pacer.moved(1)
    expect(calls).toEqual([{ type: 'minor', execution: 'sync' }])
    for (let i = 0; i < 30; i++) pacer.moved(100)
    expect(pacer.collections).toBe(4)
  })

  it('asks for the collector once, and does nothing when there is none', () => {
    let asked = 0
    const pacer = new GarbagePacer(10, () => {
      asked++
      return undefined
    })
    for (let i = 0; i < 5; i++) pacer.moved(10)
    expect(asked).toBe(1)
    expect(pacer.collections).toBe(0)
  })

  it('gets V8 gc without exposing it to the main context', () => {
    expect(typeof v8Collector()).toBe('function')
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined()
  })

  it("frees ArrayBuffers that died young (what a transfer's chunks are)", async () => {
    const collect = v8Collector()
    if (collect === undefined) throw new Error('no collector')
    const MiB = 1024 * 1024
    const held = () => process.memoryUsage().arrayBuffers
    for (let round = 0; ; round++) {
      collect({ type: 'minor', execution: 'sync' })
      const before = held()
      // 16 MiB of 16 KiB chunks, each dropped at once: too few objects to fill the young generation
      let last: Uint8Array | undefined
      for (let i = 0; i < 1024; i++) last = new Uint8Array(16 * 1024)
      expect(last?.byteLength).toBe(16 * 1024)
      last = undefined
      // The process's ArrayBuffer total is shared with everything this worker ran before: a
      // mark-compact that other tests' garbage started during the loop frees our chunks too
      // (and theirs: once 58 MiB). Then there is nothing left to show; try again after it.
      if (held() - before < 12 * MiB && round < 5) continue
      expect(held() - before).toBeGreaterThanOrEqual(12 * MiB)
      new GarbagePacer(1, () => collect).moved(1)
      // the backing stores are released by V8's sweeper, concurrently: poll for it
      const deadline = Date.now() + 5000
      while (held() - before > 4 * MiB && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(held() - before).toBeLessThanOrEqual(4 * MiB)
      return
    }
  })
})
