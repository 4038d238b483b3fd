/**
 * What to tell a user whose download has found no peer: each place peers come
 * from, and why it gave none (off, or empty so far).
 *
 * @module
 */
import type { TorrentStats } from '../lib/messages.ts'
import type { TorrentInput } from './input.ts'

/** What the command knows about its peer sources. */
export interface PeerSourcesSetup {
  /** `--peer` addresses given. */
  readonly peers: readonly string[]
  /** The DHT is off for this run (`--no-dht` or TORRENT_PATRON_DHT=off). */
  readonly dhtOff: boolean
  /** What turned it off, for the message. */
  readonly dhtOffBy: string
}

/**
 * One sentence naming every source and its state, e.g. `no tracker in the
 * torrent; the DHT is off (--no-dht); no --peer given`.
 */
export const noPeerHint = (input: TorrentInput, stats: TorrentStats | undefined, setup: PeerSourcesSetup): string => {
  const parts: string[] = []
  const trackers = input.kind === 'torrent' ? input.meta.announce : input.magnet.announce
  const isPrivate = input.kind === 'torrent' && input.meta.private
  if (trackers.length === 0) parts.push(input.kind === 'magnet' ? 'the link names no tracker (tr=)' : 'the torrent names no tracker')
  else parts.push(`${trackers.length === 1 ? 'its tracker reports' : `its ${trackers.length} trackers report`} ${stats?.trackerPeers ? `${stats.trackerPeers} peers, none reachable` : 'no peer (or cannot be reached)'}`)
  if (isPrivate) parts.push('the torrent is private (no DHT, no peer exchange)')
  else if (setup.dhtOff) parts.push(`the DHT is off (${setup.dhtOffBy})`)
  else parts.push('the DHT has found none yet')
  const hinted = input.kind === 'magnet' ? input.magnet.peers.length : 0
  if (setup.peers.length + hinted === 0) parts.push(input.kind === 'magnet' ? 'no --peer given and no x.pe in the link' : 'no --peer given')
  else parts.push(`${setup.peers.length + hinted === 1 ? 'the peer given does' : 'the peers given do'} not answer`)
  return parts.join('; ')
}
