import { seededRandom as seeded } from '@hypha/network-core/testing'
import type { AnnouncedTask } from '../protocol/messages.js'
import { OfferShare } from './offer-share.js'

const SCHEDULER = 'scheduler-a'

function task(id: string): AnnouncedTask {
  return { id, executor: 'echo', inputSize: 1, attempt: 0 }
}

/** Draws that always fall below a share (offer) or never (pass). */
const always = (): number => 0
const never = (): number => 0.999_999

describe('OfferShare', () => {
  it('offers for a fresh task while its share is whole', () => {
    const share = new OfferShare(never)
    expect(share.choose(SCHEDULER, [task('t1')], 1)).toEqual([{ task: task('t1'), fresh: true }])
  })

  it('offers less often after lost races and more often after wins', () => {
    const share = new OfferShare(always)
    share.lost(SCHEDULER)
    share.lost(SCHEDULER)
    expect(share.share(SCHEDULER)).toBeCloseTo(0.64)
    share.won(SCHEDULER)
    expect(share.share(SCHEDULER)).toBeCloseTo(1)
    expect(share.share('scheduler-b')).toBe(1)
  })

  it('passes on a fresh task by chance, then offers when it is announced again, and raises its share', () => {
    const share = new OfferShare(never)
    share.lost(SCHEDULER)
    const before = share.share(SCHEDULER)
    expect(share.choose(SCHEDULER, [task('t1')], 1)).toEqual([])
    expect(share.choose(SCHEDULER, [task('t1')], 1)).toEqual([{ task: task('t1'), fresh: false }])
    expect(share.share(SCHEDULER)).toBeCloseTo(Math.min(1, before * 2))
    // acknowledged once: the same task announced a third time does not raise it again
    share.lost(SCHEDULER)
    const after = share.share(SCHEDULER)
    share.choose(SCHEDULER, [task('t1')], 1)
    expect(share.share(SCHEDULER)).toBeCloseTo(after)
  })

  it('takes a task heard of while busy as announced again, without counting it as passed on', () => {
    const share = new OfferShare(never)
    share.lost(SCHEDULER)
    const before = share.share(SCHEDULER)
    expect(share.choose(SCHEDULER, [task('t1')], 0)).toEqual([])
    expect(share.choose(SCHEDULER, [task('t1')], 1)).toEqual([{ task: task('t1'), fresh: false }])
    expect(share.share(SCHEDULER)).toBeCloseTo(before)
  })

  it('fills its free slots from a burst with distinct tasks, tasks announced again first', () => {
    const share = new OfferShare(seeded(7))
    share.choose(SCHEDULER, [task('old')], 0)
    const burst = [task('old'), ...Array.from({ length: 10 }, (_, i) => task(`new-${i}`))]
    const chosen = share.choose(SCHEDULER, burst, 3)
    expect(chosen).toHaveLength(3)
    expect(chosen[0]).toEqual({ task: task('old'), fresh: false })
    expect(new Set(chosen.map((c) => c.task.id)).size).toBe(3)
    expect(chosen.slice(1).every((c) => c.fresh)).toBe(true)
  })

  // The swarm the share exists for: many idle workers of capacity 1 and a trickle of tasks, each
  // announced alone. The first offer wins; a task nobody offered for is announced again, and then
  // every worker offers. Without the share every worker offered for every task.
  it.each([
    [5, 3],
    [20, 5],
    [100, 7],
    [1_000, 16],
  ])(
    'keeps the offers per task low with %i idle workers (at most %i on average), and every task is placed',
    (workers, maxOffersPerTask) => {
      const random = seeded(workers)
      const shares = Array.from({ length: workers }, () => new OfferShare(random))
      const tasks = 3_000
      let offers = 0
      let announcedAgain = 0
      for (let n = 0; n < tasks; n++) {
        const announced = [task(`t${n}`)]
        let offering = shares.flatMap((share, w) => (share.choose(SCHEDULER, announced, 1).length > 0 ? [w] : []))
        if (offering.length === 0) {
          announcedAgain++
          offering = shares.flatMap((share, w) => (share.choose(SCHEDULER, announced, 1).length > 0 ? [w] : []))
          offers += offering.length
          continue // the herd for a task announced again is not a race for a fresh one
        }
        offers += offering.length
        const winner = offering[Math.floor(random() * offering.length)] as number
        for (const w of offering) {
          if (w === winner) shares[w]?.won(SCHEDULER)
          else shares[w]?.lost(SCHEDULER)
        }
      }
      // every task is placed: an unanswered one is announced again and then offered for by all
      expect(offers / tasks).toBeLessThanOrEqual(maxOffersPerTask)
      expect(announcedAgain / tasks).toBeLessThan(0.02)
    },
  )
})
