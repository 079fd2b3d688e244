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
    ("dwarf_lines", harness::dwarf_lines),
];

/// The files of `dir`, sorted; a missing folder fails the test (it would replay nothing).
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".keep"))
        .collect();
    v.sort();
    v
}

/// The names of the files in `dir` with extension `ext`, sorted.
fn stems(dir: &Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| ext.is_empty() && p.is_dir() || p.extension().is_some_and(|x| x == ext))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn every_fuzz_target_has_a_harness_here_and_a_folder_of_saved_inputs() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut here: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    here.sort();
    assert_eq!(stems(&repo.join("fuzz/fuzz_targets"), "rs"), here, "fuzz/fuzz_targets and TARGETS differ");
    assert_eq!(stems(&repo.join("tests/fuzz-regressions"), ""), here, "tests/fuzz-regressions and TARGETS differ");
}

#[test]
fn saved_crash_inputs_no_longer_crash() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut replayed = 0;
    for (name, run) in TARGETS {
        for f in files(&base.join(name)) {
            run(&std::fs::read(&f).unwrap());
            replayed += 1;
        }
    }
    // Inputs are only ever added: 7 were saved when this was written (4 sample_twice,
    // 3 trace_dump).
    assert!(replayed >= 7, "only {replayed} saved inputs replayed");
}

#[test]
fn every_corpus_capture_passes_every_harness() {
    for dir in ["slabinfo", "vmstat", "meminfo", "proc-pid", "kmemleak"] {
        let files = files(&common::corpus().join(dir));
        assert_eq!(files.len(), common::manifest(dir).len(), "tests/corpus/{dir}: files and MANIFEST.json differ");
        for f in files {
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

#[test]
fn every_dwarf_fixture_passes_the_line_table_harness() {
    let tables = files(&common::fixtures().join("dwarf"));
    assert!(tables.len() >= 4);
    for f in tables {
        let data = std::fs::read(&f).unwrap();
        harness::dwarf_lines(&data);
        for cut in (0..data.len()).step_by(13) {
            harness::dwarf_lines(&data[..cut]);
            let mut flipped = data.clone();
            flipped[cut] ^= 0x5a;
            harness::dwarf_lines(&flipped);
        }
    }
}
