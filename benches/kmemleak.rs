//! Throughput of kmemleak report parsing and grouping on a large report: every report of
//! tests/corpus/kmemleak concatenated (all eras and mail quirks, 208 objects) and
//! repeated to ~32 MiB, i.e. tens of thousands of objects, more than a board shows after
//! boot. Two measures: lines handed over from memory (the parser and the grouping alone),
//! and the file read through `read_lines` as `kleak leaks --input` reads it. Target
//! ≥ 200 MB/s. Run: `cargo bench --bench kmemleak`.

#[path = "../tests/common/mod.rs"]
mod common;

use kleak::leaks::Groups;
use kleak::sample::read_lines;
use kleak::sys::{File, Mode};
use std::time::Instant;

const ROUNDS: usize = 5;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/kmemleak");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let mut one = Vec::new();
    for n in &names {
        one.extend(std::fs::read(n).unwrap());
        one.push(b'\n');
    }
    let mut big = Vec::with_capacity(33 << 20);
    while big.len() < 32 << 20 {
        big.extend_from_slice(&one);
    }
    let lines: Vec<&[u8]> = big.split(|&b| b == b'\n').collect();

    let mut g = Groups::default();
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        g.clear();
        let t = Instant::now();
        for l in &lines {
            g.line(l);
        }
        g.finish();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let mb = big.len() as f64 / 1e6;
    println!(
        "kmemleak report of {:.1} MB, {} objects in {} groups ({} lines skipped)",
        mb,
        g.parser.objects,
        g.all().len(),
        g.parser.stats.malformed
    );
    println!("parse and group, lines from memory: {:.0} MB/s (best of {ROUNDS})", mb / best);

    let dir = common::TempDir::new("bench-kmemleak");
    let path = dir.join("report");
    std::fs::write(&path, &big).unwrap();
    let mut buf = vec![0u8; kleak::limits::READ_BUF_BYTES];
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        g.clear();
        let mut f = File::open(&[path.to_str().unwrap().as_bytes()], Mode::Read).unwrap();
        let t = Instant::now();
        read_lines(&mut f, &mut buf, |l: &[u8]| g.line(l)).unwrap();
        g.finish();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("read, parse and group from a file (as leaks --input): {:.0} MB/s (best of {ROUNDS})", mb / best);
}
