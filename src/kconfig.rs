//! What the running kernel was built with, without debugfs: `/proc/config.gz`
//! (`CONFIG_IKCONFIG_PROC=y`, as on the Rockchip BSP kernels and most distributions)
//! decoded by [`crate::inflate`], and `/proc/kallsyms` (kmemleak's functions exist only
//! with `CONFIG_DEBUG_KMEMLEAK`). `kleak doctor` uses them to name a missing kernel
//! option before debugfs is even mounted.

use crate::limits::{CONFIG_GZ_BYTES, CONFIG_LINE_BYTES, CONFIG_TEXT_BYTES};
use crate::sample::{read_small, FsRoot};
use crate::sys::Errno;

/// The options kleak asks about.
pub const OPTIONS: [&str; 6] = [
    "CONFIG_DEBUG_KMEMLEAK",
    "CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF",
    "CONFIG_DEBUG_FS",
    "CONFIG_SLUB_DEBUG",
    "CONFIG_KALLSYMS",
    "CONFIG_SLUB",
];

/// Where /proc/config.gz is.
pub const CONFIG_GZ: &str = "/proc/config.gz";

/// The values of [`OPTIONS`] in a kernel's config: built in or a module (`y`/`m`), or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    set: [bool; OPTIONS.len()],
    /// Lines read.
    pub lines: u32,
    /// Lines longer than [`CONFIG_LINE_BYTES`], skipped (real ones are < 100 bytes).
    pub overlong: u32,
}

impl Config {
    /// True if `option` (one of [`OPTIONS`]) is `y` or `m`. An option the config does
    /// not list is not set (its dependencies are not).
    pub fn has(&self, option: &str) -> bool {
        OPTIONS.iter().position(|&o| o == option).is_some_and(|i| self.set[i])
    }

    /// Takes one line of a `.config`.
    pub fn line(&mut self, l: &[u8]) {
        self.lines += 1;
        let Some(eq) = l.iter().position(|&b| b == b'=') else { return };
        let (name, value) = (&l[..eq], &l[eq + 1..]);
        if let Some(i) = OPTIONS.iter().position(|o| o.as_bytes() == name) {
            self.set[i] = matches!(value, b"y" | b"m");
        }
    }
}

/// Why the config could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The file could not be opened or read (missing: `CONFIG_IKCONFIG_PROC` is not set).
    Read(Errno),
    /// The file is larger than [`CONFIG_GZ_BYTES`].
    TooBig,
    /// It does not decode.
    Gzip(crate::inflate::Error),
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::Read(e) if *e == Errno::ENOENT => f.write_str("no /proc/config.gz (CONFIG_IKCONFIG_PROC)"),
            ConfigError::Read(e) => write!(f, "{CONFIG_GZ}: {e}"),
            ConfigError::TooBig => write!(f, "{CONFIG_GZ}: larger than {CONFIG_GZ_BYTES} bytes"),
            ConfigError::Gzip(e) => write!(f, "{CONFIG_GZ}: {e}"),
        }
    }
}

/// Reads and decodes /proc/config.gz under `root`.
pub fn read_config(root: &FsRoot) -> Result<Config, ConfigError> {
    let mut gz = vec![0u8; CONFIG_GZ_BYTES + 1];
    let n = read_small(root, CONFIG_GZ, &mut gz).map_err(ConfigError::Read)?;
    if n > CONFIG_GZ_BYTES {
        return Err(ConfigError::TooBig);
    }
    parse_config_gz(&gz[..n])
}

/// Decodes a gzipped `.config` and takes the options kleak asks about.
pub fn parse_config_gz(gz: &[u8]) -> Result<Config, ConfigError> {
    let mut c = Config::default();
    let mut line = [0u8; CONFIG_LINE_BYTES];
    let (mut len, mut long) = (0usize, false);
    crate::inflate::gunzip(gz, CONFIG_TEXT_BYTES, &mut |piece| {
        for &b in piece {
            if b == b'\n' {
                if long {
                    c.overlong += 1;
                } else {
                    c.line(&line[..len]);
                }
                (len, long) = (0, false);
            } else if len < line.len() {
                line[len] = b;
                len += 1;
            } else {
                long = true;
            }
        }
    })
    .map_err(ConfigError::Gzip)?;
    if len > 0 && !long {
        c.line(&line[..len]);
    }
    Ok(c)
}

/// True if /proc/kallsyms under `root` lists a function `name`; `None` when it cannot
/// be read. (A non-root reader sees zero addresses, but the names are there.)
pub fn kallsyms_has(root: &FsRoot, name: &[u8]) -> Option<bool> {
    let mut buf = vec![0u8; crate::limits::READ_BUF_BYTES];
    let mut found = false;
    // `ffff800008123450 T kmemleak_alloc`
    crate::kmemleak::read_file(root, "/proc/kallsyms", &mut buf, &mut |l| {
        let mut t = l.split(|&b| b == b' ' || b == b'\t').filter(|t| !t.is_empty());
        found |= t.nth(2) == Some(name);
    })
    .ok()?;
    Some(found)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn options_are_set_only_when_y_or_m() {
        let mut c = Config::default();
        for l in ["CONFIG_DEBUG_KMEMLEAK=y", "# CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF is not set", "CONFIG_DEBUG_FS=m"] {
            c.line(l.as_bytes());
        }
        assert!(c.has("CONFIG_DEBUG_KMEMLEAK") && c.has("CONFIG_DEBUG_FS"));
        assert!(!c.has("CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF") && !c.has("CONFIG_SLUB_DEBUG"));
        assert!(!c.has("CONFIG_NOT_ASKED"));
        c.line(b"CONFIG_DEBUG_FS=n");
        assert!(!c.has("CONFIG_DEBUG_FS"));
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads a fixture file, which miri's isolation refuses")]
    fn the_lab_kernels_config_has_kmemleak() {
        // tests/fixtures/gzip/lab-6.1.config.gz: the lab's 6.1 arm64 build, gzip -9n.
        let gz = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gzip/lab-6.1.config.gz")).unwrap();
        let c = parse_config_gz(&gz).unwrap();
        assert!(c.has("CONFIG_DEBUG_KMEMLEAK") && c.has("CONFIG_DEBUG_FS") && c.has("CONFIG_SLUB_DEBUG"));
        assert!(!c.has("CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF"));
        assert_eq!(c.overlong, 0);
        assert!(c.lines > 500, "{}", c.lines);
        // This x86_64 host's (a copy of its /proc/config.gz): no kmemleak.
        let gz = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gzip/host.config.gz")).unwrap();
        let c = parse_config_gz(&gz).unwrap();
        assert!(!c.has("CONFIG_DEBUG_KMEMLEAK") && c.has("CONFIG_DEBUG_FS") && c.has("CONFIG_KALLSYMS"));
        assert!(matches!(parse_config_gz(&gz[..100]), Err(ConfigError::Gzip(_))));
    }
}
