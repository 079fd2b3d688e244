//! Every real capture in tests/corpus parses, with the counts MANIFEST.json gives.

mod common;

use common::{corpus, manifest};
use kleak::parse::meminfo::MeminfoParser;
use kleak::parse::slabinfo::SlabinfoParser;
use kleak::parse::vmstat::VmstatParser;
use kleak::sample::read_lines;
use kleak::sys::{File, Mode};
use kleak::tables::{Source, Tables};

fn lines_of(rel: &str, mut f: impl FnMut(&[u8])) {
    let path = corpus().join(rel);
    let mut file = File::open(&[path.to_str().unwrap().as_bytes()], Mode::Read).unwrap();
    let mut buf = vec![0u8; kleak::limits::READ_BUF_BYTES];
    let st = read_lines(&mut file, &mut buf, &mut f).unwrap();
    assert_eq!(st.overlong, 0, "{rel}");
}

/// Files whose only malformed lines are known and expected: (file, malformed lines).
const KNOWN_BAD: &[(&str, u32)] = &[
    // A truncated paste ends with a line "...".
    ("slabinfo/android-blog_1.txt", 1),
];

#[test]
fn every_slabinfo_capture_parses_with_the_manifest_cache_count() {
    for e in manifest("slabinfo") {
        let rel = e["file"].as_str().unwrap();
        let want = e["caches"].as_u64().unwrap() as u32;
        let mut p = SlabinfoParser::new();
        let mut rows = Vec::new();
        lines_of(rel, |l| p.line(l, &mut |r| rows.push((r.name.to_vec(), r.active_objs, r.num_objs, r.objsize))));
        p.finish(&mut |r| rows.push((r.name.to_vec(), r.active_objs, r.num_objs, r.objsize)));
        let bad = KNOWN_BAD.iter().find(|(f, _)| *f == rel).map_or(0, |b| b.1);
        assert_eq!(p.rows, want, "{rel}: caches");
        assert_eq!(p.stats.malformed, bad, "{rel}: malformed lines (first at {})", p.stats.first_malformed);
        let header = e["header"].as_str().unwrap();
        let v = p.version.unwrap();
        assert!(header.contains(&format!("{}.{}", v.major, v.minor)), "{rel}: version {v:?} vs {header}");
        for (name, active, num, objsize) in &rows {
            // Columns not shifted: objects in use never exceed objects, sizes are sane.
            assert!(active <= num, "{rel}: {}: active {active} > num {num}", String::from_utf8_lossy(name));
            assert!(*objsize > 0 && *objsize < 1 << 24, "{rel}: {} objsize {objsize}", String::from_utf8_lossy(name));
            assert!(!name.is_empty() && !name.contains(&b' '), "{rel}: name {:?}", String::from_utf8_lossy(name));
        }
        let longest = rows.iter().map(|r| r.0.len()).max().unwrap();
        assert_eq!(longest, e["longest_name"].as_str().unwrap().len(), "{rel}: longest name");
    }
}

#[test]
fn every_slabinfo_capture_fills_the_table_one_entry_per_row() {
    // Duplicate names (ppc32-g4_2: 32 rows named zspage) get one entry each.
    for e in manifest("slabinfo") {
        let rel = e["file"].as_str().unwrap();
        let mut t = Tables::default();
        t.begin();
        lines_of(rel, |l| {
            t.line(Source::Slabinfo, l);
        });
        t.end_source(Source::Slabinfo, true);
        t.end(0.0);
        assert_eq!(t.slab.entries().len() as u64, e["caches"].as_u64().unwrap(), "{rel}");
    }
}

#[test]
fn mangled_pastes_give_the_same_numbers_as_the_clean_one() {
    // lkml-xfs_2 (wrapped by a mail client) and lkml-xfs_3 (U+00A0 padding) hold the same data.
    let load = |rel: &str| {
        let mut p = SlabinfoParser::new();
        let mut rows = Vec::new();
        lines_of(rel, |l| p.line(l, &mut |r| rows.push((r.name.to_vec(), r.num_objs, r.num_slabs))));
        p.finish(&mut |r| rows.push((r.name.to_vec(), r.num_objs, r.num_slabs)));
        rows
    };
    let wrapped = load("slabinfo/lkml-xfs_2.txt");
    let nbsp = load("slabinfo/lkml-xfs_3.txt");
    assert_eq!(wrapped.len(), 175);
    assert_eq!(wrapped, nbsp);
}

#[test]
fn every_vmstat_capture_parses_with_the_manifest_field_count() {
    for e in manifest("vmstat") {
        let rel = e["file"].as_str().unwrap();
        let mut p = VmstatParser::default();
        let mut n = 0u64;
        lines_of(rel, |l| n += p.line(l).is_some() as u64);
        assert_eq!(n, e["fields"].as_u64().unwrap(), "{rel}");
        assert_eq!(p.stats.malformed, 0, "{rel}");
    }
}

#[test]
fn every_meminfo_capture_parses_with_the_manifest_field_count() {
    for e in manifest("meminfo") {
        let rel = e["file"].as_str().unwrap();
        let mut p = MeminfoParser::default();
        let mut n = 0u64;
        let mut total = false;
        lines_of(rel, |l| {
            if let Some(r) = p.line(l) {
                n += 1;
                total |= r.key == b"MemTotal";
            }
        });
        assert_eq!(n, e["fields"].as_u64().unwrap(), "{rel}");
        assert_eq!(p.stats.malformed, 0, "{rel}");
        assert!(total, "{rel}: MemTotal");
    }
}

#[test]
fn unaccounted_is_computed_for_every_meminfo_capture() {
    for e in manifest("meminfo") {
        let rel = e["file"].as_str().unwrap();
        let mut t = Tables::default();
        t.begin();
        lines_of(rel, |l| {
            t.line(Source::Meminfo, l);
        });
        t.end_source(Source::Meminfo, true);
        t.end(0.0);
        let u = t.meminfo.cur(kleak::figures::UNACCOUNTED).unwrap_or_else(|| panic!("{rel}: no Unaccounted"));
        let total = t.meminfo.cur("MemTotal").unwrap();
        assert!(u < total, "{rel}: Unaccounted {u} >= MemTotal {total}");
    }
}

#[test]
fn every_kmemleak_report_parses_with_the_manifest_counts() {
    use kleak::leaks::Groups;
    let mut total = 0;
    for e in manifest("kmemleak") {
        let rel = e["file"].as_str().unwrap();
        let mut g = Groups::default();
        lines_of(rel, |l| g.line(l));
        g.finish();
        let p = &g.parser;
        assert_eq!(p.objects as u64, e["objects"].as_u64().unwrap(), "{rel}: objects");
        assert_eq!(p.hex_dumps as u64, e["hex_dump"].as_u64().unwrap(), "{rel}: hex dumps");
        assert_eq!(p.crcs as u64, e["crc_backtrace"].as_u64().unwrap(), "{rel}: crc backtraces");
        assert_eq!(p.stats.malformed, 0, "{rel}: malformed (first at line {})", p.stats.first_malformed);
        // Every object lands in a group; every group names a place.
        assert_eq!(g.objects(), p.objects as u64, "{rel}: grouped objects");
        for grp in g.all() {
            assert!(grp.size_min > 0, "{rel}");
            assert!(!grp.site().is_empty(), "{rel}");
        }
        total += p.objects;
    }
    assert_eq!(total, 208, "objects in the whole corpus (SOURCES.md)");
}
