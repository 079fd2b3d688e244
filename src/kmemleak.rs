//! Driving kmemleak: its control file, what its errors mean, and the scan dance.
//!
//! kmemleak lives in `/sys/kernel/debug/kmemleak`: reading lists the objects already
//! reported, writing runs one command per `write()`. What makes it hard to use well:
//!
//! - An object is reported only when it is at least 5 s old and its contents' checksum
//!   did not change since the scan before, so one scan finds nothing new. [`Dance`] is the
//!   sequence CI systems settled on (syzkaller, netdev, MPTCP): scan; wait until the
//!   objects of interest are 5 s old; scan; read; if something was found, wait a second,
//!   scan again and keep only what is still reported (false positives drop out).
//! - `scan` runs inside the writer's `write()` and a pending signal silently cuts its
//!   reporting short: every scan is written with signals blocked
//!   ([`crate::sys::SignalsBlocked`]); a Ctrl-C is delivered when the scan is done.
//! - The kernel's own scan thread must not race the dance: it is paused with `scan=off`
//!   and restarted with `scan=on`, which keeps the period it had (`scan=off` only stops
//!   the thread; the period lives on in the kernel). It is restarted only if it was running
//!   (a `kmemleak` kernel thread in /proc).
//! - A patch series of 2026 adds `min_unref_scans` (objects must be unreferenced in that
//!   many scans in a row): where the parameter exists, the dance scans that many times
//!   before it looks.
//! - When kmemleak is disabled (`kmemleak=off`, or it turned itself off), every command
//!   but `clear` fails with EPERM. `scan=off` is the harmless probe: it stops a thread the
//!   dance would pause anyway, and does nothing when none runs.
//!
//! [`Control`] is the control file as a trait, so tests inject EPERM and EACCES.

use crate::limits::{MAX_DANCE_SCANS, READ_BUF_BYTES};
use crate::sample::{read_lines, FsRoot, LineSink};
use crate::sys::{self, Errno, File, Mode};
use crate::Error;
use core::fmt;

/// The control file, under the `--root` prefix.
pub const PATH: &str = "/sys/kernel/debug/kmemleak";
/// Where debugfs is mounted.
pub const DEBUGFS: &str = "/sys/kernel/debug";
/// kmemleak reports an object only when it is this old (`MSECS_MIN_AGE`, 5000 ms; the
/// documentation's 1000 is stale).
pub const MIN_AGE_SECS: f64 = 5.0;
/// Added to [`MIN_AGE_SECS`]: jiffies and our clock do not tick together.
const AGE_MARGIN_SECS: f64 = 0.5;
/// Pause before the confirming scan (syzkaller: 1 s).
const CONFIRM_SECS: f64 = 1.0;
/// The kernel's `min_unref_scans` parameter, where it exists.
const MIN_UNREF_SCANS: &str = "/sys/module/kmemleak/parameters/min_unref_scans";

/// A kmemleak command in kmemleak's own words (`scan`, `clear`, `off`, `stack=on`,
/// `stack=off`, `scan=on`, `scan=off`, `scan=<secs>`, `dump=<addr>`), checked before it is
/// written: the kernel answers a typo with EINVAL, or worse, takes a prefix of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a>(&'a str);

impl<'a> Command<'a> {
    /// `scan`: one scan, now.
    pub const SCAN: Command<'static> = Command("scan");
    /// `clear`: never report the objects reported so far.
    pub const CLEAR: Command<'static> = Command("clear");
    /// `scan=on`: start the scan thread (with the period it had).
    pub const SCAN_ON: Command<'static> = Command("scan=on");
    /// `scan=off`: stop it.
    pub const SCAN_OFF: Command<'static> = Command("scan=off");

    /// Checks `s`; the error says what is wrong.
    pub fn parse(s: &'a str) -> Result<Command<'a>, &'static str> {
        const PLAIN: [&str; 7] = ["scan", "clear", "off", "stack=on", "stack=off", "scan=on", "scan=off"];
        // The kernel's own limit: seconds × 1000 must fit its unsigned int of milliseconds.
        let secs = |n: &str| crate::parse::parse_u64(n.as_bytes()).is_some_and(|n| n <= (u32::MAX / 1000) as u64);
        let addr = |a: &str| crate::parse::parse_hex(a.as_bytes()).is_some();
        match (s.strip_prefix("scan="), s.strip_prefix("dump=0x")) {
            _ if PLAIN.contains(&s) => Ok(Command(s)),
            (Some(n), _) if secs(n) => Ok(Command(s)),
            (Some(_), _) => Err("scan=SECS takes whole seconds (0 to 4294967)"),
            (_, Some(a)) if addr(a) => Ok(Command(s)),
            (_, Some(_)) => Err("dump=ADDR takes an address as reports print it (dump=0xffff0000c0ffee00)"),
            _ => Err("not a kmemleak command (scan, clear, off, stack=on|off, scan=on|off|SECS, dump=ADDR)"),
        }
    }

    /// The command as written.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Why kmemleak cannot be used, each with what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// No debugfs on /sys/kernel/debug.
    NotMounted,
    /// debugfs is there, kmemleak is not: the kernel was built without it.
    NotBuilt,
    /// EPERM on a command: booted with kmemleak=off, or it turned itself off.
    Disabled,
    /// EACCES: debugfs is root's.
    NeedsRoot,
    /// Anything else.
    Failed(Errno),
}

impl Unavailable {
    /// What a failed open, read or write of the control file means.
    pub fn from_errno(e: Errno) -> Unavailable {
        match e {
            Errno::EPERM => Unavailable::Disabled,
            Errno(libc::EBUSY) => Unavailable::Disabled,
            Errno::EACCES => Unavailable::NeedsRoot,
            Errno::ENOENT => Unavailable::NotBuilt,
            e => Unavailable::Failed(e),
        }
    }

    /// The environment error (exit 3) that ends a command needing kmemleak.
    pub fn error(self) -> Error {
        Error::env(self)
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::NotMounted => {
                write!(f, "debugfs is not mounted: mount -t debugfs none {DEBUGFS} (or add --mount, as root)")
            }
            Unavailable::NotBuilt => write!(f, "no {PATH}: the kernel lacks CONFIG_DEBUG_KMEMLEAK=y"),
            Unavailable::Disabled => f.write_str("kmemleak is disabled; boot with kmemleak=on"),
            Unavailable::NeedsRoot => write!(f, "kmemleak needs root ({DEBUGFS} is root's)"),
            Unavailable::Failed(e) => write!(f, "{PATH}: {e}"),
        }
    }
}

/// The kmemleak control file: commands in, reports out.
pub trait Control {
    /// Writes one command (one `write()`).
    fn command(&mut self, cmd: Command<'_>) -> Result<(), Errno>;
    /// Reads the report from its start, line by line, through `buf`.
    fn read(&mut self, buf: &mut [u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), Errno>;
}

/// The real control file (or a regular file standing in for it in a `--root` tree).
pub struct Debugfs {
    root: FsRoot,
}

impl Control for Debugfs {
    fn command(&mut self, cmd: Command<'_>) -> Result<(), Errno> {
        // With its newline, as `echo` writes it, in one write(): the kernel reads 63 bytes.
        let mut line = [b'\n'; 64];
        let n = cmd.0.len().min(63);
        line[..n].copy_from_slice(&cmd.0.as_bytes()[..n]);
        let f = File::open(&[self.root.prefix(), PATH.as_bytes()], Mode::Append)?;
        f.write(&line[..n + 1]).map(drop)
    }

    fn read(&mut self, buf: &mut [u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), Errno> {
        read_file(&self.root, PATH, buf, sink)
    }
}

/// Reads the file at `path` under `root` line by line into `sink` (one reader for every
/// file this module reads: the report, /proc/mounts, saved reports).
pub fn read_file(
    root: &FsRoot,
    path: impl AsRef<[u8]>,
    buf: &mut [u8],
    sink: &mut dyn FnMut(&[u8]),
) -> Result<(), Errno> {
    let mut f = File::open(&[root.prefix(), path.as_ref()], Mode::Read)?;
    read_lines(&mut f, buf, Sink(sink)).map(drop)
}

struct Sink<'a>(&'a mut dyn FnMut(&[u8]));

impl LineSink for Sink<'_> {
    fn line(&mut self, line: &[u8]) {
        (self.0)(line)
    }
}

/// Opens the control file under `root`, telling why it cannot be: debugfs not mounted
/// (mounted first when `mount` is set and kleak is root), kmemleak not built, not root.
pub fn open(root: &FsRoot, mount: bool) -> Result<Debugfs, Unavailable> {
    let prefix = root.prefix();
    let mut tried_mount = false;
    loop {
        match File::open(&[prefix, PATH.as_bytes()], Mode::Read) {
            Ok(_) => return Ok(Debugfs { root: root.clone() }),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(Unavailable::from_errno(e)),
        }
        // Mounted debugfs always holds something (bdi, sleep_time, ...); the directory
        // under it is empty.
        let mut empty = true;
        let _ = sys::read_dir(&[prefix, DEBUGFS.as_bytes()], |_, _| {
            empty = false;
            false
        });
        if !empty {
            return Err(Unavailable::NotBuilt);
        }
        if !mount || tried_mount {
            return Err(Unavailable::NotMounted);
        }
        if sys::euid() != 0 {
            return Err(Unavailable::NeedsRoot);
        }
        sys::mount_debugfs(&[prefix, DEBUGFS.as_bytes()]).map_err(Unavailable::from_errno)?;
        tried_mount = true;
    }
}

/// True if the kernel's scan thread (a task named `kmemleak`) is running.
pub fn scan_thread_running(root: &FsRoot) -> bool {
    let mut found = false;
    let mut buf = [0u8; 64];
    let _ = sys::read_dir(&[root.prefix(), b"/proc"], |name, _| {
        if name.iter().all(u8::is_ascii_digit) {
            if let Ok(f) = File::open(&[root.prefix(), b"/proc/", name, b"/comm"], Mode::Read) {
                let n = f.pread(&mut buf, 0).unwrap_or(0);
                found = buf[..n].strip_suffix(b"\n").unwrap_or(&buf[..n]) == b"kmemleak";
            }
        }
        !found
    });
    found
}

/// The kernel's `min_unref_scans` (1 where the parameter does not exist).
pub fn min_unref_scans(root: &FsRoot) -> u32 {
    let mut buf = [0u8; 64];
    let mut n = None;
    let _ = read_file(root, MIN_UNREF_SCANS, &mut buf, &mut |l| n = crate::parse::parse_u64(crate::parse::trim(l)));
    n.map_or(1, |v| v.clamp(1, MAX_DANCE_SCANS as u64 - 2) as u32)
}

/// Writes `scan` with signals blocked; returns how long the scan took, in seconds.
pub fn scan<C: Control + ?Sized>(ctl: &mut C) -> Result<f64, Errno> {
    let t = sys::monotonic_secs();
    let r = {
        let _blocked = sys::SignalsBlocked::new();
        ctl.command(Command::SCAN)
    };
    r.map(|()| sys::monotonic_secs() - t)
}

/// Objects in the report as it stands (a quick look, no grouping).
pub fn count_objects<C: Control + ?Sized>(ctl: &mut C, buf: &mut [u8]) -> Result<u32, Errno> {
    let mut p = crate::parse::kmemleak::KmemleakParser::default();
    ctl.read(buf, &mut |l| p.line(l, &mut |_| {}))?;
    Ok(p.objects)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The first scan: checksums of the objects of interest.
    First,
    /// Waiting for them to be old enough; then `1 + extra` scans and a look.
    Aging,
    /// Something was found: confirming scans.
    Confirm(u32),
    Done,
}

/// The scan dance as a state machine: [`Dance::poll`] does what is due and says when to
/// call again, so a command can sleep in between and `watch` can poll once per sample.
#[derive(Debug)]
pub struct Dance {
    phase: Phase,
    due: f64,
    /// When the objects of interest were allocated by the latest (the end of `run`'s
    /// command; the dance's start otherwise).
    since: f64,
    /// Scans before the first look beyond the one the checksum rule needs.
    extra: u32,
    /// How long each scan took, in seconds.
    pub scan_secs: heapless::Vec<f64, MAX_DANCE_SCANS>,
    /// Objects reported by the first look (0: the dance ended there).
    pub found: u32,
}

impl Dance {
    /// A dance for objects allocated until `since` (monotonic seconds); `min_unref_scans`
    /// as [`min_unref_scans`] reads it.
    pub fn new(since: f64, min_unref_scans: u32) -> Dance {
        Dance {
            phase: Phase::First,
            due: since,
            since,
            extra: min_unref_scans.saturating_sub(1),
            scan_secs: heapless::Vec::new(),
            found: 0,
        }
    }

    /// True once the dance is over.
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The longest scan so far, in seconds.
    pub fn longest_scan(&self) -> f64 {
        self.scan_secs.iter().fold(0.0, |a: f64, &b| a.max(b))
    }

    /// One scan; returns how long it took.
    fn scan<C: Control + ?Sized>(&mut self, ctl: &mut C) -> Result<f64, Unavailable> {
        let secs = scan(ctl).map_err(Unavailable::from_errno)?;
        let _ = self.scan_secs.push(secs);
        Ok(secs)
    }

    /// Does what is due at `now` (monotonic seconds). `Ok(Some(t))`: call again at `t`;
    /// `Ok(None)`: done, read the report. Times are `now` plus the scans' own durations,
    /// so a caller may pass its own clock (tests, watch's samples).
    pub fn poll<C: Control + ?Sized>(
        &mut self,
        ctl: &mut C,
        buf: &mut [u8],
        now: f64,
    ) -> Result<Option<f64>, Unavailable> {
        if now < self.due {
            return Ok(Some(self.due));
        }
        match self.phase {
            Phase::First => {
                self.scan(ctl)?;
                self.phase = Phase::Aging;
                self.due = self.since + MIN_AGE_SECS + AGE_MARGIN_SECS;
            }
            Phase::Aging => {
                let mut spent = 0.0;
                for _ in 0..=self.extra {
                    spent += self.scan(ctl)?;
                }
                self.found = count_objects(ctl, buf).map_err(Unavailable::from_errno)?;
                self.phase = if self.found == 0 { Phase::Done } else { Phase::Confirm(1 + self.extra) };
                self.due = now + spent + CONFIRM_SECS;
            }
            Phase::Confirm(n) => {
                let spent = self.scan(ctl)?;
                self.phase = if n <= 1 { Phase::Done } else { Phase::Confirm(n - 1) };
                self.due = now + spent;
            }
            Phase::Done => {}
        }
        Ok((!self.done()).then_some(self.due))
    }

    /// Runs the dance to its end, sleeping in between. `Ok(false)`: a stop signal cut a
    /// wait short (no scan is ever cut).
    pub fn run<C: Control + ?Sized>(&mut self, ctl: &mut C, buf: &mut [u8]) -> Result<bool, Unavailable> {
        loop {
            let now = sys::monotonic_secs();
            match self.poll(ctl, buf, now)? {
                None => return Ok(true),
                Some(t) => {
                    if !sys::sleep(t - now) {
                        return Ok(false);
                    }
                }
            }
        }
    }
}

/// A kmemleak session: the control file, the scan thread paused while kleak drives
/// scans, and one read buffer.
///
/// Leaving the kernel as found: the thread is restarted by [`Session::end`], which runs on
/// every way out (drop included: errors, EPIPE, every stop signal, which only sets a flag).
/// Against SIGKILL and power loss, a session on a real tree records the pause in
/// [`STATE_FILE`] while it lasts; the next kleak start finds it ([`recover`]).
pub struct Session<C: Control> {
    /// The control file.
    pub ctl: C,
    /// The report's read buffer (allocated once).
    pub buf: Box<[u8]>,
    /// `min_unref_scans` of this kernel (1 if it has none).
    pub min_unref_scans: u32,
    restart_thread: bool,
    /// Where the pause is recorded (None: not recorded, e.g. a test's fake).
    state: Option<FsRoot>,
}

impl<C: Control> Session<C> {
    /// Starts a session: pauses the kernel's scan thread (`scan=off`), which also proves
    /// kmemleak is enabled (EPERM if not). `thread_running`: restart it at the end.
    pub fn start(mut ctl: C, thread_running: bool, min_unref_scans: u32) -> Result<Session<C>, Unavailable> {
        ctl.command(Command::SCAN_OFF).map_err(Unavailable::from_errno)?;
        Ok(Session {
            ctl,
            buf: vec![0u8; READ_BUF_BYTES].into_boxed_slice(),
            min_unref_scans,
            restart_thread: thread_running,
            state: None,
        })
    }

    /// Restarts the kernel's scan thread if it was running (same period as before). After
    /// a stop signal, says so; a restart that fails says how to do it by hand.
    pub fn end(&mut self) {
        if !core::mem::take(&mut self.restart_thread) {
            return;
        }
        match self.ctl.command(Command::SCAN_ON) {
            Ok(()) => {
                if let Some(root) = self.state.take() {
                    let _ = sys::unlink(&[root.prefix(), STATE_FILE.as_bytes()]);
                }
                if sys::stop_requested() {
                    crate::out::note(format_args!(
                        "{}: kmemleak's scan thread restarted (scan=on), as it was before",
                        sys::signal_name(sys::stop_signal())
                    ));
                }
            }
            Err(e) => crate::out::note(format_args!(
                "could not restart kmemleak's scan thread: {e}; as root: echo scan=on > {PATH}"
            )),
        }
    }
}

impl<C: Control> Drop for Session<C> {
    fn drop(&mut self) {
        self.end();
    }
}

/// Opens kmemleak under `root` and starts a session on it; a paused scan thread is
/// recorded in [`STATE_FILE`] until the session ends.
pub fn session(root: &FsRoot, mount: bool) -> Result<Session<Debugfs>, Unavailable> {
    let ctl = open(root, mount)?;
    let running = scan_thread_running(root);
    // Recorded before the pause, so no kill can come between the two unrecorded.
    let recorded = running
        && record_pause(root)
            .map_err(|e| {
                crate::out::note(format_args!(
                    "{}{STATE_FILE}: {e}: if kleak is killed (SIGKILL, power loss), restart kmemleak's scan thread by hand: echo scan=on > {PATH}",
                    crate::arg::Shown(root.prefix())
                ))
            })
            .is_ok();
    match Session::start(ctl, running, min_unref_scans(root)) {
        Ok(mut s) => {
            s.state = recorded.then(|| root.clone());
            Ok(s)
        }
        Err(e) => {
            if recorded {
                let _ = sys::unlink(&[root.prefix(), STATE_FILE.as_bytes()]);
            }
            Err(e)
        }
    }
}

/// The record of a paused scan thread (`scan=off pid=N`), under the root prefix; it lives
/// while a session does, so one that outlives its kleak tells of a kill or a power loss.
pub const STATE_FILE: &str = "/run/kleak/kmemleak.state";

fn record_pause(root: &FsRoot) -> Result<(), Errno> {
    let dir = [root.prefix(), &STATE_FILE.as_bytes()[..STATE_FILE.rfind('/').unwrap_or(0)]].concat();
    sys::mkdirs(&dir)?;
    let f = File::open(&[root.prefix(), STATE_FILE.as_bytes()], Mode::CreateTruncate)?;
    let mut line = crate::out::Line::default();
    let mut boot = [0u8; 64];
    let boot = boot_id(root, &mut boot);
    let boot = core::str::from_utf8(boot).unwrap_or("");
    let _ = fmt::Write::write_fmt(&mut line, format_args!("scan=off pid={} boot={boot}\n", std::process::id()));
    f.write_all(line.as_bytes())?;
    f.sync()
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`; empty if unknown): a pause recorded
/// in another boot was undone by the reboot (a fresh kernel starts its scan thread).
fn boot_id<'b>(root: &FsRoot, buf: &'b mut [u8]) -> &'b [u8] {
    let n = crate::sample::read_small(root, "/proc/sys/kernel/random/boot_id", buf).unwrap_or(0);
    crate::parse::trim(&buf[..n])
}

/// The value of `key=` in a state record, up to the next space.
fn field<'t>(text: &'t [u8], key: &[u8]) -> &'t [u8] {
    let Some(at) = text.windows(key.len()).position(|w| w == key) else { return &[] };
    let v = &text[at + key.len()..];
    crate::parse::trim(&v[..v.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(v.len())])
}

/// What [`recover`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leftover {
    /// No record: nothing was left behind.
    Nothing,
    /// The kleak that paused the thread (this PID) still runs: its own.
    Running(u32),
    /// A kleak killed while the thread was paused (this PID) left it off; restarted now.
    Restored(u32),
    /// The same, and restarting it failed: why.
    NotRestored(u32, Unavailable),
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leftover::Nothing => f.write_str("no setting left changed by an interrupted run"),
            Leftover::Running(p) => write!(f, "kmemleak's scan thread is paused by kleak (pid {p}), running"),
            Leftover::Restored(p) => {
                write!(f, "kmemleak's scan thread was left off by an interrupted run (pid {p}); restored")
            }
            Leftover::NotRestored(p, e) => write!(
                f,
                "kmemleak's scan thread was left off by an interrupted run (pid {p}) and is still off ({e}); as root: echo scan=on > {PATH}"
            ),
        }
    }
}

static LEFTOVER: std::sync::Mutex<Leftover> = std::sync::Mutex::new(Leftover::Nothing);

/// Looks for a pause recorded by a kleak that did not end (SIGKILL, power loss) and
/// restarts the scan thread it left off. Runs once at every kleak start; says what it did.
pub fn recover(root: &FsRoot) -> Leftover {
    let mut buf = [0u8; 64];
    let n = match crate::sample::read_small(root, STATE_FILE, &mut buf) {
        Ok(n) => n,
        Err(_) => return Leftover::Nothing,
    };
    let text = &buf[..n];
    let pid = crate::parse::parse_u64(field(text, b"pid=")).unwrap_or(0) as u32;
    let mut now = [0u8; 64];
    if field(text, b"boot=") != boot_id(root, &mut now) {
        // Recorded before a reboot: the new kernel runs its scan thread as configured.
        let _ = sys::unlink(&[root.prefix(), STATE_FILE.as_bytes()]);
        return Leftover::Nothing;
    }
    let alive = pid != 0 && pid != std::process::id() && sys::kill(pid as i32, 0) != Err(Errno::ESRCH);
    let found = if alive {
        Leftover::Running(pid)
    } else {
        match open(root, false).and_then(|mut c| c.command(Command::SCAN_ON).map_err(Unavailable::from_errno)) {
            Ok(()) => {
                let _ = sys::unlink(&[root.prefix(), STATE_FILE.as_bytes()]);
                Leftover::Restored(pid)
            }
            Err(e) => Leftover::NotRestored(pid, e),
        }
    };
    if !matches!(found, Leftover::Running(_)) {
        crate::out::note(format_args!("{found}"));
    }
    if let Ok(mut l) = LEFTOVER.lock() {
        *l = found;
    }
    found
}

/// What [`recover`] found when this kleak started (`kleak doctor` shows it).
pub fn leftover() -> Leftover {
    LEFTOVER.lock().map_or(Leftover::Nothing, |l| *l)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn commands_are_checked_before_they_are_written() {
        for ok in ["scan", "clear", "off", "stack=on", "stack=off", "scan=on", "scan=off", "scan=600", "scan=0"] {
            assert_eq!(Command::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Command::parse("dump=0xffff888109e0af00").unwrap().to_string(), "dump=0xffff888109e0af00");
        for bad in
            ["", "scan=", "scan=-1", "scan=1.5", "scan=99999999", "dump=", "dump=123", "dump=0xzz", "Scan", "scan "]
        {
            assert!(Command::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Command::parse("scan=1.5").unwrap_err().contains("whole seconds"));
        assert!(Command::parse("dump=1").unwrap_err().contains("not a kmemleak command"));
    }

    #[test]
    fn errors_name_the_fix() {
        assert_eq!(Unavailable::from_errno(Errno::EPERM).to_string(), "kmemleak is disabled; boot with kmemleak=on");
        assert_eq!(Unavailable::from_errno(Errno(libc::EBUSY)), Unavailable::Disabled);
        assert!(Unavailable::from_errno(Errno::EACCES).to_string().contains("needs root"));
        assert!(Unavailable::NotBuilt.to_string().contains("CONFIG_DEBUG_KMEMLEAK"));
        assert!(Unavailable::NotMounted.to_string().contains("mount -t debugfs none /sys/kernel/debug"));
        assert_eq!(Unavailable::Disabled.error().exit, crate::Exit::Env);
    }
}
