#![no_main]
//! See kleak::harness::trace_dump.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::trace_dump(data));
