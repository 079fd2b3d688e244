//! Link settings per target libc.
//!
//! glibc: depend on libdl.so.2 as well, where old glibc (< 2.34) keeps `dlsym` (new glibc
//! keeps an empty libdl.so.2 for exactly this). With the base-version `dlsym` binding in
//! src/sys.rs the library then loads on any glibc since 2.17.
//!
//! musl: nothing to add. A musl cdylib needs `-C target-feature=-crt-static` (given by
//! trace/build.sh through RUSTFLAGS; a build script cannot set it), and is linked by
//! rust-lld without libc: its libc symbols are left for musl's dynamic linker, which
//! always provides libc to every loaded object.
fn main() {
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if env == "gnu" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--no-as-needed,-l:libdl.so.2");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
