#![no_main]
//! See kleak::harness::snapshot_load.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::snapshot_load(data));
