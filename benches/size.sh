#!/usr/bin/env bash
# Where the board binary's bytes are: builds the aarch64 release binary unstripped (in a
# target directory of its own, so the shipped build is untouched) and lists its symbols by
# size, summed by crate, then the largest functions. docs/SIZE.md holds one run's listing.
# Usage: bash benches/size.sh [TOP]   (TOP largest symbols, default 40)
set -euo pipefail
cd "$(dirname "$0")/.."
top=${1:-40}
target=aarch64-unknown-linux-musl
dir=target/size
CARGO_PROFILE_RELEASE_STRIP=false cargo build -q --release --target "$target" --target-dir "$dir"
bin=$dir/$target/release/kleak
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
# binutils' strip reads aarch64 ELF as the host's does; the result matches strip = true.
objcopy --strip-all "$bin" "$stripped" 2>/dev/null || aarch64-linux-gnu-strip -o "$stripped" "$bin"
printf 'stripped: %s bytes (unstripped %s)\n\n' "$(stat -c %s "$stripped")" "$(stat -c %s "$bin")"
echo "## sections (bytes)"
size -A -d "$bin" | awk '$1 ~ /^\./ && $1 !~ /^\.(debug|symtab|strtab|shstrtab|comment)/ && $2 > 0 { printf "%8d %s\n", $2, $1 }'
echo
echo "## code and data by crate (bytes, symbols)"
# nm -C: Rust's legacy mangling demangled. The crate is a symbol's first path segment,
# after any `<` or `&` of a trait impl; C symbols (musl, compiler-rt) have none.
syms() { nm -S -t d --size-sort -C "$bin" | awk '$3 ~ /^[tTrRdD]$/'; }
syms | awk '
    {
        size = $2 + 0; name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
        s = name; gsub(/^[<&* ]+/, "", s)
        crate = (match(s, /^[A-Za-z_][A-Za-z0-9_]*::/) ? substr(s, 1, RLENGTH - 2) : "(C: musl, compiler-rt)")
        bytes[crate] += size; count[crate]++; total += size
    }
    END {
        for (c in bytes) printf "%8d %5d %s\n", bytes[c], count[c], c | "sort -rn"
        close("sort -rn"); printf "%8d       total\n", total
    }'
echo
echo "## the $top largest symbols (bytes)"
syms | tail -n "$top" | sort -k2,2nr | awk '{ size = $2 + 0; $1 = $2 = $3 = ""; sub(/^ +/, ""); printf "%7d %s\n", size, substr($0, 1, 110) }'
