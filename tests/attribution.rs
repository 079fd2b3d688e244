//! The attribution table: every kmemleak capture of tests/corpus/kmemleak, labelled by
//! hand in tests/attribution/*.expect with the groups kleak must make of it (objects,
//! allocator entry, site frame) and why (comments). A line of an .expect file:
//!
//! ```text
//! FILE OBJECTS ENTRY SITE      # reason
//! ```
//!
//! one per group, largest first (as `kleak leaks` ranks them); ENTRY is the JSON `entry`
//! word (kmalloc, kmem_cache, vmalloc, pages, percpu, unknown). Every capture must be
//! labelled, every label must match.

mod common;

use kleak::leaks::Groups;
use kleak::sample::read_lines;
use kleak::sys::{File, Mode};
use std::collections::BTreeMap;

fn groups_of(path: &std::path::Path) -> Vec<String> {
    let mut g = Groups::default();
    let mut file = File::open(&[path.to_str().unwrap().as_bytes()], Mode::Read).unwrap();
    let mut buf = vec![0u8; kleak::limits::READ_BUF_BYTES];
    read_lines(&mut file, &mut buf, &mut |l: &[u8]| g.line(l)).unwrap();
    g.finish();
    g.ranked()
        .iter()
        .map(|&i| {
            let grp = &g.all()[i as usize];
            format!("{} {} {}", grp.objects, grp.entry.word(), grp.site())
        })
        .collect()
}

/// The labels: file → its groups, from every .expect file.
fn labels() -> (BTreeMap<String, Vec<String>>, usize) {
    let dir = common::corpus().join("../attribution");
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut files = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "expect") {
            continue;
        }
        files += 1;
        for (n, line) in std::fs::read_to_string(&p).unwrap().lines().enumerate() {
            let line = line.split('#').next().unwrap().trim();
            if line.is_empty() {
                continue;
            }
            let (file, rest) = line.split_once(' ').unwrap_or_else(|| panic!("{}:{}: no groups", p.display(), n + 1));
            let rest: Vec<&str> = rest.split_whitespace().collect();
            map.entry(file.to_string()).or_default().push(rest.join(" "));
        }
    }
    assert!(files > 0, "no tests/attribution/*.expect");
    (map, files)
}

#[test]
fn every_kmemleak_capture_is_attributed_as_labelled() {
    let (labels, _) = labels();
    let dir = common::corpus().join("kmemleak");
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let mut wrong = Vec::new();
    let (mut groups, mut objects) = (0, 0u64);
    for name in &names {
        let got = groups_of(&dir.join(name));
        groups += got.len();
        objects += got.iter().map(|g| g.split(' ').next().unwrap().parse::<u64>().unwrap()).sum::<u64>();
        match labels.get(name) {
            None => wrong.push(format!(
                "{name}: not labelled; kleak says:\n{}",
                got.iter().map(|g| format!("{name} {g}")).collect::<Vec<_>>().join("\n")
            )),
            Some(want) if *want != got => wrong.push(format!(
                "{name}:\n  labelled: {want:?}\n  kleak:    {got:?}\n{}",
                got.iter().map(|g| format!("{name} {g}")).collect::<Vec<_>>().join("\n")
            )),
            Some(_) => {}
        }
    }
    for l in labels.keys() {
        if !names.contains(l) {
            wrong.push(format!("{l}: labelled but not in the corpus"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} captures wrong:\n{}", wrong.len(), names.len(), wrong.join("\n"));
    // The README reports these counts ("kmemleak groups: who is blamed").
    assert_eq!((names.len(), groups, objects), (63, 95, 208), "captures, groups, objects");
}
