#![no_main]
//! See kleak::harness::ring_scan.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::ring_scan(data));
