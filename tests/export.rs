//! Exports checked by real readers: the Prometheus textfile by the Python
//! prometheus_client parser (every series unique, even for 32 caches named zspage), the CSV
//! by its shape.

mod common;

use kleak::out::export::{csv_header, csv_sample, prometheus, Extra, PromFile};
use kleak::out::{Out, Style, Target};
use kleak::sample::{FsRoot, Sampler};
use std::process::Command;

/// A tree of the host fixture's vmstat and meminfo and the given slabinfo, sampled once.
fn tables_with(slabinfo: &std::path::Path) -> (common::TempDir, Sampler<FsRoot>) {
    let t = common::TempDir::new("export");
    std::fs::create_dir_all(t.join("proc")).unwrap();
    for f in ["vmstat", "meminfo"] {
        std::fs::copy(common::fixtures().join("host-x86_64-6.18/proc").join(f), t.join("proc").join(f)).unwrap();
    }
    std::fs::copy(slabinfo, t.join("proc/slabinfo")).unwrap();
    let mut s = Sampler::new(FsRoot::tree(t.str()));
    s.sample(0.0);
    (t, s)
}

/// The fields of cache `name`'s line in slabinfo text, read here, not by kleak:
/// (num_objs, objsize).
fn slab_line(text: &str, name: &str) -> (u64, u64) {
    let f: Vec<&str> =
        text.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap().split_whitespace().collect();
    (f[2].parse().unwrap(), f[3].parse().unwrap())
}

#[test]
fn the_prometheus_file_parses_and_every_series_is_unique() {
    let slabinfo = common::corpus().join("slabinfo/ppc32-g4_2.txt");
    let (dir, s) = tables_with(&slabinfo);
    let path = dir.join("kleak.prom").to_str().unwrap().to_string();
    let mut p = PromFile::new(&path);
    let suspects = [("slab", "kmalloc-128"), ("meminfo", "Unaccounted")].into_iter();
    p.write(|f| prometheus(f, &s.tables, Extra { suspects, kmemleak: None, sample_secs: 0.001 })).unwrap();
    assert!(!std::path::Path::new(&format!("{path}.tmp")).exists(), "written to .tmp and renamed");
    let check = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
seen = set()
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        assert key not in seen, f"duplicate series {key}"
        seen.add(key)
        print(fam.type, s.name, dict(sorted(s.labels.items())), float(s.value))
"#;
    let o = Command::new("python3").args(["-c", check, &path]).output().expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        out.lines().filter(|l| l.contains("kleak_slab_bytes {'cache': 'zspage'")).count(),
        32,
        "one series per zspage cache"
    );
    assert!(out.contains("gauge kleak_slab_objects {'cache': 'zspage', 'n': '32'}"));
    assert!(out.contains("counter kleak_vmstat_events_total {'name': 'pgfault'}"));
    assert!(out.contains("gauge kleak_meminfo_bytes {'name': 'Unaccounted'}"));
    assert!(out.contains("gauge kleak_leak_suspect {'name': 'kmalloc-128', 'source': 'slab'} 1.0"));
    // bytes = num_objs × objsize (README: the figures), from the capture's own line:
    // kmalloc-8 2862 2944 32 ... (objects of 32 bytes: this kernel debugs its slabs).
    let (num_objs, objsize) = slab_line(&std::fs::read_to_string(&slabinfo).unwrap(), "kmalloc-8");
    assert_eq!((num_objs, objsize), (2944, 32));
    let bytes = num_objs * objsize;
    assert!(out.contains(&format!("gauge kleak_slab_bytes {{'cache': 'kmalloc-8'}} {bytes}.0")), "{bytes}: {out}");
    assert!(out.contains(&format!("gauge kleak_slab_objects {{'cache': 'kmalloc-8'}} {num_objs}.0")), "{out}");
}

#[test]
fn csv_rows_have_five_fields_and_one_series_per_cache() {
    let slabinfo = std::fs::read_to_string(common::fixtures().join("host-x86_64-6.18/proc/slabinfo")).unwrap();
    let (_dir, s) = tables_with(&common::fixtures().join("host-x86_64-6.18/proc/slabinfo"));
    let mut out = Out::new(Target::Memory(Vec::new()), Style::default());
    csv_header(&mut out).unwrap();
    csv_sample(&mut out, &s.tables).unwrap();
    let text = String::from_utf8(out.memory().to_vec()).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("elapsed_secs,source,name,value,bytes"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 5), "{text}");
    // One row per cache line of the file (its first two lines are the headers).
    assert_eq!(rows.iter().filter(|r| r[1] == "slab").count(), slabinfo.lines().count() - 2);
    let dentry = rows.iter().find(|r| r[2] == "dentry").unwrap();
    let (num_objs, objsize) = slab_line(&slabinfo, "dentry");
    assert_eq!((dentry[3], dentry[4]), (num_objs.to_string().as_str(), (num_objs * objsize).to_string().as_str()));
    assert!(rows.iter().any(|r| r[1] == "meminfo" && r[2] == "Unaccounted"));
    assert!(rows.iter().any(|r| r[1] == "vmstat" && r[2] == "nr_slab_unreclaimable" && !r[4].is_empty()));
}
