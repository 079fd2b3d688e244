//! `--match PATTERN`: which slab caches a command shows and judges.
//!
//! Patterns are shell globs (`*`, `?`, `[a-z]`, `[!0-9]`); a pattern starting with `!`
//! excludes. A cache is shown when it matches an including pattern (or there is none) and
//! no excluding one. `kleak watch --match 'my_drv*'` replaces
//! `watch -n1 'grep my_drv /proc/slabinfo'`.
//!
//! SLUB merges compatible caches: a driver's `my_drv_cache` may be counted under another
//! cache's name. Its alias in /sys/kernel/slab says which: [`merged_into`].

use crate::limits::MAX_MATCH_PATTERNS;
use crate::sample::Root;

/// Matches `name` against a shell glob `pat` (`*`, `?`, `[...]`), iteratively: a `*`
/// remembers where to resume, so no input makes it exponential.
pub fn glob(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let (mut star_p, mut star_n) = (usize::MAX, 0);
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star_p = p;
                    star_n = n;
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class(&pat[p..], name[n]) {
                        if ok {
                            p += next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        // An unclosed `[` is a literal.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        if star_p == usize::MAX {
            return false;
        }
        // Let the last `*` take one more byte and try again.
        star_n += 1;
        n = star_n;
        p = star_p + 1;
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// A `[...]` class at the start of `pat`: whether `c` is in it, and the class's length;
/// `None` if the class is not closed.
fn class(pat: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let start = i;
    while i < pat.len() && (pat[i] != b']' || i == start) {
        if i + 2 < pat.len() && pat[i + 1] == b'-' && pat[i + 2] != b']' {
            hit |= (pat[i]..=pat[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= pat[i] == c;
            i += 1;
        }
    }
    (i < pat.len()).then_some((hit != negate, i + 1))
}

/// The `--match` patterns of a command.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    include: heapless::Vec<String, MAX_MATCH_PATTERNS>,
    exclude: heapless::Vec<String, MAX_MATCH_PATTERNS>,
}

impl Matcher {
    /// From the `--match` arguments; an error names a pattern beyond capacity.
    pub fn new(patterns: &[String]) -> Result<Matcher, String> {
        let mut m = Matcher::default();
        for p in patterns {
            let (list, pat) = match p.strip_prefix('!') {
                Some(rest) => (&mut m.exclude, rest),
                None => (&mut m.include, p.as_str()),
            };
            if pat.is_empty() {
                return Err(format!("--match `{p}`: an empty pattern"));
            }
            list.push(pat.to_string())
                .map_err(|_| format!("--match: at most {MAX_MATCH_PATTERNS} patterns of each kind"))?;
        }
        Ok(m)
    }

    /// True when no pattern was given.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// True if a cache named `name` is shown.
    pub fn shows(&self, name: &[u8]) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| glob(p.as_bytes(), name)))
            && !self.exclude.iter().any(|p| glob(p.as_bytes(), name))
    }

    /// The including patterns.
    pub fn includes(&self) -> impl Iterator<Item = &str> {
        self.include.iter().map(String::as_str)
    }
}

/// A cache SLUB merged into another: its name, the cache it is counted under in
/// /proc/slabinfo, and the sysfs directory they share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The alias asked for (e.g. `my_drv_cache`).
    pub alias: String,
    /// The name slabinfo shows for it (e.g. `kmalloc-128`).
    pub host: String,
    /// The shared directory in /sys/kernel/slab (e.g. `:0000128`).
    pub dir: String,
}

/// The caches matching `pattern` that slabinfo does not list because SLUB merged them:
/// each alias in /sys/kernel/slab is a symlink to a shared directory; the cache slabinfo
/// lists is the one of the names pointing there that it knows (`listed`).
pub fn merged_into<R: Root>(root: &R, pattern: &str, listed: &dyn Fn(&[u8]) -> bool) -> Vec<Merged> {
    let mut links: Vec<(String, String)> = Vec::new();
    let _ = root.list("/sys/kernel/slab", &mut |name| {
        if let Some(target) = root.link(&format!("/sys/kernel/slab/{}", String::from_utf8_lossy(name))) {
            links.push((String::from_utf8_lossy(name).into_owned(), target));
        }
    });
    let mut out = Vec::new();
    for (alias, dir) in &links {
        if listed(alias.as_bytes()) || !glob(pattern.as_bytes(), alias.as_bytes()) {
            continue;
        }
        if let Some((host, _)) = links.iter().find(|(n, d)| d == dir && n != alias && listed(n.as_bytes())) {
            out.push(Merged { alias: alias.clone(), host: host.clone(), dir: dir.clone() });
        }
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("my_drv*", "my_drv_cache", true),
            ("my_drv*", "kmalloc-64", false),
            ("kmalloc-*", "kmalloc-128", true),
            ("kmalloc-?2?", "kmalloc-128", true),
            ("kmalloc-[0-9]*", "kmalloc-rcl-64", false),
            ("kmalloc-[!0-9]*", "kmalloc-rcl-64", true),
            ("*conntrack*", "nf_conntrack_ffff88042bc32240", true),
            ("iwl_cmd_pool:*", "iwl_cmd_pool:0000:04:00.0", true),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("[abc", "[abc", true),
            ("", "x", false),
        ] {
            assert_eq!(glob(p.as_bytes(), n.as_bytes()), want, "{p} ~ {n}");
        }
        // No exponential blow-up on a hostile pattern.
        assert!(!glob(b"*a*a*a*a*a*a*a*a*a*b", "a".repeat(64).as_bytes()));
    }

    #[test]
    fn includes_and_excludes() {
        let m = Matcher::new(&["kmalloc-*".into(), "!kmalloc-rcl-*".into()]).unwrap();
        assert!(m.shows(b"kmalloc-64"));
        assert!(!m.shows(b"kmalloc-rcl-64"));
        assert!(!m.shows(b"dentry"));
        let m = Matcher::new(&["!dentry".into()]).unwrap();
        assert!(m.shows(b"inode_cache") && !m.shows(b"dentry"));
        assert!(Matcher::new(&[]).unwrap().shows(b"anything"));
        assert!(Matcher::new(&["!".into()]).is_err());
    }

    #[test]
    fn a_merged_cache_is_found_under_its_host() {
        let root = crate::fake::FakeRoot::new();
        root.link_to("/sys/kernel/slab/my_drv_cache", ":0000128");
        root.link_to("/sys/kernel/slab/kmalloc-128", ":0000128");
        root.link_to("/sys/kernel/slab/dentry", ":a-0000192");
        let listed = |n: &[u8]| n == b"kmalloc-128" || n == b"dentry";
        let m = merged_into(&root, "my_drv*", &listed);
        assert_eq!(
            m,
            vec![Merged { alias: "my_drv_cache".into(), host: "kmalloc-128".into(), dir: ":0000128".into() }]
        );
        assert!(merged_into(&root, "kmalloc-*", &listed).is_empty(), "listed caches are not 'merged'");
    }
}
