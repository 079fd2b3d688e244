#!/usr/bin/env bash
# The smallest board binary: nightly Rust rebuilds std with panic = "immediate-abort" (no
# panic machinery, messages or formatting of its own), for aarch64-unknown-linux-musl,
# linked by rust-lld as the stable build is. Prints the binary's path.
#
#   bash board-scripts/build-board.sh        # needs: rustup toolchain install nightly
#                                            #        rustup component add rust-src --toolchain nightly
#
# A panic in this build is a trap (SIGTRAP, exit 133), with no message: the stable
# build (`cargo build --release --target aarch64-unknown-linux-musl`) prints one. Nightly
# has no prebuilt musl std to install, and build-std does not build musl's C start files
# and libc: they come from the stable toolchain's self-contained directory (-L).
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-musl
dir=${CARGO_TARGET_DIR:-target}/board
self_contained=$(rustc +stable --print sysroot)/lib/rustlib/$target/lib/self-contained
[ -f "$self_contained/libc.a" ] || { echo "build-board.sh: no $self_contained/libc.a: rustup target add $target" >&2; exit 1; }
KLEAK_TRACER_TOOLCHAIN=stable cargo +nightly build -q --release --target "$target" --target-dir "$dir" \
    -Zbuild-std=std,panic_abort -Zpanic-immediate-abort \
    --config 'profile.release.panic="immediate-abort"' \
    --config "target.$target.rustflags=[\"-C\",\"target-feature=+crt-static\",\"-C\",\"force-unwind-tables=no\",\"-L\",\"$self_contained\"]"
echo "$dir/$target/release/kleak"
