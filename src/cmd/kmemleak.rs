//! `kleak kmemleak COMMAND`: one kmemleak command, checked before it is written, with an
//! error that says what to do when it cannot be.

use crate::cli::Ctx;
use crate::kmemleak::{self, Command, Control, Unavailable};
use crate::kmsg::Kmsg;
use crate::out::fmt::Fixed;
use crate::out::{Closed, Out};
use crate::outln;
use crate::sys::Errno;
use crate::{Error, Exit};
use argh::FromArgs;

/// send one command to kmemleak (scan, clear, off, stack=, scan=, dump=)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "kmemleak",
    example = "what kmemleak knows of one object (shown from the kernel log):\n  $ kleak kmemleak dump=0xffff000012345600",
    note = "Exit 3 when kmemleak cannot be used; the message says why."
)]
pub struct KmemleakArgs {
    /// one of the commands above
    #[argh(positional, arg_name = "COMMAND", from_str_fn(crate::arg::text))]
    pub command: String,
    /// mount debugfs if it is not mounted (root)
    #[argh(switch)]
    pub mount: bool,
}

/// Runs `kleak kmemleak`.
pub fn run(ctx: &mut Ctx, args: &KmemleakArgs) -> Result<Exit, Error> {
    let cmd =
        Command::parse(&args.command).map_err(|e| Error::usage(format_args!("kmemleak: `{}`: {e}", args.command)))?;
    let mut ctl = kmemleak::open(&ctx.root, args.mount).map_err(Unavailable::error)?;
    let failed = |e: Errno| Unavailable::from_errno(e).error();
    let out = &mut ctx.out;
    let r = match cmd.as_str() {
        "scan" => {
            let secs = kmemleak::scan(&mut ctl).map_err(failed)?;
            done(out, cmd, Some(secs), "see `kleak leaks`")
        }
        c if c.starts_with("dump=") => {
            // The answer goes to the kernel log: remember where the log ends, then show what
            // the command added to it.
            let kmsg = Kmsg::open(ctx.root.prefix());
            let known = match ctl.command(cmd) {
                Ok(()) => true,
                Err(Errno(libc::EINVAL)) => false,
                Err(e) => return Err(failed(e)),
            };
            let r = kernel_log(out, kmsg);
            let why = if known { "" } else { "kmemleak knows no object there" };
            r.and_then(|()| done(out, cmd, None, why))
        }
        c => {
            ctl.command(cmd).map_err(failed)?;
            let what = match c {
                "off" => "kmemleak is off until reboot",
                "clear" => "reported objects will not be reported again",
                "scan=0" | "scan=off" => "the scan thread is stopped",
                _ => "",
            };
            done(out, cmd, None, what)
        }
    };
    // A closed stdout (Err(Closed)) ends the command quietly; the command itself was done.
    let _ = r;
    Ok(Exit::Ok)
}

/// Shows the kernel log records that follow the position `kmsg` was left at.
fn kernel_log(out: &mut Out, kmsg: Result<Kmsg, Errno>) -> Result<(), Closed> {
    let mut k = match kmsg {
        Ok(k) => k,
        Err(e) => return outln!(out, "kmemleak: the answer is in the kernel log (dmesg); /dev/kmsg: {e}"),
    };
    let mut r = Ok(());
    // Bounded: a kernel that logs without pause must not keep kleak here.
    let records = k.drain(256, |text| {
        if !out.style.json && r.is_ok() {
            r = outln!(out, "kernel: {}", core::str::from_utf8(text).unwrap_or("(not UTF-8)"));
        }
    });
    r?;
    if records == 0 && !out.style.json {
        outln!(out, "kmemleak: the answer is in the kernel log (dmesg); nothing new in /dev/kmsg")?;
    }
    Ok(())
}

fn done(out: &mut Out, cmd: Command<'_>, secs: Option<f64>, note: &str) -> Result<(), Closed> {
    if !out.style.json {
        if let Some(s) = secs {
            return outln!(out, "kmemleak: {cmd}: {}s; {note}", Fixed(s, 2));
        }
        return outln!(out, "kmemleak: {cmd}: {}", if note.is_empty() { "done" } else { note });
    }
    let mut j = out.line().json("summary");
    j.str("command", "kmemleak").str("kmemleak_command", cmd.as_str()).str("note", note);
    if let Some(s) = secs {
        j.f64("scan_secs", s);
    }
    j.end();
    out.emit()
}
