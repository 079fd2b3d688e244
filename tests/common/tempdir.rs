//! [`TempDir`]: one test's own directory. Shared by the integration tests, the benches
//! (through tests/common) and the unit tests in src/ (lib.rs includes this file under
//! `cfg(test)`), so there is one way to make a temporary directory.

use std::path::{Path, PathBuf};

/// A fresh, empty directory of one test's own, removed when dropped. Its name holds the
/// test's `name`, the process id and a per-process counter, so two tests (or two calls in
/// one test) never share one, whatever the thread count; nothing is removed but its own.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("kleak-{name}-{}-{n}", std::process::id()));
        std::fs::create_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        TempDir(d)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The directory as a str (test paths are ASCII).
    pub fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
