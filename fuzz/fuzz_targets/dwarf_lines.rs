#![no_main]
//! See kleak::harness::dwarf_lines.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kleak::harness::dwarf_lines(data));
