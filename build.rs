//! Two jobs for release builds:
//!
//! **`kleak trace` after a plain `cargo build --release`.** The preload library
//! (`trace/`, a cdylib) is built for the same target by `trace/build.sh`, in a target
//! directory of its own under `OUT_DIR`, and copied beside the kleak binary, where kleak
//! looks first: `libkleak_trace.so` for glibc programs (a glibc host), or
//! `libkleak_trace-musl.so` for musl programs (the static board build: a musl cdylib
//! cannot come out of the same cargo run, which links `crt-static`; build.sh builds it
//! without). A glibc library for an aarch64 board needs the cross gcc: `bash
//! trace/build.sh aarch64-unknown-linux-gnu`. If the library cannot be built, kleak still
//! is, with a warning.
//!
//! **Size of the board binary**: drops the DWARF unwind tables from release builds of the
//! static musl binaries that `rust-lld` links (the documented no-Docker build).
//!
//! The release profile aborts on panic, so nothing unwinds; the tables (`.eh_frame`,
//! `.eh_frame_hdr`, `.gcc_except_table`: ~46 KB, 7.5% of the binary) come from the
//! precompiled std and would only serve a panic's backtrace with `RUST_BACKTRACE` set.
//! Without them a panic still prints its message and aborts (exit by SIGABRT); the
//! backtrace is just empty. Test builds unwind and keep every table; so do builds linked by
//! another linker (`cross` links with the image's gcc).
//!
//! The same builds set `cfg(kleak_no_unwinder)`: with no tables there is nothing to unwind
//! through, so `src/sys.rs` defines the unwinder's entry points as no-ops and the linker
//! leaves out libunwind and, with it, std's backtrace symbolizer (~240 KB in all).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let release = env::var("PROFILE").as_deref() == Ok("release");
    let musl = env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl");
    let lld = env::var("RUSTC_LINKER").is_ok_and(|l| l.ends_with("rust-lld"));
    // cargo-fuzz builds the library alone, in release: no tracer there.
    if release && env::var_os("CARGO_CFG_FUZZING").is_none() {
        tracer_beside_kleak(musl);
    }
    println!("cargo::rustc-check-cfg=cfg(kleak_no_unwinder)");
    if !(release && musl && lld) {
        return;
    }
    println!("cargo:rustc-cfg=kleak_no_unwinder");
    let script = PathBuf::from(env::var("OUT_DIR").unwrap_or_default()).join("discard-unwind-tables.ld");
    let text = "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) *(.gcc_except_table) } } INSERT AFTER .text;\n";
    if std::fs::write(&script, text).is_ok() {
        println!("cargo:rustc-link-arg-bins=--no-eh-frame-hdr");
        println!("cargo:rustc-link-arg-bins={}", script.display());
    }
}

/// Builds libkleak_trace.so for this build's target and puts it beside the kleak binary.
fn tracer_beside_kleak(musl: bool) {
    for p in ["trace/src", "trace/Cargo.toml", "trace/build.sh"] {
        println!("cargo:rerun-if-changed={p}");
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    // OUT_DIR is <target dir>/[<triple>/]release/build/kleak-<hash>/out.
    let Some(bin_dir) = out.ancestors().nth(3) else { return };
    let (target, host) = (env::var("TARGET").unwrap_or_default(), env::var("HOST").unwrap_or_default());
    let which = if target == host { "host" } else { target.as_str() };
    let name = if musl { "libkleak_trace-musl.so" } else { "libkleak_trace.so" };
    let mut build = Command::new("bash");
    build.arg(Path::new("trace").join("build.sh")).arg(which).env("CARGO_TARGET_DIR", out.join("trace"));
    // The nightly board build (board-scripts/build-board.sh) builds std itself; the
    // tracer comes from the toolchain that has the target's std installed.
    println!("cargo:rerun-if-env-changed=KLEAK_TRACER_TOOLCHAIN");
    if let Some(t) = env::var_os("KLEAK_TRACER_TOOLCHAIN") {
        build.env("RUSTUP_TOOLCHAIN", t).env_remove("RUSTC").env_remove("RUSTC_WRAPPER");
    }
    let built = build.output();
    let lib = match built {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        Ok(o) => return warn(name, &String::from_utf8_lossy(&o.stderr)),
        Err(e) => return warn(name, &e.to_string()),
    };
    let part = bin_dir.join(format!("{name}.part"));
    if let Err(e) = std::fs::copy(&lib, &part).and_then(|_| std::fs::rename(&part, bin_dir.join(name))) {
        warn(name, &e.to_string());
    }
}

fn warn(name: &str, why: &str) {
    let why = why.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    println!("cargo:warning={name} was not built (kleak trace needs it; trace/build.sh builds it): {why}");
}
