# shellcheck shell=bash
# Installing Debian packages for kleak's tests and lab, sourced by tests/deps.sh and
# board-scripts/lab.sh: one place for the QEMU-from-backports trap.
#
# bookworm's qemu (7.2) conflicts with the qemu-utils 10.0 from bookworm-backports that
# some images carry (see board-scripts/README.md): on bookworm, QEMU comes from backports.

# as_root CMD...: run CMD as root (directly, or with sudo).
as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        printf 'need root to run: %s\n' "$*" >&2
        return 1
    fi
}

# pkg_installed PKG: true if dpkg has PKG installed.
pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

APT_UPDATED=0
apt_update() {
    ((APT_UPDATED)) && return 0
    as_root apt-get update -qq
    APT_UPDATED=1
}

# ensure_backports_source: add bookworm-backports, reusing the URI of debian.sources.
ensure_backports_source() {
    local uri file=/etc/apt/sources.list.d/kleak-backports.sources
    grep -rqs -e 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
    uri=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [[ -n $uri ]] || uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    uri=${uri:-http://deb.debian.org/debian}
    as_root tee "$file" >/dev/null <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    APT_UPDATED=0
}

# apt_install PKG...: install what is missing.
apt_install() {
    local missing=() p
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    apt_update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# ensure_arch ARCH: let dpkg/apt take packages for ARCH (multiarch); the package lists are
# read again on the next install, since the ones already read have no ARCH packages.
ensure_arch() {
    dpkg --print-foreign-architectures | grep -qx "$1" && return 0
    as_root dpkg --add-architecture "$1"
    APT_UPDATED=0
}

# qemu_install PKG...: install QEMU packages, from backports on bookworm.
qemu_install() {
    local missing=() p codename
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    # shellcheck source=/dev/null
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [[ $codename == bookworm ]]; then
        ensure_backports_source
        apt_update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports "${missing[@]}"
    else
        apt_update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}
