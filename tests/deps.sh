#!/usr/bin/env bash
# Installs what kleak's tests need on Debian/Ubuntu x86_64; quick when all is there.
#  - Rust targets aarch64-unknown-linux-musl and x86_64-unknown-linux-musl (rustup)
#  - qemu-aarch64-static (qemu-user-static). On Debian 12 machines that carry
#    qemu-utils from bookworm-backports, bookworm's own qemu conflicts with it, so QEMU
#    comes from backports too (see ../shared/lab-notes.md).
set -euo pipefail

for t in aarch64-unknown-linux-musl x86_64-unknown-linux-musl; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    local backports=()
    if grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null; then
        local list=/etc/apt/sources.list.d/kleak-backports.sources
        if [ ! -f "$list" ]; then
            local uri
            uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
            $sudo tee "$list" >/dev/null <<SRC
Types: deb
URIs: ${uri:-http://deb.debian.org/debian}
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        fi
        backports=(-t bookworm-backports)
    fi
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${backports[@]}" "$@"
}

command -v qemu-aarch64-static >/dev/null || apt_install qemu-user-static
command -v readelf >/dev/null || apt_install binutils
command -v setpriv >/dev/null || apt_install util-linux
command -v groff >/dev/null || apt_install groff-base
