"""A python3-libtorrent peer for tests, driven by one JSON argument.

{"torrent": PATH, "save": DIR, "port": N, "settings": {...}, "connect": [[HOST, PORT], ...], "strictLocal": BOOL,
 "localUploadLimit": BYTES_PER_SECOND}

Prints JSON lines to stdout: {"type": "listening", "port": N}, a "status" line
every 200 ms (progress, state, peers, pieces), and a "peer_log" line (with its
time "t", seconds) for every BitTorrent message libtorrent sends (==>) or
receives (<==), so a test can see which BEP 6 messages crossed the wire, and
when. Runs until killed.
"""
import json
import sys
import time

import libtorrent as lt

cfg = json.loads(sys.argv[1])
settings = {
    'listen_interfaces': '127.0.0.1:%d' % cfg.get('port', 0),
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'allow_multiple_connections_per_ip': True,
    'alert_mask': lt.alert.category_t.peer_log_notification | lt.alert.category_t.status_notification
    | lt.alert.category_t.error_notification | lt.alert.category_t.connect_notification,
}
settings.update(cfg.get('settings', {}))
ses = lt.session(settings)
if cfg.get('strictLocal'):
    # Peers on 127.0.0.1 are in libtorrent's local class, which ignores unchoke slots.
    info = ses.get_peer_class(ses.local_peer_class_id)
    info['ignore_unchoke_slots'] = False
    ses.set_peer_class(ses.local_peer_class_id, info)
if cfg.get('localUploadLimit'):
    # Rate limits of the settings are the global class's; peers on 127.0.0.1 are in the local class.
    info = ses.get_peer_class(ses.local_peer_class_id)
    info['upload_limit'] = int(cfg['localUploadLimit'])
    ses.set_peer_class(ses.local_peer_class_id, info)
ti = lt.torrent_info(cfg['torrent'])
atp = lt.add_torrent_params()
atp.ti = ti
atp.save_path = cfg['save']
h = ses.add_torrent(atp)
print(json.dumps({'type': 'listening', 'port': ses.listen_port()}), flush=True)
connected = False
last = 0.0
while True:
    for a in ses.pop_alerts():
        if isinstance(a, lt.peer_log_alert):
            msg = a.message()
            direction = getattr(a, 'direction', None)
            print(json.dumps({'type': 'peer_log', 'msg': msg, 'event': str(getattr(a, 'event_type', '')),
                              'dir': str(direction), 'ip': str(a.ip), 't': round(time.time(), 3)}), flush=True)
        elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
            print(json.dumps({'type': 'error', 'msg': a.message()}), flush=True)
    st = h.status()
    if not connected and st.state in (lt.torrent_status.downloading, lt.torrent_status.seeding, lt.torrent_status.finished):
        for host, port in cfg.get('connect', []):
            h.connect_peer((host, port))
        connected = True
    now = time.time()
    if now - last > 0.2:
        last = now
        print(json.dumps({'type': 'status', 'state': str(st.state), 'progress': st.progress, 'peers': st.num_peers,
                          'pieces': st.num_pieces, 'seeding': st.is_seeding}), flush=True)
    ses.wait_for_alert(100)
