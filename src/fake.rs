//! A fake proc root in memory, for tests and soak runs: files whose contents a test
//! changes between samples, and faults it injects on purpose — short reads, EINTR,
//! EAGAIN, permission denied at open, a file that vanishes mid-run, a failing read.
//!
//! Modelled on smoltcp's fault injector: robustness is a component, not an afterthought.

use crate::sample::{ReadAt, Root};
use crate::sys::Errno;
use std::cell::RefCell;
use std::rc::Rc;

/// Faults a fake file injects.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Return at most this many bytes per read (0: no limit).
    pub max_read: usize,
    /// Fail every n-th read with EINTR (0: never).
    pub eintr_every: u32,
    /// Fail every n-th read with EAGAIN (0: never).
    pub eagain_every: u32,
    /// Fail opening with this error.
    pub open_error: Option<Errno>,
    /// Fail every read with this error (a file that vanished under an open descriptor).
    pub read_error: Option<Errno>,
}

/// One fake file: contents and faults, shared between the test and open handles.
#[derive(Debug, Default)]
pub struct FakeFile {
    /// What a read returns.
    pub data: Vec<u8>,
    /// What goes wrong.
    pub faults: Faults,
    calls: u32,
}

/// A fake file shared between the test and the handles that read it.
pub type SharedFile = Rc<RefCell<FakeFile>>;

/// A fake root: a list of (path, file), and symbolic links (path, target).
#[derive(Clone, Debug, Default)]
pub struct FakeRoot {
    files: Rc<RefCell<Vec<(String, SharedFile)>>>,
    links: Rc<RefCell<Vec<(String, String)>>>,
}

impl FakeRoot {
    /// An empty root.
    pub fn new() -> Self {
        FakeRoot::default()
    }

    /// The file at `path`, created empty if missing. Change `data` or `faults` through it.
    pub fn file(&self, path: &str) -> SharedFile {
        let mut files = self.files.borrow_mut();
        if let Some((_, f)) = files.iter().find(|(p, _)| p == path) {
            return f.clone();
        }
        let f = Rc::new(RefCell::new(FakeFile::default()));
        files.push((path.to_string(), f.clone()));
        f
    }

    /// Sets the contents of `path`, reusing its buffer (no allocation once it is big enough).
    pub fn set(&self, path: &str, data: &[u8]) {
        let f = self.file(path);
        let mut f = f.borrow_mut();
        f.data.clear();
        f.data.extend_from_slice(data);
    }

    /// Makes `path` a symbolic link to `target`.
    pub fn link_to(&self, path: &str, target: &str) {
        self.links.borrow_mut().push((path.to_string(), target.to_string()));
    }

    /// Removes `path`: later opens fail with ENOENT (open handles keep reading it).
    pub fn remove(&self, path: &str) {
        self.files.borrow_mut().retain(|(p, _)| p != path);
    }
}

/// An open fake file.
#[derive(Debug)]
pub struct FakeHandle(SharedFile);

impl ReadAt for FakeHandle {
    fn read_at(&mut self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        let mut f = self.0.borrow_mut();
        f.calls += 1;
        let (calls, faults) = (f.calls, f.faults);
        if let Some(e) = faults.read_error {
            return Err(e);
        }
        if faults.eintr_every > 0 && calls % faults.eintr_every == 0 {
            return Err(Errno::EINTR);
        }
        if faults.eagain_every > 0 && calls % faults.eagain_every == 0 {
            return Err(Errno::EAGAIN);
        }
        let off = (off as usize).min(f.data.len());
        let mut n = (f.data.len() - off).min(buf.len());
        if faults.max_read > 0 {
            n = n.min(faults.max_read);
        }
        buf[..n].copy_from_slice(&f.data[off..off + n]);
        Ok(n)
    }
}

impl Root for FakeRoot {
    type File = FakeHandle;
    fn open(&self, path: &str) -> Result<FakeHandle, Errno> {
        let files = self.files.borrow();
        let Some((_, f)) = files.iter().find(|(p, _)| p == path) else { return Err(Errno::ENOENT) };
        if let Some(e) = f.borrow().faults.open_error {
            return Err(e);
        }
        Ok(FakeHandle(f.clone()))
    }
    fn is_live(&self) -> bool {
        false
    }
    fn list(&self, path: &str, f: &mut dyn FnMut(&[u8])) -> Result<(), Errno> {
        let dir = format!("{}/", path.trim_end_matches('/'));
        let mut names: Vec<String> = Vec::new();
        let links = self.links.borrow();
        let paths = self.files.borrow();
        for p in paths.iter().map(|(p, _)| p).chain(links.iter().map(|(p, _)| p)) {
            if let Some(rest) = p.strip_prefix(&dir) {
                let name = rest.split('/').next().unwrap_or(rest).to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        if names.is_empty() {
            return Err(Errno::ENOENT);
        }
        names.iter().for_each(|n| f(n.as_bytes()));
        Ok(())
    }
    fn link(&self, path: &str) -> Option<String> {
        self.links.borrow().iter().find(|(p, _)| p == path).map(|(_, t)| t.clone())
    }
}

/// A kmemleak control file in memory: it logs the commands written, shows a report that
/// changes with the number of scans, and fails on purpose (EPERM as a disabled kmemleak
/// does, EACCES as debugfs does for a user).
#[derive(Debug, Default)]
pub struct FakeKmemleak {
    /// Commands written, in order.
    pub log: Vec<String>,
    /// Every command but `clear` fails with this (EPERM: kmemleak disabled).
    pub command_error: Option<Errno>,
    /// Every read fails with this.
    pub read_error: Option<Errno>,
    /// (scans done, report): a read shows the report of the most scans not above the
    /// scans written so far; nothing before the first.
    pub reports: Vec<(u32, String)>,
    /// Scans written.
    pub scans: u32,
}

impl crate::kmemleak::Control for FakeKmemleak {
    fn command(&mut self, cmd: crate::kmemleak::Command<'_>) -> Result<(), Errno> {
        self.log.push(cmd.to_string());
        match self.command_error {
            Some(e) if cmd.as_str() != "clear" => return Err(e),
            _ => {}
        }
        self.scans += (cmd.as_str() == "scan") as u32;
        Ok(())
    }

    fn read(&mut self, _buf: &mut [u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), Errno> {
        if let Some(e) = self.read_error {
            return Err(e);
        }
        let report = self.reports.iter().filter(|(n, _)| *n <= self.scans).max_by_key(|(n, _)| *n);
        for l in report.map_or("", |r| r.1.as_str()).lines() {
            sink(l.as_bytes());
        }
        Ok(())
    }
}
