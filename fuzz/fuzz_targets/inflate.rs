#![no_main]
//! See kleak::harness::inflate.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::inflate(data));
