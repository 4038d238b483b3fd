#!/usr/bin/python3
"""libtorrent (python3-libtorrent) as a WAN benchmark peer.

  libtorrent-peer.py seed  TORRENT DATA_DIR PORT
  libtorrent-peer.py leech TORRENT OUT_DIR PORT [TIMEOUT_S]

A seeder prints {"event": "seeding"} once it serves the data (seed mode: the
data is trusted, as the other seeders' is) and runs until SIGTERM. A leecher
prints one JSON line {"event": "done", "transferMs": ...} and exits 0 when
every piece is verified, 1 on a timeout. DHT, LSD, UPnP and NAT-PMP are off:
peers come from the torrent's tracker only. LT_TRANSPORT=tcp or utp in the
environment keeps it to that transport (default: both).
"""
import os
import json
import signal
import sys
import time

import libtorrent as lt


def session(port):
    settings = {
        'listen_interfaces': '0.0.0.0:%d' % port,
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'alert_mask': lt.alert.category_t.error_notification,
        # The benchmark addresses are all on one documentation subnet: no per-subnet caps.
        'allow_multiple_connections_per_ip': True,
    }
    only = os.environ.get('LT_TRANSPORT')
    if only in ('tcp', 'utp'):
        for direction in ('outgoing', 'incoming'):
            settings['enable_%s_tcp' % direction] = only == 'tcp'
            settings['enable_%s_utp' % direction] = only == 'utp'
    return lt.session(settings)


def main():
    mode, torrent, folder, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 600.0
    ses = session(port)
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = folder
    if mode == 'seed':
        params.flags |= lt.torrent_flags.seed_mode
    start = time.monotonic()
    handle = ses.add_torrent(params)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    announced = False
    while not stop:
        status = handle.status()
        if mode == 'seed':
            if not announced and status.is_seeding:
                print(json.dumps({'event': 'seeding'}), flush=True)
                announced = True
        elif status.is_seeding or status.progress >= 1.0 and status.state == lt.torrent_status.seeding:
            print(json.dumps({'event': 'done', 'transferMs': (time.monotonic() - start) * 1000.0,
                              'bytes': status.total_wanted}), flush=True)
            return 0
        elif time.monotonic() - start > timeout:
            print('libtorrent leech: timed out at %.1f%%' % (status.progress * 100), file=sys.stderr)
            return 1
        time.sleep(0.05)
    return 0


if __name__ == '__main__':
    sys.exit(main())
