//! `kleak doctor`: what kleak can and cannot do on this kernel, one line each, and for each
//! gap the kernel option, boot parameter or command that fills it.
//!
//! Exit 0 when everything slab and kmemleak work needs is there (root, /proc/slabinfo,
//! debugfs, kmemleak enabled), 3 otherwise. Other findings are warnings: kleak works
//! without them, with less detail.

use crate::cli::Ctx;
use crate::kmemleak::Leftover;
use crate::out::fmt::Size;
use crate::out::{Color, Out, Paint};
use crate::outln;
use crate::parse::{trim, Tokens};
use crate::sample::{read_small, FileStatus, FsRoot, Root, Sampler};
use crate::sys::{self, Errno, Mode};
use crate::tables::{PageSizeFrom, Source};
use crate::{Error, Exit};
use argh::FromArgs;

/// say what kleak can do on this kernel and how to fix what is missing
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "doctor",
    example = "first thing on a new board:\n  $ kleak doctor",
    example = "check a captured tree (sosreport, board dump):\n  $ kleak --root /tmp/board-dump doctor"
)]
pub struct DoctorArgs {
    /// directory where a ring log would go, to check its free space (default: .)
    #[argh(option, arg_name = "DIR", default = "crate::arg::Arg::from(\".\")")]
    pub log_dir: crate::arg::Arg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Missing,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Missing => "MISSING",
        }
    }

    fn color(self) -> Color {
        match self {
            Status::Ok => Color::Green,
            Status::Warn => Color::Yellow,
            Status::Missing => Color::Red,
        }
    }
}

/// One finding.
struct Check {
    name: &'static str,
    status: Status,
    detail: String,
    fix: &'static str,
    /// Slab and kmemleak work need it (a gap makes the exit code 3).
    required: bool,
}

impl Check {
    fn new(name: &'static str, required: bool) -> Check {
        Check { name, status: Status::Ok, detail: String::new(), fix: "", required }
    }
    fn ok(mut self, detail: impl Into<String>) -> Check {
        self.status = Status::Ok;
        self.detail = detail.into();
        self
    }
    fn warn(mut self, detail: impl Into<String>, fix: &'static str) -> Check {
        self.status = Status::Warn;
        self.detail = detail.into();
        self.fix = fix;
        self
    }
    fn missing(mut self, detail: impl Into<String>, fix: &'static str) -> Check {
        self.status = if self.required { Status::Missing } else { Status::Warn };
        self.detail = detail.into();
        self.fix = fix;
        self
    }
}

/// Path under the root as bytes, for sys calls.
fn at<'a>(root: &'a FsRoot, path: &'a str) -> [&'a [u8]; 2] {
    [root.prefix(), path.as_bytes()]
}

/// The text of a small file under the root, trimmed; empty if unreadable.
fn text(root: &FsRoot, path: &str) -> String {
    let mut buf = [0u8; crate::limits::DOCTOR_FILE_BYTES];
    match read_small(root, path, &mut buf) {
        Ok(n) => String::from_utf8_lossy(trim(&buf[..n])).into_owned(),
        Err(_) => String::new(),
    }
}

/// Runs `kleak doctor`.
pub fn run(ctx: &mut Ctx, args: &DoctorArgs) -> Result<Exit, Error> {
    let root = ctx.root.clone();
    let live = root.is_live();
    let cmdline = text(&root, "/proc/cmdline");
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    let value = |key: &str| words.iter().rev().find_map(|x| x.strip_prefix(key).and_then(|v| v.strip_prefix('=')));

    let mut checks = Vec::new();

    let c = Check::new("root", true);
    checks.push(if !live {
        c.ok("n/a for a captured tree")
    } else if sys::euid() == 0 {
        c.ok("running as root")
    } else {
        c.missing("not root: /proc/slabinfo and debugfs are root-only", "run kleak as root")
    });

    let mut sampler = Sampler::new(root.clone());
    sampler.sample(0.0);
    let t = &sampler.tables;
    let c = Check::new("slabinfo", true);
    checks.push(match sampler.status[Source::Slabinfo.index()] {
        FileStatus::Ok => {
            let v = t.slabinfo_parser.version.map(|v| format!("{}.{}", v.major, v.minor)).unwrap_or_default();
            let allocator = if t.slabinfo_parser.slab_allocator { "SLAB" } else { "SLUB" };
            let caches = t.slab.entries().len();
            c.ok(format!("{allocator}, slabinfo {v}, {caches} caches"))
        }
        FileStatus::NeedsRoot => c.missing("/proc/slabinfo needs root (mode 0400)", "run kleak as root"),
        FileStatus::Missing => c.missing(
            "no /proc/slabinfo: per-cache figures unavailable",
            "kernel option CONFIG_SLUB_DEBUG=y (SLUB), or CONFIG_SLAB=y before 6.8",
        ),
        FileStatus::Failed(e) => c.missing(format!("/proc/slabinfo: {e}"), "check /proc"),
    });

    let c = Check::new("page size", false);
    checks.push(match t.page_size_from {
        PageSizeFrom::Assumed => c.warn("unknown, 4096 assumed", "a tree needs /proc/meminfo and /proc/vmstat"),
        _ => c.ok(format!("{} bytes", t.page_size)),
    });

    let c = Check::new("slab merging", false);
    checks.push(if has("slab_nomerge") || has("slub_nomerge") {
        c.ok("off (slab_nomerge): every cache is listed under its own name")
    } else if cmdline.is_empty() {
        c.warn("unknown: no /proc/cmdline", "")
    } else {
        c.warn(
            "on: a driver's cache may be counted under another cache's name",
            "boot with slab_nomerge to see each cache by its own name",
        )
    });

    let c = Check::new("slab aliases", false);
    let (mut dirs, mut links) = (0u32, 0u32);
    let listed = sys::read_dir(&at(&root, "/sys/kernel/slab"), |_, link| {
        dirs += !link as u32;
        links += link as u32;
        true
    });
    checks.push(match listed {
        Ok(()) => c.ok(format!("/sys/kernel/slab: {dirs} caches, {links} merged names")),
        Err(_) => c.warn("no /sys/kernel/slab: merged cache names cannot be resolved", "SLUB with CONFIG_SYSFS=y"),
    });

    // What the kernel was built with, readable without debugfs.
    let kconfig = crate::kconfig::read_config(&root);
    let kallsyms = crate::kconfig::kallsyms_has(&root, b"kmemleak_alloc");
    let (built, how) = match &kconfig {
        Ok(k) => (Some(k.has("CONFIG_DEBUG_KMEMLEAK")), "/proc/config.gz"),
        Err(_) => (kallsyms, "/proc/kallsyms"),
    };
    let c = Check::new("kernel config", false);
    checks.push(match &kconfig {
        Ok(k) => {
            let mut d = String::from("/proc/config.gz:");
            for o in ["CONFIG_DEBUG_KMEMLEAK", "CONFIG_DEBUG_FS", "CONFIG_SLUB_DEBUG"] {
                d.push_str(&format!(" {o}={}", if k.has(o) { "y" } else { "n" }));
            }
            c.ok(d)
        }
        Err(e) => {
            let k = match kallsyms {
                Some(true) => "; /proc/kallsyms has kmemleak_alloc",
                Some(false) => "; /proc/kallsyms has no kmemleak_alloc",
                None => "",
            };
            c.warn(format!("{e}{k}"), "kernel option CONFIG_IKCONFIG_PROC=y lets kleak read the kernel's options")
        }
    });

    let mounts = text(&root, "/proc/mounts");
    let debugfs_at = mounts
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let (_, dir, kind) = (f.next(), f.next()?, f.next()?);
            (kind == "debugfs").then(|| dir.to_string())
        })
        .or_else(|| sys::exists(&at(&root, "/sys/kernel/debug/kmemleak")).then(|| "/sys/kernel/debug".into()));
    let debugfs = debugfs_at.as_deref() == Some("/sys/kernel/debug");
    let c = Check::new("debugfs", true);
    checks.push(match &debugfs_at {
        Some(d) if debugfs => c.ok(format!("mounted at {d}")),
        Some(d) => c.missing(
            format!("mounted at {d}, kleak looks in /sys/kernel/debug"),
            "mount -t debugfs none /sys/kernel/debug",
        ),
        None => c.missing("not mounted", "mount -t debugfs none /sys/kernel/debug (needs CONFIG_DEBUG_FS=y)"),
    });

    let c = Check::new("kmemleak", true);
    let kmemleak = "/sys/kernel/debug/kmemleak";
    let default_off = kconfig.as_ref().is_ok_and(|k| k.has("CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF"));
    checks.push(if built == Some(false) {
        c.missing(format!("not built into this kernel ({how})"), "kernel option CONFIG_DEBUG_KMEMLEAK=y")
    } else if !debugfs && built == Some(true) {
        c.missing(format!("built in ({how}); debugfs is not mounted"), "mount -t debugfs none /sys/kernel/debug")
    } else if !debugfs {
        c.missing("unknown until debugfs is mounted", "mount -t debugfs none /sys/kernel/debug")
    } else if !sys::exists(&at(&root, kmemleak)) {
        c.missing("no /sys/kernel/debug/kmemleak", "kernel option CONFIG_DEBUG_KMEMLEAK=y")
    } else if value("kmemleak") == Some("off") {
        c.missing("disabled on the kernel command line (kmemleak=off)", "boot with kmemleak=on")
    } else if !live {
        c.ok("present (not probed in a captured tree)")
    } else {
        // Every write but `clear` fails with EPERM (EBUSY before 5.x) while kmemleak is
        // disabled; `dump=0` is harmless when enabled (EINVAL: no object at 0).
        match sys::File::open(&at(&root, kmemleak), Mode::Write).and_then(|f| f.write(b"dump=0")) {
            Err(e) if e == Errno::EPERM || e.0 == libc::EBUSY => c.missing(
                if default_off {
                    "disabled (CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF=y in /proc/config.gz)"
                } else {
                    "disabled (CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF=y?)"
                },
                "boot with kmemleak=on",
            ),
            Err(Errno::EACCES) => c.missing("present; probing it needs root", "run kleak as root"),
            _ => c.ok("present and enabled"),
        }
    });

    let c = Check::new("kmemleak knobs", false);
    let params = "/sys/module/kmemleak/parameters";
    if sys::exists(&at(&root, params)) {
        let verbose = text(&root, &format!("{params}/verbose"));
        let unref = text(&root, &format!("{params}/min_unref_scans"));
        let mut d = format!("verbose={}", if verbose.is_empty() { "?" } else { &verbose });
        d.push_str(if unref.is_empty() { ", no min_unref_scans" } else { ", min_unref_scans=" });
        d.push_str(&unref);
        d.push_str("; scan period not exported (default 600 s)");
        checks.push(c.ok(d));
    } else {
        checks.push(c.ok("scan period not exported (default 600 s); no module parameters"));
    }

    // What the start of this kleak found (kmemleak::recover): a setting an interrupted run
    // (SIGKILL, power loss) left changed, and whether it was put back.
    let c = Check::new("left as found", false);
    let left = crate::kmemleak::leftover();
    checks.push(match left {
        Leftover::Nothing | Leftover::Running(_) => c.ok(left.to_string()),
        Leftover::Restored(_) => c.warn(left.to_string(), ""),
        Leftover::NotRestored(..) => c.warn(left.to_string(), "as root: echo scan=on > /sys/kernel/debug/kmemleak"),
    });

    let c = Check::new("alloc traces", false);
    let mut traced = 0u32;
    let mut caches = Vec::new();
    let _ = sys::read_dir(&at(&root, "/sys/kernel/debug/slab"), |name, _| {
        caches.push(name.to_vec());
        true
    });
    for name in &caches {
        let mut p = b"/sys/kernel/debug/slab/".to_vec();
        p.extend_from_slice(name);
        p.extend_from_slice(b"/alloc_traces");
        traced += sys::exists(&[root.prefix(), &p]) as u32;
    }
    let debug_flags = value("slab_debug").or(value("slub_debug")).unwrap_or("");
    checks.push(if traced > 0 {
        c.ok(format!("{traced} caches record allocation call sites"))
    } else if debug_flags.contains('U') {
        c.warn(format!("slab_debug={debug_flags} but no alloc_traces in debugfs"), "SLUB 5.17+ with debugfs mounted")
    } else {
        c.warn("no per-cache allocation call sites", "boot with slab_debug=U (slub_debug=U before 6.8); costs memory")
    });

    let c = Check::new("kernel log", false);
    checks.push(if !live {
        c.ok("n/a for a captured tree")
    } else {
        match sys::File::open(&[b"/dev/kmsg"], Mode::ReadNonBlock) {
            Ok(_) => c.ok("/dev/kmsg readable (kmemleak dump=, OOM last gasp)"),
            Err(e) => c.warn(format!("/dev/kmsg: {}", e.name()), "run as root, or sysctl kernel.dmesg_restrict=0"),
        }
    });

    let c = Check::new("log space", false);
    checks.push(match sys::free_bytes(&[args.log_dir.as_bytes()]) {
        Ok(b) if b >= 1 << 20 => c.ok(format!("{} free in {}", Size::of(b as i64, true), args.log_dir)),
        Ok(b) => c.warn(
            format!("only {} free in {}", Size::of(b as i64, true), args.log_dir),
            "choose --log-dir on a bigger file system",
        ),
        Err(e) => c.warn(format!("{}: {e}", args.log_dir), "choose an existing --log-dir"),
    });

    let release = text(&root, "/proc/sys/kernel/osrelease");
    let missing: Vec<&str> = checks.iter().filter(|c| c.status == Status::Missing).map(|c| c.name).collect();
    // A closed stdout still gets the exit code the findings call for.
    let _ = report(&mut ctx.out, &checks, &release, &missing);
    Ok(if missing.is_empty() { Exit::Ok } else { Exit::Env })
}

/// Width of the check-name column.
const NAME: usize = 14;

fn report(out: &mut Out, checks: &[Check], release: &str, missing: &[&str]) -> Result<(), crate::out::Closed> {
    if out.style.json {
        for c in checks {
            let mut j = out.line().json("check");
            j.str("name", c.name).str("status", c.status.word()).str("detail", &c.detail);
            if !c.fix.is_empty() {
                j.str("fix", c.fix);
            }
            j.bool("required", c.required).end();
            out.emit()?;
        }
        let mut j = out.line().json("summary");
        j.str("command", "doctor")
            .bool("ready", missing.is_empty())
            .str("missing", &missing.join(","))
            .str("release", release);
        j.end();
        return out.emit();
    }
    outln!(out, "kleak doctor: Linux {}", if release.is_empty() { "?" } else { release })?;
    let indent = 9 + NAME;
    let width = out.style.width;
    for c in checks {
        let first = format!("{:<7} {:<NAME$} ", Paint(c.status.word(), c.status.color(), out.style.color), c.name);
        wrap(out, &first, &c.detail, indent, width)?;
        if !c.fix.is_empty() {
            wrap(out, &format!("{:indent$}", ""), &format!("fix: {}", c.fix), indent, width)?;
        }
    }
    if missing.is_empty() {
        outln!(out, "kleak doctor: ready for slab and kmemleak work")
    } else {
        outln!(out, "kleak doctor: not ready, missing: {} (exit 3)", missing.join(", "))
    }
}

/// Writes `lead` + `text`, wrapped at `width` with continuation lines indented by `indent`.
fn wrap(out: &mut Out, lead: &str, text: &str, indent: usize, width: usize) -> Result<(), crate::out::Closed> {
    let room = width.saturating_sub(indent).max(20);
    let mut line = String::from(lead);
    let mut used = 0;
    for word in Tokens::new(text.as_bytes()) {
        let word = core::str::from_utf8(word).unwrap_or("?");
        if used > 0 && used + 1 + word.len() > room {
            outln!(out, "{line}")?;
            line = format!("{:indent$}", "");
            used = 0;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += word.len();
    }
    outln!(out, "{line}")
}
