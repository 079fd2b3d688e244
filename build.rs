//! Size of the board binary: drops the DWARF unwind tables from release builds of the
//! static musl binaries that `rust-lld` links (the documented no-Docker build).
//!
//! The release profile aborts on panic, so nothing unwinds; the tables (`.eh_frame`,
//! `.eh_frame_hdr`, `.gcc_except_table`: ~46 KB, 7.5% of the binary) come from the
//! precompiled std and would only serve a panic's backtrace with `RUST_BACKTRACE` set.
//! Without them a panic still prints its message and aborts (exit by SIGABRT); the
//! backtrace is just empty. Test builds unwind and keep every table; so do builds linked by
//! another linker (`cross` links with the image's gcc).

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let release = env::var("PROFILE").as_deref() == Ok("release");
    let musl = env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl");
    let lld = env::var("RUSTC_LINKER").is_ok_and(|l| l.ends_with("rust-lld"));
    if !(release && musl && lld) {
        return;
    }
    let script = PathBuf::from(env::var("OUT_DIR").unwrap_or_default()).join("discard-unwind-tables.ld");
    let text = "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) *(.gcc_except_table) } } INSERT AFTER .text;\n";
    if std::fs::write(&script, text).is_ok() {
        println!("cargo:rustc-link-arg-bins=--no-eh-frame-hdr");
        println!("cargo:rustc-link-arg-bins={}", script.display());
    }
}
