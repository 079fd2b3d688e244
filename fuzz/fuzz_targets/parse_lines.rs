#![no_main]
//! See kleak::harness::parse_lines.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::parse_lines(data));
