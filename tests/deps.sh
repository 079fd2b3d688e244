#!/usr/bin/env bash
# Installs what kleak's tests need on Debian/Ubuntu x86_64; quick when all is there.
#  - Rust targets aarch64-unknown-linux-musl and x86_64-unknown-linux-musl (rustup)
#  - qemu-aarch64-static (qemu-user-static; from backports on bookworm: lib/apt.sh)
set -euo pipefail

for t in aarch64-unknown-linux-musl x86_64-unknown-linux-musl; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

# shellcheck source-path=SCRIPTDIR source=../board-scripts/lib/apt.sh
. "$(dirname "$0")/../board-scripts/lib/apt.sh"

command -v qemu-aarch64-static >/dev/null || qemu_install qemu-user-static
command -v readelf >/dev/null || apt_install binutils
command -v setpriv >/dev/null || apt_install util-linux
command -v groff >/dev/null || apt_install groff-base
command -v shellcheck >/dev/null || apt_install shellcheck
# A real Prometheus text-format parser for tests/export.rs.
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q prometheus-client
