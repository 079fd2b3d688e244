//! Every input a fuzzer ever found a crash with (tests/fuzz-regressions/<target>/), and
//! every corpus capture, replayed through the fuzz harnesses on stable Rust.

mod common;

use kleak::harness;
use std::path::Path;

type Harness = fn(&[u8]);

const TARGETS: &[(&str, Harness)] = &[
    ("parse_lines", harness::parse_lines),
    ("snapshot_load", harness::snapshot_load),
    ("sample_twice", harness::sample_twice),
    ("kmemleak_report", harness::kmemleak_report),
    ("ring_scan", harness::ring_scan),
    ("trace_dump", harness::trace_dump),
    ("module_symbols", harness::module_symbols),
    ("inflate", harness::inflate),
];

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn saved_crash_inputs_no_longer_crash() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for (name, run) in TARGETS {
        for f in files(&base.join(name)) {
            if f.file_name().is_some_and(|n| n == ".keep") {
                continue;
            }
            run(&std::fs::read(&f).unwrap());
        }
    }
}

#[test]
fn every_corpus_capture_passes_every_harness() {
    for dir in ["slabinfo", "vmstat", "meminfo", "proc-pid", "kmemleak"] {
        for f in files(&common::corpus().join(dir)) {
            let data = std::fs::read(&f).unwrap();
            harness::parse_lines(&data);
            harness::snapshot_load(&data);
            harness::kmemleak_report(&data);
            harness::ring_scan(&data);
            harness::trace_dump(&data);
            harness::module_symbols(&data);
            // As all three files at once, and mutated the second time.
            let mut input = vec![7u8, 3, 0, 0];
            input.extend_from_slice(&data);
            input.push(0xff);
            input.extend_from_slice(&data);
            input.push(0xff);
            input.extend_from_slice(&data);
            input.push(0xff);
            input.extend_from_slice(b"\x01\x02\x05\x09\x20\x33");
            harness::sample_twice(&input);
        }
    }
}

#[test]
fn every_gzip_fixture_passes_the_inflate_harness() {
    let gz = files(&common::fixtures().join("gzip"));
    assert!(gz.len() >= 2);
    for f in gz {
        let data = std::fs::read(&f).unwrap();
        harness::inflate(&data);
        // Cut anywhere: an error, never a panic.
        for cut in (0..data.len()).step_by(997) {
            harness::inflate(&data[..cut]);
        }
    }
}
