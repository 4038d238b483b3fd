"""libtorrent (python3-libtorrent 2.0.x) as an oracle and a peer for the specs.

  make SRC OUT MODE PIECE_LENGTH     MODE: v1 | v2 | hybrid; writes OUT, prints {"ok":true}
  inspect TORRENT                    prints JSON: info hashes, files (with roots), pieces, layers
  seed TORRENT SAVE PORT [RATE]      seeds existing data on 127.0.0.1:PORT (RATE: upload bytes/s, loopback included)
  recheck TORRENT SAVE               force_recheck of existing data, prints {"seconds":...}
Every command prints JSON lines on stdout; errors print {"error": "..."} and exit 1.
"""
import json, sys, time, os, threading
import libtorrent as lt

def out(obj):
    print(json.dumps(obj), flush=True)

def cmd_make(src, dst, mode, piece_length):
    fs = lt.file_storage()
    lt.add_files(fs, src)
    flags = {'v1': lt.create_torrent.v1_only, 'v2': lt.create_torrent.v2_only, 'hybrid': 0}[mode]
    t = lt.create_torrent(fs, int(piece_length), flags)
    t.add_tracker('http://127.0.0.1:1/announce')
    lt.set_piece_hashes(t, os.path.dirname(os.path.abspath(src)))
    with open(dst, 'wb') as f:
        f.write(lt.bencode(t.generate()))
    out({'ok': True})

def describe(ti):
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        root = fs.root(i).to_bytes().hex()
        files.append({'path': fs.file_path(i), 'size': fs.file_size(i), 'offset': fs.file_offset(i),
                      'pad': bool(fs.file_flags(i) & lt.file_storage.flag_pad_file),
                      'root': None if set(root) == {'0'} else root})
    ih = ti.info_hashes()
    return {'v1': str(ih.v1) if ih.has_v1() else None, 'v2': str(ih.v2) if ih.has_v2() else None,
            'total': fs.total_size(), 'pieces': ti.num_pieces(), 'pieceLength': ti.piece_length(), 'files': files}

def cmd_inspect(path):
    out(describe(lt.torrent_info(path)))

def session(port):
    s = lt.session({'listen_interfaces': '127.0.0.1:%d' % int(port), 'enable_dht': False, 'enable_lsd': False,
                    'enable_upnp': False, 'enable_natpmp': False, 'allow_multiple_connections_per_ip': True,
                    'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
                    'out_enc_policy': 1, 'in_enc_policy': 1})
    return s

def params(src, save):
    if src.startswith('magnet:'):
        p = lt.parse_magnet_uri(src)
    else:
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(src)
    p.save_path = save
    return p

def cmd_seed(torrent, save, port, rate='0'):
    s = session(port)
    if int(rate) > 0:
        # loopback peers are in the local peer class, which rate limits skip by default
        for cid in (lt.session.global_peer_class_id, lt.session.local_peer_class_id):
            pc = s.get_peer_class(cid)
            pc['upload_limit'] = int(rate)
            s.set_peer_class(cid, pc)
    p = params(torrent, save)
    h = s.add_torrent(p)
    h.force_recheck()
    while True:
        st = h.status()
        if st.state in (lt.torrent_status.seeding, lt.torrent_status.finished):
            break
        time.sleep(0.05)
    out({'seeding': True, 'port': s.listen_port()})
    while True:
        time.sleep(1)

def cmd_recheck(torrent, save):
    s = session(0)
    p = params(torrent, save)
    h = s.add_torrent(p)
    while h.status().state == lt.torrent_status.checking_resume_data:
        time.sleep(0.01)
    start = time.time()
    h.force_recheck()
    time.sleep(0.01)
    while True:
        st = h.status()
        if st.state not in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data):
            break
        time.sleep(0.01)
    out({'seconds': time.time() - start, 'progress': h.status().progress})

if __name__ == '__main__':
    try:
        {'make': cmd_make, 'inspect': cmd_inspect, 'seed': cmd_seed, 'recheck': cmd_recheck}[sys.argv[1]](*sys.argv[2:])
    except Exception as e:
        out({'error': '%s: %s' % (type(e).__name__, e)})
        sys.exit(1)
