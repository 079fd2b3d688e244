#!/usr/bin/env bash
# Builds the preload tracer, libkleak_trace.so, for each target given (default: the host,
# aarch64 glibc and aarch64 musl) and prints each library's path.
#
#   host                          cargo build --release -p kleak-trace
#   aarch64-unknown-linux-gnu     the same with --target; linked by aarch64-linux-gnu-gcc
#                                 (.cargo/config.toml) against Debian's cross glibc
#   aarch64-unknown-linux-musl    RUSTFLAGS="-C target-feature=-crt-static": a musl
#                                 cdylib must not be crt-static (.cargo/config.toml makes
#                                 the kleak binary static for this target). rust-lld links
#                                 it with no libc at all; musl's dynamic linker resolves
#                                 its libc symbols when a dynamically linked musl program
#                                 preloads it.
#
# Honours CARGO_TARGET_DIR. Needs the Rust targets and the cross gcc (tests/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${CARGO_TARGET_DIR:-target}
[ $# -gt 0 ] || set -- host aarch64-unknown-linux-gnu aarch64-unknown-linux-musl
for t in "$@"; do
    case $t in
        host)
            env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS cargo build -q --release -p kleak-trace
            echo "$dir/release/libkleak_trace.so" ;;
        *-musl)
            env -u CARGO_ENCODED_RUSTFLAGS RUSTFLAGS="-C target-feature=-crt-static" \
                cargo build -q --release -p kleak-trace --target "$t"
            echo "$dir/$t/release/libkleak_trace.so" ;;
        *)
            env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS cargo build -q --release -p kleak-trace --target "$t"
            echo "$dir/$t/release/libkleak_trace.so" ;;
    esac
done
