#!/usr/bin/env bash
# kleak board lab: real arm64 kernels (6.1, 6.12, 6.1 with SLAB, Debian's own)
# under QEMU (TCG), kleak on the serial console, scenarios checked on the host.
#
#   board-scripts/lab.sh test [--kernel K]... [--ci] [NAME...]
#                                         the matrix (every kernel), end to end;
#                                         --ci: a reduced set on all but 6.1
#   board-scripts/lab.sh deps|kleak|kernel|module|initramfs [--kernel K]
#   board-scripts/lab.sh boot [--kernel K] [NAME...]
#                                         interactive serial console (Ctrl-A x quits)
#   board-scripts/lab.sh list             scenarios, pending ones, opt-in ones
#   board-scripts/lab.sh check-config [.config [FRAGMENT...]]
#                                         did every line of a fragment survive? No
#                                         arguments: Debian's arm64 config + board.config
#   board-scripts/lab.sh deploy-test      deploy.sh --serial --tty into the lab guest
#
# Kernels (--kernel): 6.1 6.12 6.1-slab debian; without it `test` runs them all,
# the other subcommands work on 6.1.
# See board-scripts/README.md for what it builds, the cache and measured numbers.
#
# Functions run through `phase NAME FUNCTION` look unreachable to shellcheck:
# shellcheck disable=SC2317
set -euo pipefail

# Scenarios whose kleak feature has not landed yet. They are skipped with a
# SKIP line naming what they wait for. Remove a line when the feature lands
# (KLEAK_LAB_RUN_PENDING=1 runs them anyway, to work on the feature).
declare -A PENDING=(
    # [NN-name]="the kleak feature it waits for (the issue that brings it)"
)

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
CACHE=${KLEAK_LAB_CACHE:-$HOME/.cache/kleak-lab}

# Bump when the kernel build steps in build_kernel() change: it is part of the
# cache key, so old builds are not reused by a different recipe.
KERNEL_RECIPE=2
# The kernel matrix. `lab.sh test` runs every scenario that applies on each of
# these, in this order; `--kernel NAME` picks one. A kernel with fragments is
# built from Debian's linux-source-X package (KERNEL_PKG): tinyconfig, then the
# fragments (kernel/*.config, merged in order, a later line overriding an
# earlier one), then olddefconfig. A kernel with an image (KERNEL_IMAGE) is
# Debian's prebuilt one (the package that metapackage depends on), booted as
# it is; the lab's modules are built for it in its source package, configured
# with the image's own config (modules_prepare), its Module.symvers and its
# release string.
KERNELS=(6.1 6.12 6.1-slab debian)
declare -A KERNEL_PKG=([6.1]=linux-source-6.1 [6.12]=linux-source-6.12
    [6.1-slab]=linux-source-6.1 [debian]=linux-source-6.1)
declare -A KERNEL_FRAGMENTS=([6.1]="lab.config" [6.12]="lab.config 6.12.config"
    [6.1-slab]="lab.config slab.config" [debian]="")
declare -A KERNEL_IMAGE=([debian]=linux-image-arm64)
# A prebuilt kernel's own modules for the initramfs (with what they depend on,
# in load order, listed in /lab/modules/NAME.deps): zram makes zsmalloc pools,
# each with caches named zs_handle and zspage.
# virtio_mmio and virtio_net (with failover, net_failover) give Debian's kernel
# the NIC of QEMU's user network, for the "# lab-needs: net" scenarios.
declare -A KERNEL_OWN_MODULES=([debian]="zram virtio_mmio virtio_net")
# Scenario columns that fail for a reason kleak has not fixed yet: skipped by name with
# that reason (KLEAK_LAB_RUN_PENDING=1 runs them), so the matrix stays an honest record.
declare -A KNOWN_WRONG=(
    [14-idle-churn@debian]="open: kleak calls a false leak in SUnreclaim (~400 KB/min of vmap_area and kmalloc objects of lazily purged vmalloc areas, VMAP_STACK) on this idle kernel with --window 1m, in about half the runs"
)
# `test --ci` (what .ci/run runs, to stay inside its time budget): the first
# kernel runs every scenario, the others only these (the rest print a SKIP).
CI_EXTRA_SCENARIOS=(05-doctor 06-distro-modules 10-run-leak 11-run-clean 12-watch-cache 13-pages
    14-idle-churn 15-env-nonroot 16-env-nodebugfs 17-env-kmemleak-off 21-listen-hostfwd)
# Through ccache: kernels from the same source share most objects (preprocessed
# output, not the .config, is what ccache keys on), so 6.1-slab after 6.1 is
# mostly cache hits.
KMAKE=(make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- CC="ccache aarch64-linux-gnu-gcc")
export CCACHE_DIR=$CACHE/ccache
JOBS=$(nproc)

QEMU_CPU=${KLEAK_LAB_CPU:-cortex-a76}
QEMU_SMP=${KLEAK_LAB_SMP:-2}
QEMU_MEM=${KLEAK_LAB_MEM:-512}
# Kernel command line for every boot; a scenario adds its own (# lab-append:).
BASE_APPEND="console=ttyAMA0 kmemleak=on panic=-1"
DEFAULT_SCENARIO_TIMEOUT=150
RUST_TARGET=aarch64-unknown-linux-musl
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

APT_PKGS=(gcc-aarch64-linux-gnu bc bison flex libssl-dev libelf-dev cpio
          make gcc xz-utils gzip python3 ccache)
QEMU_PKGS=(qemu-system-arm qemu-user-static)

PHASE_TIMES=()

# ---------------------------------------------------------------- helpers

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# phase NAME CMD...: run a step, print and record how long it took.
phase() {
    local name=$1 t0 secs
    shift
    t0=$(now)
    log "==> $name"
    "$@"
    secs=$(since "$t0")
    log "<== $name: ${secs} s"
    PHASE_TIMES+=("$name ${secs}")
}

print_times() {
    local entry
    ((${#PHASE_TIMES[@]})) || return 0
    log "phase times (s):"
    for entry in "${PHASE_TIMES[@]}"; do
        printf 'lab:   %-24s %8s\n' "${entry% *}" "${entry##* }" >&2
    done
}

# as_root, pkg_installed, apt_update, apt_install, qemu_install
# shellcheck source-path=SCRIPTDIR source=lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

# ---------------------------------------------------------------- deps

# deps: host packages, busybox, and what the kernels in KERNEL_SEL need.
deps() {
    local k pkgs=("${APT_PKGS[@]}")
    for k in "${KERNEL_SEL[@]}"; do
        [[ " ${pkgs[*]} " == *" ${KERNEL_PKG[$k]} "* ]] || pkgs+=("${KERNEL_PKG[$k]}")
    done
    log "apt: ${pkgs[*]} ${QEMU_PKGS[*]}"
    apt_install "${pkgs[@]}"
    qemu_install "${QEMU_PKGS[@]}"
    for k in "${KERNEL_SEL[@]}"; do
        [[ -f /usr/src/${KERNEL_PKG[$k]}.tar.xz ]] ||
            die "/usr/src/${KERNEL_PKG[$k]}.tar.xz missing after installing ${KERNEL_PKG[$k]}"
    done

    fetch_deb busybox-static "$CACHE/busybox"
    if ! command -v cargo >/dev/null; then
        log "WARNING: cargo not found: kleak cannot be built (rustup + target $RUST_TARGET)"
    fi
}

# arm64_pkg PKG: PKG:arm64 as apt resolves it (a metapackage to the package it
# depends on), with its version: "NAME VERSION".
arm64_pkg() {
    local name
    ensure_arch arm64
    name=$(apt-cache depends "$1:arm64" 2>/dev/null | awk '$1 == "Depends:" { sub(/:arm64$/, "", $2); print $2; exit }' || true)
    if [[ -z $name ]] && ! apt-cache show "$1:arm64" >/dev/null 2>&1; then
        apt_update
        name=$(apt-cache depends "$1:arm64" | awk '$1 == "Depends:" { sub(/:arm64$/, "", $2); print $2; exit }')
    fi
    name=${name:-$1}
    echo "$name $(apt-cache policy "$name:arm64" | awk '$1 == "Candidate:" { print $2 }')"
}

# fetch_deb PKG DIR: Debian's PKG for arm64, unpacked once into DIR.
fetch_deb() {
    local pkg=$1 dir=$2 deb tmp
    [[ -f $dir/.unpacked ]] && return 0
    ensure_arch arm64
    # apt-get download runs as the unprivileged _apt user: give it a place it may write.
    tmp=$(mktemp -d)
    chmod 0777 "$tmp"
    if ! (cd "$tmp" && apt-get download -qq "$pkg:arm64" 2>/dev/null); then
        apt_update
        (cd "$tmp" && apt-get download -qq "$pkg:arm64") || die "apt-get download $pkg:arm64 failed"
    fi
    deb=$(ls "$tmp"/*.deb)
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    dpkg -x "$deb" "$dir"
    rm -rf "$tmp"
    basename "$deb" >"$dir/.unpacked"
    log "unpacked $(basename "$deb") into $dir"
}

# ---------------------------------------------------------------- kernel

# merged_fragment FILE...: the fragments as one, in order, a later setting of
# an option replacing an earlier one (as merge_config.sh does).
merged_fragment() {
    awk '/^CONFIG_[A-Za-z0-9_]+=/ { o = $0; sub(/=.*/, "", o) }
         /^# CONFIG_[A-Za-z0-9_]+ is not set$/ { o = $2 }
         o != "" { if (!(o in v)) order[n++] = o; v[o] = $0; o = "" }
         END { for (i = 0; i < n; i++) print v[order[i]] }' "$@"
}

# select_kernel NAME: the kernel the following phases work on.
select_kernel() {
    [[ -n ${KERNEL_PKG[$1]:-} ]] || die "no kernel '$1' (the matrix: ${KERNELS[*]})"
    KNAME=$1
    KDIR='' KSRC='' KOUT='' KIMAGE='' KCONFIG='' KDEB='' MODULE_KOS=() MODULES_DONE='' INITRAMFS=''
}

kernel_key() {
    local f
    {
        echo "recipe=$KERNEL_RECIPE"
        [[ -z $KDEB ]] || echo "image=$KDEB"
        dpkg-query -W -f='${Package}=${Version}\n' "${KERNEL_PKG[$KNAME]}"
        aarch64-linux-gnu-gcc --version | head -n1
        for f in ${KERNEL_FRAGMENTS[$KNAME]}; do
            echo "fragment $f"
            cat "$LAB_DIR/kernel/$f"
        done
    } | sha256sum | cut -c1-16
}

# Sets KDIR (cache entry), KSRC (source tree), KOUT (O= build dir: the kernel,
# or for a prebuilt one the tree modules build against), KIMAGE, KCONFIG (the
# kernel's .config) and KDEB (a prebuilt kernel's image package=version).
kernel_paths() {
    [[ -n ${KDIR:-} ]] && return 0
    [[ -n ${KNAME:-} ]] || select_kernel "${KERNELS[0]}"
    local pkg=${KERNEL_PKG[$KNAME]} image version
    pkg_installed "$pkg" || die "$pkg is not installed: run '$0 deps'"
    KDEB=''
    if [[ -n ${KERNEL_IMAGE[$KNAME]:-} ]]; then
        read -r image version < <(arm64_pkg "${KERNEL_IMAGE[$KNAME]}")
        [[ -n $version ]] || die "apt knows no $image:arm64 (for ${KERNEL_IMAGE[$KNAME]})"
        KDEB="$image=$version"
    fi
    KDIR=$CACHE/kernel-$KNAME-$(kernel_key)
    # One source tree per source package version, shared (builds are O=).
    KSRC=$CACHE/src/$pkg-$(dpkg-query -W -f='${Version}' "$pkg")
    KOUT=$KDIR/build
    KIMAGE=$KOUT/arch/arm64/boot/Image
    KCONFIG=$KOUT/.config
    if [[ -n $KDEB ]]; then
        KIMAGE=$KDIR/root/boot/vmlinuz-${image#linux-image-}
        KCONFIG=$KDIR/root/boot/config-${image#linux-image-}
    fi
}

# kernel_has OPTION: true when the selected kernel's config sets OPTION=y.
kernel_has() {
    grep -qx "$1=y" "$KCONFIG"
}

# Every line of the fragment must be in the final .config: olddefconfig
# silently drops options whose dependencies are missing.
verify_config() {
    local frag=$1 config=$2 line opt dropped=()
    while IFS= read -r line; do
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
            grep -qxF -- "$line" "$config" || dropped+=("$line (got: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$config" || echo absent))")
        elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
            opt=${BASH_REMATCH[1]}
            if grep -qE "^${opt}=" "$config"; then
                dropped+=("$line (got: $(grep -E "^${opt}=" "$config"))")
            fi
        fi
    done <"$frag"
    if ((${#dropped[@]})); then
        printf 'lab: ERROR: kernel config option not set as asked: %s\n' "${dropped[@]}" >&2
        die "$frag: ${#dropped[@]} option(s) not set as asked (olddefconfig drops options whose dependencies are missing)"
    fi
}

build_kernel() {
    kernel_paths
    if [[ -f $KDIR/.complete ]]; then
        log "kernel $KNAME: cached $KDIR ($(cat "$KDIR/.complete"))"
        return 0
    fi
    local pkg=${KERNEL_PKG[$KNAME]} frags=() f t0
    log "kernel $KNAME: building into $KDIR (no complete build cached)"
    mkdir -p "$KDIR"
    if [[ ! -f $KSRC.extracted ]]; then
        t0=$(now)
        rm -rf "$KSRC" "$KSRC.tmp"
        mkdir -p "$KSRC.tmp"
        tar -xJf "/usr/src/$pkg.tar.xz" -C "$KSRC.tmp"
        mv "$KSRC.tmp/$pkg" "$KSRC"
        rmdir "$KSRC.tmp"
        touch "$KSRC.extracted"
        log "kernel $KNAME: extracted /usr/src/$pkg.tar.xz into $KSRC in $(since "$t0") s"
    fi
    mkdir -p "$KOUT"
    if [[ -n $KDEB ]]; then
        prepare_prebuilt
        return 0
    fi

    for f in ${KERNEL_FRAGMENTS[$KNAME]}; do
        frags+=("$LAB_DIR/kernel/$f")
    done
    merged_fragment "${frags[@]}" >"$KOUT/fragment.config"
    {
        "${KMAKE[@]}" -s -C "$KSRC" O="$KOUT" tinyconfig
        "$KSRC/scripts/kconfig/merge_config.sh" -m -O "$KOUT" "$KOUT/.config" "${frags[@]}"
        "${KMAKE[@]}" -s -C "$KSRC" O="$KOUT" olddefconfig
    } >"$KOUT/config.log" 2>&1 || {
        cat "$KOUT/config.log" >&2
        die "kernel configuration failed"
    }
    verify_config "$KOUT/fragment.config" "$KCONFIG"
    log "kernel $KNAME: config verified, every line of ${KERNEL_FRAGMENTS[$KNAME]} is set"

    t0=$(now)
    "${KMAKE[@]}" -s -C "$KSRC" O="$KOUT" -j"$JOBS" Image modules >"$KOUT/build.log" 2>&1 || {
        tail -n 40 "$KOUT/build.log" >&2
        die "kernel build failed, full log: $KOUT/build.log"
    }
    [[ -f $KIMAGE ]] || die "kernel build produced no $KIMAGE"
    echo "built $(date -u +%FT%TZ) in $(since "$t0") s with -j$JOBS, Image $(stat -c %s "$KIMAGE") bytes" >"$KDIR/.complete"
    log "kernel $KNAME: $(cat "$KDIR/.complete")"
}

# prepare_prebuilt: Debian's image unpacked (vmlinuz, config, its modules), and
# a tree that out-of-tree modules build against: the source configured with the
# image's config, modules_prepare, the image's Module.symvers (from its headers
# package: CONFIG_MODVERSIONS) and its release string (vermagic). Unsigned
# modules load (MODULE_SIG_FORCE is off), tainting the kernel.
prepare_prebuilt() {
    local image=${KDEB%%=*} headers release t0
    release=${image#linux-image-}
    headers=linux-headers-$release
    fetch_deb "$image" "$KDIR/root"
    [[ -f $KIMAGE && -f $KCONFIG ]] || die "$image has no $KIMAGE or $KCONFIG"
    fetch_deb "$headers" "$KDIR/headers"
    [[ -f $KDIR/headers/usr/src/$headers/Module.symvers ]] || die "$headers has no Module.symvers"
    t0=$(now)
    cp "$KCONFIG" "$KOUT/.config"
    {
        "${KMAKE[@]}" -s -C "$KSRC" O="$KOUT" olddefconfig
        "${KMAKE[@]}" -s -C "$KSRC" O="$KOUT" -j"$JOBS" modules_prepare
    } >"$KOUT/build.log" 2>&1 || {
        tail -n 40 "$KOUT/build.log" >&2
        die "modules_prepare for $image failed, full log: $KOUT/build.log"
    }
    cp "$KDIR/headers/usr/src/$headers/Module.symvers" "$KOUT/"
    echo "$release" >"$KOUT/include/config/kernel.release"
    echo "#define UTS_RELEASE \"$release\"" >"$KOUT/include/generated/utsrelease.h"
    echo "unpacked $(cat "$KDIR/root/.unpacked") $(date -u +%FT%TZ), modules_prepare in $(since "$t0") s, vmlinuz $(stat -c %s "$KIMAGE") bytes" >"$KDIR/.complete"
    log "kernel $KNAME: $(cat "$KDIR/.complete")"
}

# ---------------------------------------------------------------- modules

# Every directory of board-scripts with a Kbuild file is an out-of-tree module
# (leaky/, ...): each is built for every kernel that has a build tree.
module_dirs() {
    local f
    for f in "$LAB_DIR"/*/Kbuild; do
        [[ -f $f ]] && dirname "$f"
    done
}

# build_modules: the lab's modules for the selected kernel, each built in a copy
# under the cache (the repo stays free of build products), plus the kernel's
# kmemleak-test.ko. Sets MODULE_KOS.
build_modules() {
    kernel_paths
    [[ -f $KDIR/.complete ]] || die "no kernel $KNAME built yet: run '$0 kernel --kernel $KNAME'"
    MODULE_KOS=() MODULES_DONE=1
    local dir name work ko
    mkdir -p "$KDIR/modules"
    for dir in $(module_dirs); do
        name=$(basename "$dir")
        work=$KDIR/modules/$name
        rm -rf "$work"
        mkdir -p "$work"
        cp -r "$dir"/. "$work/"
        "${KMAKE[@]}" -s -C "$KOUT" M="$work" modules >"$work/build.log" 2>&1 || {
            cat "$work/build.log" >&2
            die "$name/ failed to build for kernel $KNAME"
        }
        if grep -q 'warning:' "$work/build.log"; then
            cat "$work/build.log" >&2
            die "$name/ built with warnings for kernel $KNAME"
        fi
        for ko in "$work"/*.ko; do
            [[ -f $ko ]] || die "$name/ built no .ko for kernel $KNAME"
            MODULE_KOS+=("$ko")
            log "module $KNAME: $ko ($(stat -c %s "$ko") bytes)"
        done
    done
    for name in ${KERNEL_OWN_MODULES[$KNAME]:-}; do
        own_module "$name"
    done
    ko=$KOUT/samples/kmemleak/kmemleak-test.ko
    if [[ -z $KDEB ]]; then
        [[ -f $ko ]] || die "kernel $KNAME has no $ko (CONFIG_DEBUG_KMEMLEAK_TEST=m / CONFIG_SAMPLE_KMEMLEAK=m?)"
        MODULE_KOS+=("$ko")
    fi
}

# own_module NAME: the prebuilt kernel's NAME.ko and its dependencies (modinfo
# depends, recursively) added to MODULE_KOS, and NAME.deps (the load order).
own_module() {
    local image=${KDEB%%=*} dir order=()
    dir=$KDIR/root/lib/modules/${image#linux-image-}
    own_module_deps() {
        local ko d
        ko=$(find "$dir" -name "$1.ko" -print -quit)
        [[ -n $ko ]] || die "kernel $KNAME has no module $1.ko under $dir"
        for d in $(modinfo -F depends "$ko" | tr , ' '); do
            own_module_deps "$d"
        done
        [[ " ${order[*]} " == *" $1 "* ]] || { order+=("$1"); MODULE_KOS+=("$ko"); }
    }
    own_module_deps "$1"
    printf '%s\n' "${order[@]}" >"$KDIR/modules/$1.deps"
    MODULE_KOS+=("$KDIR/modules/$1.deps")
    log "module $KNAME: its own $1.ko (load order: ${order[*]})"
}

# has_module NAME: true when NAME.ko is built for the selected kernel.
has_module() {
    local ko
    for ko in "${MODULE_KOS[@]}"; do
        [[ $(basename "$ko" .ko) == "$1" ]] && return 0
    done
    return 1
}

# ---------------------------------------------------------------- kleak

# Sets KLEAK_BIN, or leaves it empty when kleak cannot be built and
# KLEAK_LAB_ALLOW_NO_KLEAK=1 (scenarios needing kleak are then skipped).
build_kleak() {
    KLEAK_BIN=${KLEAK_LAB_KLEAK:-}
    if [[ -n $KLEAK_BIN ]]; then
        [[ -f $KLEAK_BIN ]] || die "KLEAK_LAB_KLEAK=$KLEAK_BIN does not exist"
        log "kleak: using $KLEAK_BIN (KLEAK_LAB_KLEAK)"
        return 0
    fi
    local target_dir=${CARGO_TARGET_DIR:-$REPO_DIR/target}
    if [[ -f $REPO_DIR/Cargo.toml ]] &&
        (cd "$REPO_DIR" && cargo build --release --target "$RUST_TARGET"); then
        KLEAK_BIN=$target_dir/$RUST_TARGET/release/kleak
        [[ -f $KLEAK_BIN ]] || die "cargo build succeeded but $KLEAK_BIN is missing"
        log "kleak: $KLEAK_BIN ($(stat -c %s "$KLEAK_BIN") bytes)"
        return 0
    fi
    if [[ ${KLEAK_LAB_ALLOW_NO_KLEAK:-0} == 1 ]]; then
        log "WARNING: kleak did not build: scenarios that need it are skipped (KLEAK_LAB_ALLOW_NO_KLEAK=1)"
        KLEAK_BIN=
        return 0
    fi
    die "kleak did not build: 'cargo build --release --target $RUST_TARGET' failed in $REPO_DIR (KLEAK_LAB_ALLOW_NO_KLEAK=1 runs the busybox-only scenarios)"
}

# ---------------------------------------------------------------- initramfs

# stage SRC DEST MODE: add a regular file to the initramfs spec.
stage() {
    local src=$1 dest=$2 mode=$3 staged=$STAGE$2
    mkdir -p "$(dirname "$staged")"
    cp "$src" "$staged"
    touch -d "@$SOURCE_DATE_EPOCH" "$staged"
    echo "file $dest $staged $mode 0 0" >>"$SPEC"
}

# gen_init_cpio, from the 6.1 source package (every kernel's archive is packed
# by it, the prebuilt one's too): device nodes without root, fixed mtimes.
gen_init_cpio() {
    local pkg=${KERNEL_PKG[${KERNELS[0]}]}
    [[ -x $CACHE/bin/gen_init_cpio ]] && return 0
    pkg_installed "$pkg" || apt_install "$pkg"
    mkdir -p "$CACHE/bin"
    tar -xJf "/usr/src/$pkg.tar.xz" -O "$pkg/usr/gen_init_cpio.c" >"$CACHE/bin/gen_init_cpio.c"
    gcc -O2 -o "$CACHE/bin/gen_init_cpio" "$CACHE/bin/gen_init_cpio.c"
}

build_initramfs() {
    kernel_paths
    local work=$KDIR/initramfs bb=$CACHE/busybox/bin/busybox applet dir s
    [[ -x $bb ]] || die "no busybox in $CACHE/busybox: run '$0 deps'"
    [[ -n $MODULES_DONE ]] || build_modules
    mkdir -p "$work"
    STAGE=$work/root
    SPEC=$work/spec.unsorted
    rm -rf "$STAGE" "$SPEC"
    mkdir -p "$STAGE"

    gen_init_cpio

    {
        for dir in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp /root /etc \
            /lab /lab/scenarios /lab/modules /home /mnt; do
            echo "dir $dir 0755 0 0"
        done
        echo "dir /home/user 0755 1000 1000"
        echo "nod /dev/console 0600 0 0 c 5 1"
        echo "nod /dev/null 0666 0 0 c 1 3"
    } >>"$SPEC"

    stage "$bb" /bin/busybox 0755
    while read -r applet; do
        [[ $applet == bin/busybox ]] && continue
        echo "slink /$applet /bin/busybox 0777 0 0" >>"$SPEC"
    done < <(qemu-aarch64-static "$bb" --list-full | sort -u)

    stage "$LAB_DIR/guest/init" /init 0755
    stage "$LAB_DIR/guest/lib.sh" /lab/lib.sh 0644
    stage "$LAB_DIR/guest/passwd" /etc/passwd 0644
    stage "$LAB_DIR/guest/group" /etc/group 0644
    for s in "$LAB_DIR"/scenarios/*.sh; do
        stage "$s" "/lab/scenarios/$(basename "$s")" 0755
    done
    for s in "${MODULE_KOS[@]}"; do
        stage "$s" "/lab/modules/$(basename "$s")" 0644
    done
    if [[ -n ${KLEAK_BIN:-} ]]; then
        stage "$KLEAK_BIN" /usr/bin/kleak 0755
    fi

    # Sorted spec (dirs before their contents since "/a" < "/a/b"), fixed
    # mtimes, gzip -n: the same inputs give the same archive, byte for byte.
    awk '{ print $2 "\t" $0 }' "$SPEC" | LC_ALL=C sort -u -t "$(printf '\t')" -k1,1 | cut -f2- >"$work/spec"
    "$CACHE/bin/gen_init_cpio" -t "$SOURCE_DATE_EPOCH" "$work/spec" | gzip -9 -n >"$work/initramfs.cpio.gz.tmp"
    mv "$work/initramfs.cpio.gz.tmp" "$work/initramfs.cpio.gz"
    INITRAMFS=$work/initramfs.cpio.gz
    log "initramfs: $INITRAMFS ($(stat -c %s "$INITRAMFS") bytes, sha256 $(sha256sum "$INITRAMFS" | cut -c1-16))"
}

# ---------------------------------------------------------------- scenarios

# meta FILE KEY: value of a "# lab-KEY: value" header line of a scenario.
meta() {
    sed -n "s/^# lab-$2: *//p" "$1" | head -n1
}

all_scenarios() {
    local s
    for s in "$LAB_DIR"/scenarios/*.sh; do
        basename "$s" .sh
    done
}

default_scenarios() {
    local s
    for s in $(all_scenarios); do
        [[ $(meta "$LAB_DIR/scenarios/$s.sh" default) == no ]] || echo "$s"
    done
}

list_scenarios() {
    local s f status
    for s in $(all_scenarios); do
        f=$LAB_DIR/scenarios/$s.sh
        status=default
        [[ $(meta "$f" default) == no ]] && status="opt-in"
        [[ $(meta "$f" parallel) == yes ]] && status="$status, parallel"
        [[ -n ${PENDING[$s]:-} ]] && status="PENDING (${PENDING[$s]})"
        [[ -n $(meta "$f" needs) ]] && status="$status; needs: $(meta "$f" needs)"
        printf '%-22s %s\n    %s\n' "$s" "$status" "$(meta "$f" what)"
    done
}

# QEMU's network for a "# lab-needs: net" scenario (boot_scenario sets it);
# every other boot has none.
QEMU_NET=()
# The guest port a net scenario's kleak listens on, forwarded from the host.
GUEST_PORT=9447

# run_qemu APPEND TIMEOUT LOG: boot the lab kernel non-interactively, console to LOG.
run_qemu() {
    local append=$1 timeout=$2 consolelog=$3 rc=0
    local cmd=(qemu-system-aarch64 -M virt -cpu "$QEMU_CPU" -smp "$QEMU_SMP" -m "$QEMU_MEM"
        -nographic -no-reboot -kernel "$KIMAGE" -initrd "$INITRAMFS"
        -append "$BASE_APPEND $append ${KLEAK_LAB_APPEND:-}" "${QEMU_NET[@]}")
    echo "${cmd[*]}" >"$consolelog.cmd"
    if [[ ${KLEAK_LAB_VERBOSE:-0} == 1 ]]; then
        timeout -k 5 "$timeout" "${cmd[@]}" </dev/null 2>&1 | tee "$consolelog" || rc=${PIPESTATUS[0]}
    else
        timeout -k 5 "$timeout" "${cmd[@]}" </dev/null >"$consolelog" 2>&1 || rc=$?
    fi
    return "$rc"
}

# has_net: the selected kernel has IPv4 and a virtio-net NIC on virtio-mmio
# (-M virt's transport), each built in or as a module the initramfs carries.
has_net() {
    kernel_has CONFIG_INET || return 1
    kernel_has CONFIG_VIRTIO_NET || has_module virtio_net || return 1
    kernel_has CONFIG_VIRTIO_MMIO || has_module virtio_mmio
}

# free_port: a TCP port free on the host's 127.0.0.1 (the kernel's pick).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# skip_scenario NAME: true (and prints SKIP) when NAME is not to be run on the
# selected kernel. "# lab-needs:" words: kleak (the binary), kmemleak (the
# kernel has CONFIG_DEBUG_KMEMLEAK), net (IPv4 + virtio-net: the boot gets QEMU's
# user network, see boot_scenario), prometheus (the host's binary), any other
# word a module (leaky: leaky.ko).
# "# lab-kernels: K..." limits it to those kernels.
skip_scenario() {
    local name=$1 file=$LAB_DIR/scenarios/$1.sh need why=''
    if [[ -n ${PENDING[$name]:-} && ${KLEAK_LAB_RUN_PENDING:-0} != 1 ]]; then
        why="pending, needs ${PENDING[$name]}"
    elif [[ -n ${KNOWN_WRONG[$name@$KNAME]:-} && ${KLEAK_LAB_RUN_PENDING:-0} != 1 ]]; then
        why=${KNOWN_WRONG[$name@$KNAME]}
    elif [[ -n $(meta "$file" kernels) && " $(meta "$file" kernels) " != *" $KNAME "* ]]; then
        why="runs on kernel $(meta "$file" kernels) only (# lab-kernels:)"
    elif ((CI_SET)) && [[ $KNAME != "${KERNELS[0]}" && " ${CI_EXTRA_SCENARIOS[*]} " != *" $name "* ]]; then
        why="not in the CI set for kernels other than ${KERNELS[0]} (test --ci)"
    fi
    for need in $(meta "$file" needs); do
        [[ -n $why ]] && break
        case $need in
        kleak) [[ -n ${KLEAK_BIN:-} ]] || why="no kleak binary (cargo build failed, KLEAK_LAB_ALLOW_NO_KLEAK=1)" ;;
        kmemleak) kernel_has CONFIG_DEBUG_KMEMLEAK || why="needs kmemleak: kernel $KNAME is built without CONFIG_DEBUG_KMEMLEAK" ;;
        net) has_net || why="needs net: kernel $KNAME has no IPv4 and virtio-net (the lab's tinyconfig kernels are built without CONFIG_NET)" ;;
        prometheus) command -v prometheus >/dev/null || why="needs Debian's prometheus on the host (apt-get install prometheus)" ;;
        *) has_module "$need" || why="needs $need.ko, which kernel $KNAME does not have" ;;
        esac
    done
    [[ -z $why ]] && return 1
    result "$name" SKIP "$why"
}

# result NAME PASS|FAIL|SKIP [WHY]: record and print one cell of the matrix.
result() {
    local name=$1 res=$2 why=${3:-}
    RESULT["$KNAME/$name"]=$res
    case $res in
    PASS) PASSED+=("$name [$KNAME]"); printf 'PASS %s [%s] (%s s)\n' "$name" "$KNAME" "$why" ;;
    SKIP) SKIPPED+=("$name [$KNAME]"); printf 'SKIP %s [%s]: %s\n' "$name" "$KNAME" "$why" ;;
    FAIL) FAILED+=("$name [$KNAME]"); printf 'FAIL %s [%s]: %s\n' "$name" "$KNAME" "$why" ;;
    esac
    return 0
}

scenario_timeout() {
    local timeout
    timeout=$(meta "$LAB_DIR/scenarios/$1.sh" timeout)
    echo "${timeout:-$DEFAULT_SCENARIO_TIMEOUT}"
}

# boot_scenario NAME: one QEMU boot for it. Leaves KRUN/NAME.console.log, and
# NAME.qrc and NAME.secs (QEMU's exit code, the boot's seconds): it also runs in
# the background, where it cannot set variables.
#
# A "# lab-needs: net" scenario boots with QEMU's user network (restrict=on: the
# guest reaches nothing outside; hostfwd still comes in): a virtio-net NIC
# (the guest is 10.0.2.15) and its GUEST_PORT forwarded from a free port of the
# host's 127.0.0.1 (in NAME.hostport). Its NAME.host, if any, runs on the host
# during the boot (LAB_HOSTPORT, LAB_HOST_OUT=NAME.host.json for the checker),
# bounded by the scenario's timeout and stopped when QEMU has ended.
boot_scenario() {
    local name=$1 append qrc=0 t0 hostport host=$LAB_DIR/scenarios/$1.host hpid='' timeout
    local QEMU_NET=()
    append="kleak_lab=$name $(meta "$LAB_DIR/scenarios/$name.sh" append)"
    timeout=$(scenario_timeout "$name")
    rm -f "$KRUN/$name.hostport" "$KRUN/$name.host.json" "$KRUN/$name.host.log"
    if [[ " $(meta "$LAB_DIR/scenarios/$name.sh" needs) " == *" net "* ]]; then
        hostport=$(free_port)
        echo "$hostport" >"$KRUN/$name.hostport"
        QEMU_NET=(-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$hostport-:$GUEST_PORT"
            -device "virtio-net-device,netdev=n0")
        if [[ -f $host ]]; then
            LAB_HOSTPORT=$hostport LAB_HOST_OUT=$KRUN/$name.host.json \
                PYTHONPATH=$LAB_DIR/lib${PYTHONPATH:+:$PYTHONPATH} \
                timeout -k 5 "$timeout" python3 "$host" >"$KRUN/$name.host.log" 2>&1 &
            hpid=$!
        fi
    fi
    t0=$(now)
    run_qemu "$append" "$timeout" "$KRUN/$name.console.log" || qrc=$?
    echo "$qrc" >"$KRUN/$name.qrc"
    since "$t0" >"$KRUN/$name.secs"
    if [[ -n $hpid ]]; then
        # The guest is gone: the host side has nothing more to wait for.
        kill -TERM "$hpid" 2>/dev/null || true
        wait "$hpid" || true
    fi
}

# check_scenario NAME: after boot_scenario, cut the scenario's section out of the
# console log and run its host-side checker (a scenario without one fails: a
# guest that exits 0 proves nothing). Records PASS or FAIL.
check_scenario() {
    local name=$1 check=$LAB_DIR/scenarios/$1.check
    local consolelog=$KRUN/$1.console.log out=$KRUN/$1.out rc qrc secs msg runner=bash
    qrc=$(cat "$KRUN/$name.qrc")
    secs=$(cat "$KRUN/$name.secs")
    BOOT_TIMES+=("${name}[$KNAME] $secs")

    # extract: exit 0 = section found and finished; prints the guest rc.
    if ! rc=$(python3 "$LAB_DIR/lib/labparse.py" extract "$consolelog" "$name" "$out" 2>"$out.why"); then
        msg=$(cat "$out.why")
        ((qrc == 124 || qrc == 137)) && msg="$msg; QEMU killed after $(scenario_timeout "$name") s (# lab-timeout)"
        fail_scenario "$name" "$msg" "$consolelog" "$out" "$consolelog"
        return 0
    fi
    if [[ $rc != 0 ]]; then
        fail_scenario "$name" "guest script exited rc=$rc" "$consolelog" "$out" "$out"
        return 0
    fi
    if [[ ! -f $check ]]; then
        fail_scenario "$name" "no checker: scenarios/$name.check is missing" "$consolelog" "$out"
        return 0
    fi
    head -n1 "$check" | grep -q python && runner=python3
    if ! msg=$(LAB_SCENARIO=$name LAB_LIB=$LAB_DIR/lib LAB_REPO=$REPO_DIR \
        LAB_CONSOLE_LOG=$consolelog LAB_RUN_DIR=$KRUN LAB_KERNEL=$KNAME LAB_KERNEL_CONFIG=$KCONFIG \
        PYTHONPATH=$LAB_DIR/lib${PYTHONPATH:+:$PYTHONPATH} \
        "$runner" "$check" "$out" 2>&1); then
        fail_scenario "$name" "check failed:"$'\n'"$msg" "$consolelog" "$out"
        return 0
    fi
    [[ -n $msg ]] && printf '%s\n' "$msg" | sed 's/^/     /'
    result "$name" PASS "$secs"
}

# fail_scenario NAME MESSAGE CONSOLE_LOG OUT [TAIL_FILE]: report a failure,
# with the last lines of TAIL_FILE when the message alone does not explain it.
fail_scenario() {
    local name=$1 msg=$2 consolelog=$3 out=$4 tail_file=${5:-}
    result "$name" FAIL "$msg"
    if [[ -n $tail_file && -s $tail_file ]]; then
        printf '     --- last lines of %s:\n' "$tail_file"
        # base64 file captures are not worth reading: keep their marker lines only
        awk '/^@@KLEAK file /{ print; skip = 1; next } /^@@KLEAK endfile /{ skip = 0 } !skip' "$tail_file" |
            tail -n 25 | sed 's/^/     | /'
    fi
    [[ -s $out ]] && printf '     scenario output: %s\n' "$out"
    printf '     console log: %s\n' "$consolelog"
}

new_run_dir() {
    local old
    RUN_DIR=$CACHE/runs/$(date +%Y%m%d-%H%M%S)-$$
    mkdir -p "$RUN_DIR"
    # keep the 10 most recent runs
    while read -r old; do
        rm -rf "$old"
    done < <(find "$CACHE/runs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -10)
}

# prepare_kernel NAME: build (or find cached) everything a boot of NAME needs,
# and remember it for use_kernel.
declare -A K_IMAGE K_INITRAMFS K_CONFIG K_MODULES K_OUT
prepare_kernel() {
    select_kernel "$1"
    phase "kernel $KNAME" build_kernel
    phase "modules $KNAME" build_modules
    phase "initramfs $KNAME" build_initramfs
    K_IMAGE[$KNAME]=$KIMAGE K_INITRAMFS[$KNAME]=$INITRAMFS K_CONFIG[$KNAME]=$KCONFIG
    K_MODULES[$KNAME]="${MODULE_KOS[*]}" K_OUT[$KNAME]=$KOUT
}

# use_kernel NAME: after prepare_kernel NAME, boot and check on it.
use_kernel() {
    KNAME=$1 KIMAGE=${K_IMAGE[$1]} INITRAMFS=${K_INITRAMFS[$1]} KCONFIG=${K_CONFIG[$1]} KOUT=${K_OUT[$1]}
    read -r -a MODULE_KOS <<<"${K_MODULES[$1]}"
    KRUN=$RUN_DIR/$KNAME
    mkdir -p "$KRUN"
}

# print_matrix NAME...: the results, one row per scenario, one column per kernel.
print_matrix() {
    local s k row
    printf '%-22s' scenario
    printf ' %-9s' "${KERNEL_SEL[@]}"
    printf '\n'
    for s in "$@"; do
        row=$(printf '%-22s' "$s")
        for k in "${KERNEL_SEL[@]}"; do
            row+=$(printf ' %-9s' "${RESULT[$k/$s]:-?}")
        done
        printf '%s\n' "$row"
    done
}

# start_background KERNEL NAME...: boot the "# lab-parallel: yes" ones of NAME
# on KERNEL in the background (adds to bg and bg_pids).
start_background() {
    local k=$1 s started=()
    shift
    use_kernel "$k"
    for s in "$@"; do
        if [[ $(meta "$LAB_DIR/scenarios/$s.sh" parallel) == yes ]] && ! skip_scenario "$s"; then
            KLEAK_LAB_VERBOSE=0 boot_scenario "$s" &
            bg+=("$k/$s")
            bg_pids+=($!)
            started+=("$s")
        fi
    done
    ((${#started[@]} == 0)) || log "kernel $k: booted in the background: ${started[*]}"
}

cmd_test() {
    local names=() s k t0
    t0=$(now)
    CI_SET=0
    for s in "$@"; do
        if [[ $s == --ci ]]; then CI_SET=1; else names+=("$s"); fi
    done
    for s in "${names[@]}"; do
        [[ -f $LAB_DIR/scenarios/$s.sh ]] || die "no scenario '$s' (see '$0 list')"
    done
    ((${#names[@]})) || mapfile -t names < <(default_scenarios)

    phase deps deps
    phase kleak build_kleak
    for k in "${KERNEL_SEL[@]}"; do
        prepare_kernel "$k"
    done
    new_run_dir

    PASSED=() FAILED=() SKIPPED=() BOOT_TIMES=()
    declare -g -A RESULT=()
    local boots_t0 bg=() bg_pids=() i
    boots_t0=$(now)
    # Kernel after kernel. "# lab-parallel: yes" scenarios wait on the clock,
    # not the CPU (a watch over minutes): they boot in the background one
    # kernel ahead (the first two kernels' at the start, the next one's when a
    # kernel's turn comes) while the others run one by one, and are checked at
    # the end.
    local n=${#KERNEL_SEL[@]}
    for ((i = 0; i < n; i++)); do
        ((i == 0)) && start_background "${KERNEL_SEL[0]}" "${names[@]}"
        ((i + 1 < n)) && start_background "${KERNEL_SEL[i + 1]}" "${names[@]}"
        use_kernel "${KERNEL_SEL[i]}"
        for s in "${names[@]}"; do
            [[ $(meta "$LAB_DIR/scenarios/$s.sh" parallel) == yes ]] && continue
            skip_scenario "$s" && continue
            boot_scenario "$s"
            check_scenario "$s"
        done
    done
    for i in "${!bg[@]}"; do
        wait "${bg_pids[$i]}" || true
        use_kernel "${bg[$i]%%/*}"
        check_scenario "${bg[$i]#*/}"
    done
    PHASE_TIMES+=("scenarios $(since "$boots_t0")")
    if ((${#BOOT_TIMES[@]})); then
        log "scenario boot times (s, QEMU start to poweroff): ${BOOT_TIMES[*]}"
    fi
    PHASE_TIMES+=("total $(since "$t0")")
    print_times
    log "console logs and outputs: $RUN_DIR"
    print_matrix "${names[@]}"
    printf 'lab: %d passed, %d failed, %d skipped (kernels: %s)\n' \
        "${#PASSED[@]}" "${#FAILED[@]}" "${#SKIPPED[@]}" "${KERNEL_SEL[*]}"
    if ((${#FAILED[@]})); then
        die "lab test FAILED: ${FAILED[*]} (logs in $RUN_DIR)"
    fi
}

cmd_boot() {
    local append="kleak_lab=${1:-shell}"
    (($#)) && append="kleak_lab=$(IFS=,; echo "$*")"
    build_kernel
    build_modules
    build_kleak
    build_initramfs
    log "booting; the guest shell powers off on exit; Ctrl-A x quits QEMU"
    exec qemu-system-aarch64 -M virt -cpu "$QEMU_CPU" -smp "$QEMU_SMP" -m "$QEMU_MEM" \
        -nographic -no-reboot -kernel "$KIMAGE" -initrd "$INITRAMFS" \
        -append "$BASE_APPEND $append ${KLEAK_LAB_APPEND:-}"
}

# wait_console FILE PATTERN SECS: until a line of FILE matches PATTERN.
wait_console() {
    local tries
    for ((tries = $3 * 10; tries > 0; tries--)); do
        grep -aq "$2" "$1" && return 0
        sleep 0.1
    done
    return 1
}

# deploy-test: boot the lab with its serial console on a pty, delete kleak in
# the guest, type it back in with deploy.sh --serial --tty, run it.
cmd_deploy_test() {
    local pts='' qpid tries console
    build_kernel
    build_modules
    build_kleak
    [[ -n ${KLEAK_BIN:-} ]] || die "deploy-test needs a kleak binary"
    build_initramfs
    new_run_dir
    console=$RUN_DIR/deploy.console.log
    qemu-system-aarch64 -M virt -cpu "$QEMU_CPU" -smp "$QEMU_SMP" -m "$QEMU_MEM" \
        -display none -monitor none -serial pty -no-reboot -kernel "$KIMAGE" \
        -initrd "$INITRAMFS" -append "$BASE_APPEND kleak_lab=shell" >"$RUN_DIR/qemu.out" 2>&1 &
    qpid=$!
    for ((tries = 50; tries > 0; tries--)); do
        pts=$(grep -o '/dev/pts/[0-9]*' "$RUN_DIR/qemu.out" || true)
        [[ -n $pts ]] && break
        sleep 0.1
    done
    [[ -n $pts ]] || { kill "$qpid"; die "QEMU gave no pty: $(cat "$RUN_DIR/qemu.out")"; }
    stty -F "$pts" raw -echo
    cat "$pts" >"$console" 2>/dev/null &
    wait_console "$console" '^kleak lab shell' 20 || die "guest shell did not start; console: $console"
    sleep 1
    # shellcheck disable=SC2016 # expanded by the guest's shell
    printf 'rm /usr/bin/kleak; echo REMOVED-$((40 + 2))\r' >"$pts"
    wait_console "$console" '^REMOVED-42' 20 || die "guest did not answer; console: $console"
    bash "$LAB_DIR/deploy.sh" --serial --tty "$pts" --gzip --dest /usr/bin/kleak \
        --delay "${KLEAK_LAB_DEPLOY_DELAY:-0.1}" --bin "$KLEAK_BIN"
    wait_console "$console" '^KLEAK-DEPLOY-' 120 || true
    printf 'kleak --version; poweroff -f\r' >"$pts"
    wait "$qpid" || true
    if grep -aq '^KLEAK-DEPLOY-OK' "$console" && grep -aq '^kleak [0-9]' "$console"; then
        log "deploy-test: PASS: kleak typed in over the serial console, checksum OK, it runs; console: $console"
    else
        die "deploy-test: FAIL: no KLEAK-DEPLOY-OK and kleak --version on the console: $console"
    fi
}

# check-config CONFIG [FRAGMENT...]: did every line of the fragments survive in
# CONFIG? Without arguments: Debian's full arm64 config (of the prebuilt kernel
# in the matrix) merged with kernel/board.config in the 6.1 source tree, then
# olddefconfig, as a board kernel would be configured.
cmd_check_config() {
    local config=${1:-} frags=() src work f
    if [[ -n $config ]]; then
        [[ -f $config ]] || die "usage: $0 check-config [KERNEL_.CONFIG [FRAGMENT...]] (default kernel/lab.config)"
        shift
        for f in "${@:-$LAB_DIR/kernel/lab.config}"; do frags+=("$f"); done
        merged_fragment "${frags[@]}" >"$CACHE/check-config.fragment"
        verify_config "$CACHE/check-config.fragment" "$config"
        log "every line of ${frags[*]} is set in $config"
        return 0
    fi
    select_kernel debian
    build_kernel
    local base=$KCONFIG
    select_kernel "${KERNELS[0]}"
    kernel_paths
    [[ -f $KSRC.extracted ]] || build_kernel
    src=$KSRC work=$CACHE/check-config
    rm -rf "$work"
    mkdir -p "$work"
    cp "$base" "$work/.config"
    {
        "$src/scripts/kconfig/merge_config.sh" -m -O "$work" "$work/.config" "$LAB_DIR/kernel/board.config"
        "${KMAKE[@]}" -s -C "$src" O="$work" olddefconfig
    } >"$work/config.log" 2>&1 || { cat "$work/config.log" >&2; die "configuring Debian's config + board.config failed"; }
    log "check-config: $(basename "$base") + kernel/board.config, olddefconfig in $src"
    merged_fragment "$LAB_DIR/kernel/board.config" >"$work/fragment.config"
    verify_config "$work/fragment.config" "$work/.config"
    log "every line of kernel/board.config survives olddefconfig on Debian's $(basename "$base")"
}

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

main() {
    local sub=${1:-} args=() k
    (($#)) && shift
    # --kernel NAME (repeatable) anywhere after the subcommand: those columns of
    # the matrix. Default: all of them for test, the first (6.1) otherwise.
    KERNEL_SEL=()
    while (($#)); do
        case $1 in
        --kernel)
            (($# >= 2)) || die "--kernel needs a NAME (${KERNELS[*]})"
            [[ -n ${KERNEL_PKG[$2]:-} ]] || die "no kernel '$2' (the matrix: ${KERNELS[*]})"
            KERNEL_SEL+=("$2")
            shift 2
            ;;
        --kernel=*)
            k=${1#--kernel=}
            [[ -n ${KERNEL_PKG[$k]:-} ]] || die "no kernel '$k' (the matrix: ${KERNELS[*]})"
            KERNEL_SEL+=("$k")
            shift
            ;;
        *) args+=("$1"); shift ;;
        esac
    done
    if ((${#KERNEL_SEL[@]} == 0)); then
        if [[ $sub == test ]]; then KERNEL_SEL=("${KERNELS[@]}"); else KERNEL_SEL=("${KERNELS[0]}"); fi
    fi
    set -- "${args[@]}"
    case $sub in
    test | deps | kernel | module | kleak | initramfs | boot | deploy-test | check-config | list) ;;
    -h | --help | help | "") usage ;;
    *) usage ;;
    esac
    if [[ $sub != test ]]; then
        ((${#KERNEL_SEL[@]} == 1)) || die "$sub works on one kernel: give one --kernel"
        select_kernel "${KERNEL_SEL[0]}"
    fi
    case $sub in
    deps) phase deps deps ;;
    kernel) phase "kernel $KNAME" build_kernel ;;
    module) phase "module $KNAME" build_modules ;;
    kleak) phase kleak build_kleak ;;
    initramfs)
        build_modules
        build_kleak
        phase "initramfs $KNAME" build_initramfs
        ;;
    boot) cmd_boot "$@" ;;
    deploy-test) phase deploy-test cmd_deploy_test ;;
    check-config) cmd_check_config "$@" ;;
    test) cmd_test "$@" ;;
    list) list_scenarios ;;
    esac
    [[ $sub == test ]] || print_times
}

main "$@"; exit
