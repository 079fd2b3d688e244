#!/usr/bin/env bash
# Copy kleak to an arm64 board.
#
#   deploy.sh [options] [user@]host      over ssh (no scp or sftp needed on the
#                                        board: dropbear works), checksum verified
#   deploy.sh --serial [options]         print the shell commands to paste into
#                                        the board's serial console
#   deploy.sh --serial --tty DEV [options]
#                                        type those commands into the console
#                                        on DEV (e.g. /dev/ttyUSB0) line by line
#
# Options:
#   --bin PATH      kleak binary (default: target/aarch64-unknown-linux-musl/
#                   release/kleak, built with cargo if missing)
#   --dest PATH     where it goes on the board (default /usr/local/bin/kleak over
#                   ssh, /tmp/kleak over serial)
#   --port N        ssh port
#   --chunk BYTES   serial: binary bytes per pasted line (default 384, a
#                   multiple of 3 so every line decodes on its own)
#   --gzip          serial: send it gzipped (about half the lines; the board
#                   needs gunzip, which BusyBox has)
#   --delay S       with --tty: seconds to wait after each line (default 0.05)
#   --baud N        with --tty: set the line speed too (default: leave it);
#                   the line is always put in raw mode
#
# On the board kleak needs nothing else: it is a static musl binary.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=aarch64-unknown-linux-musl
BIN=
DEST=
PORT=
CHUNK=384
GZIP=0
SERIAL=0
TTY=
DELAY=0.05
BAUD=
HOST=

die() { printf 'deploy: %s\n' "$*" >&2; exit 2; }
usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while (($#)); do
    case $1 in
    --bin) BIN=${2:?--bin PATH}; shift ;;
    --dest) DEST=${2:?--dest PATH}; shift ;;
    --port) PORT=${2:?--port N}; shift ;;
    --chunk) CHUNK=${2:?--chunk BYTES}; shift ;;
    --gzip) GZIP=1 ;;
    --serial) SERIAL=1 ;;
    --tty) TTY=${2:?--tty DEV}; shift ;;
    --delay) DELAY=${2:?--delay S}; shift ;;
    --baud) BAUD=${2:?--baud N}; shift ;;
    -h | --help) usage 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $HOST ]] || die "one host only"; HOST=$1 ;;
    esac
    shift
done

if [[ -z $BIN ]]; then
    BIN=${CARGO_TARGET_DIR:-$REPO_DIR/target}/$TARGET/release/kleak
    if [[ ! -f $BIN ]]; then
        echo "deploy: building kleak for $TARGET" >&2
        (cd "$REPO_DIR" && cargo build --release --target "$TARGET") >&2
    fi
fi
[[ -f $BIN ]] || die "no kleak binary at $BIN"
if command -v file >/dev/null && ! file -b "$BIN" | grep -q 'ARM aarch64'; then
    die "$BIN is not an aarch64 binary: $(file -b "$BIN")"
fi
# Work on a private copy: the build tree's binary may be rebuilt meanwhile.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$BIN" "$WORK/kleak"
ORIG_BIN=$BIN
BIN=$WORK/kleak
SUM=$(sha256sum "$BIN" | cut -d' ' -f1)

# ---------------------------------------------------------------- ssh

deploy_ssh() {
    local dest=${DEST:-/usr/local/bin/kleak} ssh=(ssh) got
    [[ -n $PORT ]] && ssh+=(-p "$PORT")
    echo "deploy: $ORIG_BIN -> $HOST:$dest ($(stat -c %s "$BIN") bytes)" >&2
    # cat over ssh: works with dropbear and boards without scp/sftp-server.
    "${ssh[@]}" "$HOST" "mkdir -p '$(dirname "$dest")' && cat >'$dest.new'" <"$BIN"
    got=$("${ssh[@]}" "$HOST" "sha256sum '$dest.new'" | cut -d' ' -f1)
    if [[ $got != "$SUM" ]]; then
        "${ssh[@]}" "$HOST" "rm -f '$dest.new'" || true
        die "checksum mismatch on the board ($got, expected $SUM)"
    fi
    "${ssh[@]}" "$HOST" "chmod 755 '$dest.new' && mv '$dest.new' '$dest' && '$dest' --version"
    echo "deploy: done; try: ssh $HOST $dest all" >&2
}

# ---------------------------------------------------------------- serial

# The commands, one per line, each short enough for a tty's line buffer.
serial_commands() {
    local dest=${DEST:-/tmp/kleak} part src=$BIN
    ((CHUNK % 3 == 0 && CHUNK > 0 && CHUNK <= 2400)) || die "--chunk must be a multiple of 3, at most 2400"
    if ((GZIP)); then
        src=$WORK/kleak.gz
        [[ -f $src ]] || gzip -9 -n -c "$BIN" >"$src"
        part=$dest.gz.part
    else
        part=$dest.part
    fi
    echo "# kleak $(stat -c %s "$BIN") bytes, sha256 $SUM: paste into the board's shell"
    echo "rm -f '$part'"
    # base64 -w0 of each CHUNK-byte piece: every line decodes on its own.
    split -b "$CHUNK" --filter='base64 -w0; echo' "$src" | while IFS= read -r line; do
        printf "echo %s | base64 -d >>'%s'\n" "$line" "$part"
    done
    if ((GZIP)); then
        echo "gunzip -c '$part' >'$dest.part' && rm -f '$part'"
        part=$dest.part
    fi
    # The verdict is computed, so the console's echo of this line never
    # contains the literal KLEAK-DEPLOY-OK / KLEAK-DEPLOY-BAD.
    echo "[ \"\$(sha256sum '$part' | cut -d' ' -f1)\" = $SUM ] && chmod 755 '$part' && mv '$part' '$dest' && echo KLEAK-DEPLOY-\$(echo OK) || echo KLEAK-DEPLOY-\$(echo BAD)"
    return 0
}

deploy_serial() {
    if [[ -z $TTY ]]; then
        serial_commands
        return
    fi
    [[ -w $TTY ]] || die "cannot write to $TTY"
    # raw: no host-side line editing, echo or newline translation in the way
    stty -F "$TTY" ${BAUD:+"$BAUD"} raw -echo || die "stty -F $TTY failed"
    local n=0 total
    total=$(serial_commands | wc -l)
    echo "deploy: typing $total lines into $TTY (${DELAY}s per line)" >&2
    serial_commands | while IFS= read -r line; do
        [[ $line == '#'* ]] && continue
        printf '%s\r' "$line" >"$TTY"
        sleep "$DELAY"
        n=$((n + 1))
        ((n % 200)) || echo "deploy: $n/$total" >&2
    done
    echo "deploy: done; the console should print KLEAK-DEPLOY-OK" >&2
}

if ((SERIAL)); then
    [[ -z $HOST ]] || die "--serial takes no host"
    deploy_serial
else
    [[ -n $HOST ]] || usage 2
    deploy_ssh
fi
