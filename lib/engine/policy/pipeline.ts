/**
 * How many block requests to keep outstanding with one peer: enough to
 * cover the link's round trip and the peer's own batching, few enough to
 * bound the memory of pieces in progress.
 *
 * The rule is libtorrent's: keep about {@link QUEUE_SECONDS} of the peer's
 * download rate in flight, and start in slow start, where every block that
 * arrives adds one request (the queue doubles each round trip) for as long
 * as the rate keeps growing. A queue sized to half a second of data never
 * grows against a peer that answers in batches (Transmission answers what is
 * queued once per 500 ms pulse): the measured rate is then exactly the queue
 * per half second. Three seconds of data, and slow start, outgrow the batch
 * within a few pulses.
 *
 * Pure: the coordinator calls {@link pipelineSecond} about once a second
 * with the peer's measured rate.
 *
 * @internal
 * @module
 */

/** Least depth: even a slow peer keeps a few requests queued. */
export const MIN_DEPTH = 16
/** Depth of a new peer. */
export const START_DEPTH = 64
/**
 * Most requests outstanding with one peer (8 MiB of 16 KiB blocks; libtorrent's
 * max_out_request_queue): the memory bound of pieces in progress from one
 * peer. A peer that answers in batches sets the rate to this queue per batch:
 * 16 MB/s against Transmission's 500 ms pulse.
 */
export const MAX_DEPTH = 500
/** Seconds of the peer's rate kept in flight (libtorrent's request_queue_time). */
export const QUEUE_SECONDS = 3
/** Slow start ends when a second's rate is not at least this much above the best so far. */
export const SLOW_START_GAIN = 1.1

/** A peer's request queue target. */
export interface PipelineState {
  /** Requests to keep outstanding. */
  readonly depth: number
  /** Still growing by one request per arriving block. */
  readonly slowStart: boolean
  /** Highest rate seen in slow start (bytes/s). */
  readonly peakRate: number
}

/**
 * The queue of a new connection.
 *
 * @example
 * ```ts
 * let q = newPipeline() // { depth: 64, slowStart: true, peakRate: 0 }
 * ```
 */
export const newPipeline = (): PipelineState => ({ depth: START_DEPTH, slowStart: true, peakRate: 0 })

const clamp = (n: number): number => Math.max(MIN_DEPTH, Math.min(MAX_DEPTH, n))

/**
 * A requested block arrived: in slow start the queue grows by one.
 *
 * @example
 * ```ts
 * pipelineBlock({ depth: 64, slowStart: true, peakRate: 0 }).depth // 65
 * ```
 */
export const pipelineBlock = (s: PipelineState): PipelineState =>
  s.slowStart && s.depth < MAX_DEPTH ? { ...s, depth: s.depth + 1 } : s

/**
 * About a second has passed and the peer's rate is `rate` bytes/s: slow
 * start ends once the rate stops growing; the queue covers QUEUE_SECONDS of
 * the rate, shrinking gently (by a sixteenth a second) when the peer slows.
 *
 * @example
 * ```ts
 * // 16 MB/s with 16 KiB blocks: 3 s of data is past the cap.
 * pipelineSecond({ depth: 100, slowStart: false, peakRate: 0 }, 16e6, 16384).depth // 500
 * ```
 */
export const pipelineSecond = (s: PipelineState, rate: number, blockSize: number): PipelineState => {
  const want = Math.ceil((rate * QUEUE_SECONDS) / blockSize)
  if (s.slowStart) {
    const growing = rate > s.peakRate * SLOW_START_GAIN
    return { depth: clamp(Math.max(s.depth, want)), slowStart: growing, peakRate: Math.max(s.peakRate, rate) }
  }
  const decayed = s.depth - Math.ceil(s.depth / 16)
  return { ...s, depth: clamp(Math.max(want, decayed)) }
}

/**
 * The most requests a peer takes at once, from its extended handshake's
 * `reqq` (BEP 10): requests past it may be dropped, so the pipeline never
 * goes deeper. A missing or malformed `reqq` sets no bound; a bound below
 * {@link MIN_DEPTH} is still honoured (the peer said so).
 *
 * @example
 * ```ts
 * peerQueueBound({ reqq: 250 }) // 250
 * peerQueueBound({ p: 6881 }) // Infinity
 * ```
 */
export const peerQueueBound = (handshake: unknown): number => {
  const reqq = (handshake as { reqq?: unknown } | null)?.reqq
  return typeof reqq === 'number' && Number.isInteger(reqq) && reqq > 0 ? reqq : Infinity
}

/**
 * The peer's outstanding requests timed out: back to the least depth, out
 * of slow start (a peer that stalls is not one to probe harder).
 *
 * @example
 * ```ts
 * pipelineTimeout({ depth: 200, slowStart: true, peakRate: 5e6 }).depth // 16
 * ```
 */
export const pipelineTimeout = (s: PipelineState): PipelineState => ({ depth: MIN_DEPTH, slowStart: false, peakRate: s.peakRate })
