#![no_main]
//! See kleak::harness::module_symbols.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::module_symbols(data));
