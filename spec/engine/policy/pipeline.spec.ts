import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  MAX_DEPTH, MIN_DEPTH, QUEUE_SECONDS, START_DEPTH, newPipeline, peerQueueBound, pipelineBlock, pipelineSecond, pipelineTimeout, type PipelineState
} from '../../../lib/engine/policy/pipeline.ts'

const BLOCK = 16384

/**
 * A peer that answers whatever is queued once per 500 ms pulse (Transmission):
 * each pulse delivers the whole queue, so a second's rate is two queues.
 */
const batchingPeer = (seconds: number): PipelineState[] => {
  let s = newPipeline()
  const trace: PipelineState[] = []
  for (let t = 0; t < seconds; t++) {
    let delivered = 0
    for (let pulse = 0; pulse < 2; pulse++) {
      const batch = s.depth
      for (let i = 0; i < batch; i++) s = pipelineBlock(s)
      delivered += batch
    }
    s = pipelineSecond(s, delivered * BLOCK, BLOCK)
    trace.push(s)
  }
  return trace
}

test('a peer that answers in 500 ms batches makes the queue grow to the cap', () => {
  const trace = batchingPeer(6)
  assert.ok(trace[0]!.depth > START_DEPTH, `grew in the first second: ${trace[0]!.depth}`)
  assert.equal(trace.at(-1)!.depth, MAX_DEPTH)
})

test('half a second of data would not have grown: the queue is sized for three seconds', () => {
  // The old rule: want = rate * 0.5 / block. Against a batching peer the rate is 2 * depth * block per second.
  const depth = START_DEPTH
  assert.equal(Math.ceil((2 * depth * BLOCK * 0.5) / BLOCK), depth)
  assert.equal(pipelineSecond({ depth, slowStart: false, peakRate: 0 }, 2 * depth * BLOCK, BLOCK).depth, Math.min(MAX_DEPTH, 3 * 2 * depth))
})

test('slow start ends when the rate stops growing, and a slower peer shrinks the queue gently', () => {
  let s: PipelineState = { depth: 200, slowStart: true, peakRate: 0 }
  s = pipelineSecond(s, 1e6, BLOCK)
  assert.equal(s.slowStart, true)
  s = pipelineSecond(s, 1.05e6, BLOCK)
  assert.equal(s.slowStart, false)
  const before = s.depth
  s = pipelineSecond(s, 0, BLOCK)
  assert.ok(s.depth < before && s.depth >= before - Math.ceil(before / 16))
  assert.equal(pipelineBlock(s).depth, s.depth, 'no growth per block outside slow start')
})

test('a timeout drops to the least depth and leaves slow start', () => {
  const s = pipelineTimeout({ depth: 300, slowStart: true, peakRate: 9e6 })
  assert.deepEqual(s, { depth: MIN_DEPTH, slowStart: false, peakRate: 9e6 })
})

test('the depth always stays within its bounds and covers QUEUE_SECONDS of the rate up to the cap', () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('block' as const) }),
    fc.record({ kind: fc.constant('second' as const), rate: fc.double({ min: 0, max: 1e9, noNaN: true }) }),
    fc.record({ kind: fc.constant('timeout' as const) })
  )
  fc.assert(fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
    let s = newPipeline()
    for (const st of steps) {
      if (st.kind === 'block') s = pipelineBlock(s)
      else if (st.kind === 'timeout') s = pipelineTimeout(s)
      else {
        s = pipelineSecond(s, st.rate, BLOCK)
        assert.ok(s.depth >= Math.min(MAX_DEPTH, Math.ceil((st.rate * QUEUE_SECONDS) / BLOCK)))
      }
      assert.ok(s.depth >= MIN_DEPTH && s.depth <= MAX_DEPTH && Number.isInteger(s.depth))
    }
  }))
})

test('pipeline: a peer\'s reqq bounds the queue; a missing or malformed one bounds nothing', () => {
  assert.equal(peerQueueBound({ reqq: 250 }), 250)
  assert.equal(peerQueueBound({ reqq: 1 }), 1)
  for (const bad of [{}, { reqq: 0 }, { reqq: -5 }, { reqq: 2.5 }, { reqq: '500' }, null, 7]) assert.equal(peerQueueBound(bad), Infinity, JSON.stringify(bad))
})
