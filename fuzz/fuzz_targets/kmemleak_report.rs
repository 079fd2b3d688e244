#![no_main]
//! See kleak::harness::kmemleak_report.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::kmemleak_report(data));
