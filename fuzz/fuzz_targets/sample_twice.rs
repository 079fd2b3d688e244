#![no_main]
//! See kleak::harness::sample_twice.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::sample_twice(data));
