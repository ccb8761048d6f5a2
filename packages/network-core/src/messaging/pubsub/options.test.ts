// Tests of the recommended gossipsub init: signing, zero-peer publishing, relays, frame limits,
// and score parameters that gossipsub's own validators accept and that actually punish invalid messages.
import {
  createPeerScoreParams,
  createPeerScoreThresholds,
  validatePeerScoreParams,
  validatePeerScoreThresholds,
} from '@libp2p/gossipsub/score'
import { fastMessageId, gossipsubOptions, hyphaTopicScoreParams } from './options.js'

describe('gossipsubOptions', () => {
  it('signs, publishes to zero peers and runs on limited (relayed) connections', () => {
    const opts = gossipsubOptions({ maxMessageBytes: 64 * 1024 })
    expect(opts.globalSignaturePolicy).toBe('StrictSign')
    expect(opts.allowPublishToZeroTopicPeers).toBe(true)
    expect(opts.runOnLimitedConnection).toBe(true)
  })

  it('keeps the 4 MiB frame floor and leaves room for several full-size messages per frame', () => {
    expect(gossipsubOptions({ maxMessageBytes: 1024 }).maxInboundDataLength).toBe(4 * 1024 * 1024)
    const big = 2 * 1024 * 1024
    expect(gossipsubOptions({ maxMessageBytes: big }).maxInboundDataLength).toBeGreaterThanOrEqual(4 * big)
  })

  it('scores the listed topics with parameters gossipsub validates', () => {
    const opts = gossipsubOptions({ maxMessageBytes: 1024, scoredTopics: ['hypha/tasks', 'hypha/results'] })
    const params = createPeerScoreParams(opts.scoreParams)
    expect(() => {
      validatePeerScoreParams(params)
    }).not.toThrow()
    expect(() => {
      validatePeerScoreThresholds(createPeerScoreThresholds(opts.scoreThresholds))
    }).not.toThrow()
    expect(Object.keys(params.topics).sort()).toEqual(['hypha/results', 'hypha/tasks'])
    expect(params.topics['hypha/tasks']?.invalidMessageDeliveriesWeight).toBeLessThan(0)
    expect(params.IPColocationFactorWeight).toBe(0)
  })

  it('makes invalid messages cost more than an honest peer can earn, reaching graylist at three', () => {
    const params = createPeerScoreParams(gossipsubOptions({ maxMessageBytes: 1024, scoredTopics: ['t'] }).scoreParams)
    const thresholds = createPeerScoreThresholds()
    const p = hyphaTopicScoreParams()
    const honestMax = Math.min(
      params.topicScoreCap,
      (p.timeInMeshWeight * p.timeInMeshCap + p.firstMessageDeliveriesWeight * p.firstMessageDeliveriesCap) * p.topicWeight,
    )
    const score = (invalid: number): number => honestMax + invalid * invalid * p.invalidMessageDeliveriesWeight * p.topicWeight
    expect(score(1)).toBeLessThanOrEqual(-honestMax)
    expect(score(2)).toBeLessThan(thresholds.publishThreshold)
    expect(score(3)).toBeLessThan(thresholds.graylistThreshold)
  })

  it('turns IP colocation scoring on only when asked', () => {
    const params = createPeerScoreParams(gossipsubOptions({ maxMessageBytes: 1024, ipColocationFactorThreshold: 3 }).scoreParams)
    expect(params.IPColocationFactorThreshold).toBe(3)
    expect(params.IPColocationFactorWeight).toBeLessThan(0)
  })

  it.each([0, -1, 1.5, Number.NaN])('refuses maxMessageBytes %p', (maxMessageBytes) => {
    expect(() => gossipsubOptions({ maxMessageBytes })).toThrow(expect.objectContaining({ name: 'PubSubConfigError' }))
  })
})

describe('fastMessageId', () => {
  const from = new Uint8Array([0, 36, 8, 1, 18, 32, 7, 7])
  const seqno = new Uint8Array([0, 0, 0, 0, 0, 0, 1, 2])

  it('is the publisher and sequence number, whatever the data and signature of the copy', () => {
    const id = fastMessageId({ from, seqno })
    expect(id).toBe(`${Buffer.from(from).toString('base64')}:0000000000000102`)
    expect(fastMessageId({ from, seqno, data: new Uint8Array([1]), signature: new Uint8Array([9]) } as never)).toBe(id)
    expect(fastMessageId({ from, seqno: new Uint8Array([0, 0, 0, 0, 0, 0, 1, 3]) })).not.toBe(id)
    // a view into a larger buffer reads only its own bytes
    const big = new Uint8Array([255, ...seqno, 255])
    expect(fastMessageId({ from, seqno: big.subarray(1, 9) })).toBe(id)
  })

  it('gives an unsigned message no id it could share with a signed one', () => {
    expect(fastMessageId({ seqno })).toBe('')
    expect(gossipsubOptions({ maxMessageBytes: 1024 }).fastMsgIdFn).toBe(fastMessageId)
  })
})
