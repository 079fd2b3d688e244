#!/usr/bin/env bash
# kleak board lab: a real arm64 kernel with kmemleak under QEMU (TCG), kleak on
# its serial console, scenarios checked on the host.
#
#   board-scripts/lab.sh test [NAME...]   everything, end to end (the one command)
#   board-scripts/lab.sh deps|kernel|module|kleak|initramfs
#   board-scripts/lab.sh boot [NAME...]   interactive serial console (Ctrl-A x quits)
#   board-scripts/lab.sh list             scenarios, pending ones, opt-in ones
#   board-scripts/lab.sh check-config .config [FRAGMENT]
#                                         did every line of a fragment survive?
#   board-scripts/lab.sh deploy-test      deploy.sh --serial --tty into the lab guest
#
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
KERNEL_RECIPE=1
LINUX_PKG=linux-source-6.1
LINUX_TARBALL=/usr/src/$LINUX_PKG.tar.xz
KMAKE=(make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
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
          linux-source make gcc xz-utils gzip python3)
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

deps() {
    log "apt: ${APT_PKGS[*]} ${QEMU_PKGS[*]}"
    apt_install "${APT_PKGS[@]}"
    qemu_install "${QEMU_PKGS[@]}"
    [[ -f $LINUX_TARBALL ]] || die "$LINUX_TARBALL missing after installing linux-source"

    fetch_busybox
    if ! command -v cargo >/dev/null; then
        log "WARNING: cargo not found: kleak cannot be built (rustup + target $RUST_TARGET)"
    fi
}

# Debian's busybox-static for arm64, unpacked once into the cache.
fetch_busybox() {
    local dir=$CACHE/busybox deb tmp
    [[ -x $dir/bin/busybox ]] && return 0
    mkdir -p "$CACHE/debs"
    ensure_arch arm64
    # apt-get download runs as the unprivileged _apt user: give it a place it may write.
    tmp=$(mktemp -d)
    chmod 0777 "$tmp"
    if ! (cd "$tmp" && apt-get download -qq busybox-static:arm64 2>/dev/null); then
        apt_update
        (cd "$tmp" && apt-get download -qq busybox-static:arm64) ||
            die "apt-get download busybox-static:arm64 failed"
    fi
    deb=$(ls "$tmp"/busybox-static_*_arm64.deb)
    mv "$deb" "$CACHE/debs/"
    rmdir "$tmp"
    deb=$CACHE/debs/$(basename "$deb")
    rm -rf "$dir.tmp"
    dpkg -x "$deb" "$dir.tmp"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    log "busybox: $(basename "$deb")"
}

# ---------------------------------------------------------------- kernel

kernel_key() {
    {
        echo "recipe=$KERNEL_RECIPE"
        dpkg-query -W -f='${Package}=${Version}\n' "$LINUX_PKG"
        aarch64-linux-gnu-gcc --version | head -n1
        cat "$LAB_DIR/kernel/lab.config"
    } | sha256sum | cut -c1-16
}

# Sets KDIR (cache entry), KSRC (source tree), KOUT (O= build dir), KIMAGE.
kernel_paths() {
    [[ -n ${KDIR:-} ]] && return 0
    pkg_installed "$LINUX_PKG" || die "$LINUX_PKG is not installed: run '$0 deps'"
    KDIR=$CACHE/kernel-$(kernel_key)
    KSRC=$KDIR/src
    KOUT=$KDIR/build
    KIMAGE=$KOUT/arch/arm64/boot/Image
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
        log "kernel: cached $KDIR ($(cat "$KDIR/.complete"))"
        return 0
    fi
    log "kernel: building into $KDIR (no complete build cached)"
    mkdir -p "$KDIR"
    if [[ ! -f $KDIR/.extracted ]]; then
        local t0
        t0=$(now)
        rm -rf "$KSRC" "$KDIR/extract"
        mkdir -p "$KDIR/extract"
        tar -xJf "$LINUX_TARBALL" -C "$KDIR/extract"
        mv "$KDIR/extract/$LINUX_PKG" "$KSRC"
        rmdir "$KDIR/extract"
        touch "$KDIR/.extracted"
        log "kernel: extracted $LINUX_TARBALL in $(since "$t0") s"
    fi

    local frag=$LAB_DIR/kernel/lab.config t0
    mkdir -p "$KOUT"
    {
        "${KMAKE[@]}" -s -C "$KSRC" O="$KOUT" tinyconfig
        "$KSRC/scripts/kconfig/merge_config.sh" -m -O "$KOUT" "$KOUT/.config" "$frag"
        "${KMAKE[@]}" -s -C "$KSRC" O="$KOUT" olddefconfig
    } >"$KOUT/config.log" 2>&1 || {
        cat "$KOUT/config.log" >&2
        die "kernel configuration failed"
    }
    verify_config "$frag" "$KOUT/.config"
    log "kernel: config verified, every line of kernel/lab.config is set"

    t0=$(now)
    "${KMAKE[@]}" -s -C "$KSRC" O="$KOUT" -j"$JOBS" Image modules >"$KOUT/build.log" 2>&1 || {
        tail -n 40 "$KOUT/build.log" >&2
        die "kernel build failed, full log: $KOUT/build.log"
    }
    [[ -f $KIMAGE ]] || die "kernel build produced no $KIMAGE"
    echo "built $(date -u +%FT%TZ) in $(since "$t0") s with -j$JOBS, Image $(stat -c %s "$KIMAGE") bytes" >"$KDIR/.complete"
    log "kernel: $(cat "$KDIR/.complete")"
}

# ---------------------------------------------------------------- modules

# Our leaky.ko is built out of tree in a copy under the cache, so the repo's
# board-scripts/leaky/ stays free of build products.
build_module() {
    kernel_paths
    [[ -f $KDIR/.complete ]] || die "no kernel built for this config yet: run '$0 kernel'"
    local work=$KDIR/leaky
    mkdir -p "$work"
    cp "$LAB_DIR"/leaky/{leaky.c,Kbuild,Makefile} "$work/"
    "${KMAKE[@]}" -s -C "$KOUT" M="$work" modules >"$work/build.log" 2>&1 || {
        cat "$work/build.log" >&2
        die "leaky.ko failed to build"
    }
    if grep -q 'warning:' "$work/build.log"; then
        cat "$work/build.log" >&2
        die "leaky.ko built with warnings"
    fi
    LEAKY_KO=$work/leaky.ko
    # dwbuf.ko: the second test module (kmemleak attribution, issue 14).
    local dw=$KDIR/dwbuf
    mkdir -p "$dw"
    cp "$LAB_DIR"/modules/dwbuf/{dwbuf.c,Kbuild,Makefile} "$dw/"
    "${KMAKE[@]}" -s -C "$KOUT" M="$dw" modules >"$dw/build.log" 2>&1 || {
        cat "$dw/build.log" >&2
        die "dwbuf.ko failed to build"
    }
    if grep -q 'warning:' "$dw/build.log"; then
        cat "$dw/build.log" >&2
        die "dwbuf.ko built with warnings"
    fi
    DWBUF_KO=$dw/dwbuf.ko
    KMEMLEAK_TEST_KO=$KOUT/samples/kmemleak/kmemleak-test.ko
    [[ -f $KMEMLEAK_TEST_KO ]] || die "kernel build has no $KMEMLEAK_TEST_KO (CONFIG_DEBUG_KMEMLEAK_TEST=m?)"
    log "module: $LEAKY_KO ($(stat -c %s "$LEAKY_KO") bytes)"
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

build_initramfs() {
    kernel_paths
    local work=$KDIR/initramfs bb=$CACHE/busybox/bin/busybox applet dir s
    [[ -x $bb ]] || die "no busybox in $CACHE/busybox: run '$0 deps'"
    [[ -n ${LEAKY_KO:-} ]] || build_module
    mkdir -p "$work"
    STAGE=$work/root
    SPEC=$work/spec.unsorted
    rm -rf "$STAGE" "$SPEC"
    mkdir -p "$STAGE"

    # gen_init_cpio from the kernel source: device nodes without root, fixed mtimes.
    if [[ ! -x $work/gen_init_cpio ]]; then
        gcc -O2 -o "$work/gen_init_cpio" "$KSRC/usr/gen_init_cpio.c"
    fi

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
    stage "$LEAKY_KO" /lab/modules/leaky.ko 0644
    stage "$DWBUF_KO" /lab/modules/dwbuf.ko 0644
    stage "$KMEMLEAK_TEST_KO" /lab/modules/kmemleak-test.ko 0644
    if [[ -n ${KLEAK_BIN:-} ]]; then
        stage "$KLEAK_BIN" /usr/bin/kleak 0755
    fi

    # Sorted spec (dirs before their contents since "/a" < "/a/b"), fixed
    # mtimes, gzip -n: the same inputs give the same archive, byte for byte.
    awk '{ print $2 "\t" $0 }' "$SPEC" | LC_ALL=C sort -u -t "$(printf '\t')" -k1,1 | cut -f2- >"$work/spec"
    "$work/gen_init_cpio" -t "$SOURCE_DATE_EPOCH" "$work/spec" | gzip -9 -n >"$work/initramfs.cpio.gz.tmp"
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
        printf '%-22s %s\n    %s\n' "$s" "$status" "$(meta "$f" what)"
    done
}

# run_qemu APPEND TIMEOUT LOG: boot the lab kernel non-interactively, console to LOG.
run_qemu() {
    local append=$1 timeout=$2 consolelog=$3 rc=0
    local cmd=(qemu-system-aarch64 -M virt -cpu "$QEMU_CPU" -smp "$QEMU_SMP" -m "$QEMU_MEM"
        -nographic -no-reboot -kernel "$KIMAGE" -initrd "$INITRAMFS"
        -append "$BASE_APPEND $append ${KLEAK_LAB_APPEND:-}")
    echo "${cmd[*]}" >"$consolelog.cmd"
    if [[ ${KLEAK_LAB_VERBOSE:-0} == 1 ]]; then
        timeout -k 5 "$timeout" "${cmd[@]}" </dev/null 2>&1 | tee "$consolelog" || rc=${PIPESTATUS[0]}
    else
        timeout -k 5 "$timeout" "${cmd[@]}" </dev/null >"$consolelog" 2>&1 || rc=$?
    fi
    return "$rc"
}

# skip_scenario NAME: true (and prints SKIP) when NAME is not to be run.
skip_scenario() {
    local name=$1 file=$LAB_DIR/scenarios/$1.sh
    if [[ -n ${PENDING[$name]:-} && ${KLEAK_LAB_RUN_PENDING:-0} != 1 ]]; then
        printf 'SKIP %s: pending, needs %s\n' "$name" "${PENDING[$name]}"
        SKIPPED+=("$name")
        return 0
    fi
    if [[ $(meta "$file" needs) == *kleak* && -z ${KLEAK_BIN:-} ]]; then
        printf 'SKIP %s: no kleak binary (cargo build failed, KLEAK_LAB_ALLOW_NO_KLEAK=1)\n' "$name"
        SKIPPED+=("$name")
        return 0
    fi
    return 1
}

scenario_timeout() {
    local timeout
    timeout=$(meta "$LAB_DIR/scenarios/$1.sh" timeout)
    echo "${timeout:-$DEFAULT_SCENARIO_TIMEOUT}"
}

# boot_scenario NAME: one QEMU boot for it. Leaves RUN_DIR/NAME.console.log, and
# NAME.qrc and NAME.secs (QEMU's exit code, the boot's seconds): it also runs in
# the background, where it cannot set variables.
boot_scenario() {
    local name=$1 append qrc=0 t0
    append="kleak_lab=$name $(meta "$LAB_DIR/scenarios/$name.sh" append)"
    t0=$(now)
    run_qemu "$append" "$(scenario_timeout "$name")" "$RUN_DIR/$name.console.log" || qrc=$?
    echo "$qrc" >"$RUN_DIR/$name.qrc"
    since "$t0" >"$RUN_DIR/$name.secs"
}

# check_scenario NAME: after boot_scenario, cut the scenario's section out of the
# console log and run its host-side checker. Prints PASS/FAIL; returns 1 on FAIL.
check_scenario() {
    local name=$1 check=$LAB_DIR/scenarios/$1.check
    local consolelog=$RUN_DIR/$1.console.log out=$RUN_DIR/$1.out rc qrc secs msg
    qrc=$(cat "$RUN_DIR/$name.qrc")
    secs=$(cat "$RUN_DIR/$name.secs")
    BOOT_TIMES+=("$name $secs")

    # extract: exit 0 = section found and finished; prints the guest rc.
    if ! rc=$(python3 "$LAB_DIR/lib/labparse.py" extract "$consolelog" "$name" "$out" 2>"$out.why"); then
        msg=$(cat "$out.why")
        ((qrc == 124 || qrc == 137)) && msg="$msg; QEMU killed after $(scenario_timeout "$name") s (# lab-timeout)"
        fail_scenario "$name" "$msg" "$consolelog" "$out" "$consolelog"
        return 1
    fi
    if [[ $rc != 0 ]]; then
        fail_scenario "$name" "guest script exited rc=$rc" "$consolelog" "$out" "$out"
        return 1
    fi
    if [[ -f $check ]]; then
        local runner=bash
        head -n1 "$check" | grep -q python && runner=python3
        if ! msg=$(LAB_SCENARIO=$name LAB_LIB=$LAB_DIR/lib LAB_REPO=$REPO_DIR \
            LAB_CONSOLE_LOG=$consolelog LAB_RUN_DIR=$RUN_DIR \
            PYTHONPATH=$LAB_DIR/lib${PYTHONPATH:+:$PYTHONPATH} \
            "$runner" "$check" "$out" 2>&1); then
            fail_scenario "$name" "check failed:"$'\n'"$msg" "$consolelog" "$out"
            return 1
        fi
        [[ -n $msg ]] && printf '%s\n' "$msg" | sed 's/^/     /'
    fi
    printf 'PASS %s (%s s)\n' "$name" "$secs"
    PASSED+=("$name")
}

# run_scenario NAME: boot once for it and check it.
run_scenario() {
    skip_scenario "$1" && return 0
    boot_scenario "$1"
    check_scenario "$1"
}

# fail_scenario NAME MESSAGE CONSOLE_LOG OUT [TAIL_FILE]: report a failure,
# with the last lines of TAIL_FILE when the message alone does not explain it.
fail_scenario() {
    local name=$1 msg=$2 consolelog=$3 out=$4 tail_file=${5:-}
    printf 'FAIL %s: %s\n' "$name" "$msg"
    if [[ -n $tail_file && -s $tail_file ]]; then
        printf '     --- last lines of %s:\n' "$tail_file"
        # base64 file captures are not worth reading: keep their marker lines only
        awk '/^@@KLEAK file /{ print; skip = 1; next } /^@@KLEAK endfile /{ skip = 0 } !skip' "$tail_file" |
            tail -n 25 | sed 's/^/     | /'
    fi
    [[ -s $out ]] && printf '     scenario output: %s\n' "$out"
    printf '     console log: %s\n' "$consolelog"
    FAILED+=("$name")
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

cmd_test() {
    local names=("$@") s t0
    t0=$(now)
    for s in "${names[@]}"; do
        [[ -f $LAB_DIR/scenarios/$s.sh ]] || die "no scenario '$s' (see '$0 list')"
    done
    ((${#names[@]})) || mapfile -t names < <(default_scenarios)

    phase deps deps
    phase kernel build_kernel
    phase module build_module
    phase kleak build_kleak
    phase initramfs build_initramfs
    new_run_dir

    PASSED=() FAILED=() SKIPPED=() BOOT_TIMES=()
    local boots_t0 bg=() bg_pids=() i
    boots_t0=$(now)
    # "# lab-parallel: yes" scenarios wait on the clock, not the CPU (a watch
    # over minutes): they boot in the background while the others run one by
    # one, and are checked at the end.
    for s in "${names[@]}"; do
        if [[ $(meta "$LAB_DIR/scenarios/$s.sh" parallel) == yes ]] && ! skip_scenario "$s"; then
            KLEAK_LAB_VERBOSE=0 boot_scenario "$s" &
            bg+=("$s")
            bg_pids+=($!)
        fi
    done
    ((${#bg[@]})) && log "booted in the background: ${bg[*]}"
    for s in "${names[@]}"; do
        [[ $(meta "$LAB_DIR/scenarios/$s.sh" parallel) == yes ]] && continue
        run_scenario "$s" || true
    done
    for i in "${!bg[@]}"; do
        wait "${bg_pids[$i]}" || true
        check_scenario "${bg[$i]}" || true
    done
    PHASE_TIMES+=("scenarios $(since "$boots_t0")")
    if ((${#BOOT_TIMES[@]})); then
        log "scenario boot times (s, QEMU start to poweroff): ${BOOT_TIMES[*]}"
    fi
    PHASE_TIMES+=("total $(since "$t0")")
    print_times
    log "console logs and outputs: $RUN_DIR"
    printf 'lab: %d passed, %d failed, %d skipped\n' "${#PASSED[@]}" "${#FAILED[@]}" "${#SKIPPED[@]}"
    if ((${#FAILED[@]})); then
        die "lab test FAILED: ${FAILED[*]} (logs in $RUN_DIR)"
    fi
}

cmd_boot() {
    local append="kleak_lab=${1:-shell}"
    (($#)) && append="kleak_lab=$(IFS=,; echo "$*")"
    build_kernel
    build_module
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
    build_module
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

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

main() {
    local sub=${1:-}
    (($#)) && shift
    case $sub in
    deps) phase deps deps ;;
    kernel) phase kernel build_kernel ;;
    module) phase module build_module ;;
    kleak) phase kleak build_kleak ;;
    initramfs)
        build_module
        build_kleak
        phase initramfs build_initramfs
        ;;
    boot) cmd_boot "$@" ;;
    deploy-test) phase deploy-test cmd_deploy_test ;;
    check-config)
        [[ -f ${1:-} ]] || die "usage: $0 check-config KERNEL_.CONFIG [FRAGMENT] (default kernel/lab.config)"
        verify_config "${2:-$LAB_DIR/kernel/lab.config}" "$1"
        log "every line of ${2:-$LAB_DIR/kernel/lab.config} is set in $1"
        ;;
    test) cmd_test "$@" ;;
    list) list_scenarios ;;
    -h | --help | help | "") usage ;;
    *) usage ;;
    esac
    [[ $sub == test ]] || print_times
}

main "$@"; exit
