#!/usr/bin/env bash
# Installs what kleak's tests need on Debian/Ubuntu x86_64; quick when all is there.
#  - Rust targets aarch64-unknown-linux-musl and x86_64-unknown-linux-musl (rustup)
#  - Rust target aarch64-unknown-linux-gnu and Debian's cross gcc and glibc (the tracer
#    library for aarch64 glibc boards, and test programs for it)
#  - Debian's musl for arm64 (aarch64-linux-musl-gcc for test programs, and the loader
#    /lib/ld-musl-aarch64.so.1 that QEMU runs them with)
#  - qemu-aarch64-static (qemu-user-static; from backports on bookworm: lib/apt.sh)
#  - prometheus and promtool (Debian's prometheus package); chromium (headless, for SVG)
set -euo pipefail

for t in aarch64-unknown-linux-musl x86_64-unknown-linux-musl aarch64-unknown-linux-gnu; do
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
# Prometheus and promtool for tests/listen.rs (rules, config, a real server on a free
# port; the package's own service, where systemd starts it, listens on 9090 and is not used).
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then apt_install prometheus; fi
# A real browser renders kleak plot's SVG in tests/plot.rs (headless screenshot).
command -v chromium >/dev/null || apt_install chromium
command -v cc >/dev/null || apt_install gcc libc6-dev
# kleak trace: cross gcc + glibc for aarch64; musl for arm64 from the multiarch archive.
if ! command -v aarch64-linux-gnu-gcc >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/libc.so ]; then
    apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
fi
if ! command -v aarch64-linux-musl-gcc >/dev/null || [ ! -e /lib/ld-musl-aarch64.so.1 ]; then
    ensure_arch arm64
    apt_install musl:arm64 musl-dev:arm64
fi
