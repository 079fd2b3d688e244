# Helpers for the lab's guest scenario scripts (BusyBox sh), sourced as
# ". /lab/lib.sh". Everything they print is framed by "@@KLEAK" lines that the
# host-side parser (board-scripts/lib/labparse.py) reads back.

# shellcheck disable=SC2034 # used by the scenario scripts
KMEMLEAK=/sys/kernel/debug/kmemleak
# shellcheck disable=SC2034
MODULES=/lab/modules

# lab_run LABEL CMD...: run CMD; print its stdout, stderr, exit code and time.
lab_run() {
    _label=$1
    shift
    echo "@@KLEAK cmd $_label: $*"
    read -r _t0 _ </proc/uptime
    "$@" >/tmp/.lab.out 2>/tmp/.lab.err
    _rc=$?
    read -r _t1 _ </proc/uptime
    echo "@@KLEAK stdout $_label"
    awk '{ print }' /tmp/.lab.out
    echo "@@KLEAK stderr $_label"
    awk '{ print }' /tmp/.lab.err
    echo "@@KLEAK rc $_label $_rc $(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.2f", b - a }')"
    return 0
}

# lab_as_user LABEL CMD...: lab_run as the unprivileged user (uid 1000), via su.
lab_as_user() {
    _label=$1
    shift
    _cmd=
    for _a in "$@"; do
        _cmd="$_cmd '$(printf '%s' "$_a" | sed "s/'/'\\\\''/g")'"
    done
    lab_run "$_label" su -s /bin/sh user -c "$_cmd"
}

# lab_file PATH [NAME]: a snapshot of a file, base64 (exact bytes, md5-checked
# on the host).
lab_file() {
    _name=${2:-$1}
    if cat "$1" >/tmp/.lab.file 2>/dev/null; then
        echo "@@KLEAK file $_name md5=$(md5sum </tmp/.lab.file | cut -d' ' -f1)"
        base64 </tmp/.lab.file
        echo "@@KLEAK endfile $_name"
    else
        echo "@@KLEAK nofile $_name"
    fi
}

# lab_note TEXT: a key=value fact for the checker ("@@KLEAK note key=value").
lab_note() {
    echo "@@KLEAK note $*"
}

# kmemleak_cmd CMD: one command per write(), as kmemleak wants it.
kmemleak_cmd() {
    echo "$1" >"$KMEMLEAK"
}

# kmemleak_settle: scan, wait past the 5 s minimum object age, scan again, so
# that what leaked before the call is reported.
kmemleak_settle() {
    kmemleak_cmd scan
    sleep 6
    kmemleak_cmd scan
}

# slab_row NAME: the /proc/slabinfo row of a cache.
slab_row() {
    awk -v n="$1" '$1 == n' /proc/slabinfo
}

# lab_start LABEL CMD...: start CMD in the background; lab_wait LABEL prints it
# framed as lab_run does once it has ended. $LAB_PID is its pid.
lab_start() {
    _label=$1
    shift
    echo "$*" >"/tmp/.lab.$_label.argv"
    read -r _t0 _ </proc/uptime
    echo "$_t0" >"/tmp/.lab.$_label.t0"
    "$@" >"/tmp/.lab.$_label.out" 2>"/tmp/.lab.$_label.err" &
    LAB_PID=$!
    echo "$LAB_PID" >"/tmp/.lab.$_label.pid"
}

# lab_wait LABEL: wait for a lab_start command; print its output, exit code, time.
lab_wait() {
    _label=$1
    wait "$(cat "/tmp/.lab.$_label.pid")"
    _rc=$?
    read -r _t1 _ </proc/uptime
    echo "@@KLEAK cmd $_label: $(cat "/tmp/.lab.$_label.argv")"
    echo "@@KLEAK stdout $_label"
    awk '{ print }' "/tmp/.lab.$_label.out"
    echo "@@KLEAK stderr $_label"
    awk '{ print }' "/tmp/.lab.$_label.err"
    echo "@@KLEAK rc $_label $_rc $(awk -v a="$(cat "/tmp/.lab.$_label.t0")" -v b="$_t1" 'BEGIN { printf "%.2f", b - a }')"
}

# lab_peak_rss PID KEY: read VmHWM (peak resident set, kB) of PID every second
# until it exits; note the last value as KEY=N.
lab_peak_rss() {
    _hwm=0
    while _v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null) && [ -n "$_v" ]; do
        _hwm=$_v
        sleep 1
    done
    lab_note "$2=$_hwm"
}
