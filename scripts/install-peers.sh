#!/usr/bin/env bash
# Installs the Debian packages whose programs the real-peer tests run.
# Idempotent: when every binary is already on PATH it does nothing (and takes no time).
set -euo pipefail

# binary -> Debian package that provides it
declare -A provider=(
  [aria2c]=aria2
  [opentracker]=opentracker
  [mktorrent]=mktorrent
  [transmission-show]=transmission-cli
  [qbittorrent-nox]=qbittorrent-nox
  [tmux]=tmux
  [chromium]=chromium
  [ffmpeg]=ffmpeg
  [nginx]=nginx
  [transmission-daemon]=transmission-daemon
  [rtorrent]=rtorrent
  [ip]=iproute2
  [miniupnpd]=miniupnpd
  [nft]=nftables
  [iptables]=iptables
)

missing=()
for bin in "${!provider[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${provider[$bin]}")
done
# libtorrent's Python binding (the BEP 52 oracle and v2 peer) is a module, not a binary.
/usr/bin/python3 -c 'import libtorrent' >/dev/null 2>&1 || missing+=(python3-libtorrent)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-peers: missing packages (${missing[*]}) and no apt-get here; install them by hand" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-peers: missing packages (${missing[*]}); need root or sudo to install them" >&2
  exit 1
fi

echo "install-peers: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"

for bin in "${!provider[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "install-peers: $bin still missing after installing ${provider[$bin]}" >&2
    exit 1
  fi
done
