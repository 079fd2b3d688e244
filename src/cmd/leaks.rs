//! `kleak leaks`: kmemleak's report, grouped by where the leaks were allocated.

use crate::arg::Arg;
use crate::cli::Ctx;
use crate::engine::leaks::read;
use crate::kmemleak::{self, Command, Control, Dance, Unavailable};
use crate::leaks::Groups;
use crate::limits::READ_BUF_BYTES;
use crate::out::leaks::{counts, notes, scans, show};
use crate::out::Closed;
use crate::sys;
use crate::{Error, Exit};
use argh::FromArgs;

/// group kmemleak's report by where the leaks were allocated, largest first
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "leaks",
    example = "scan reliably, show the groups, then clear them:\n  $ kleak leaks --scan --clear",
    note = "Exit 0: nothing reported; 1: leaks reported; 3: kmemleak unavailable."
)]
pub struct LeaksArgs {
    /// scan reliably first (takes 6 s or more)
    #[argh(switch)]
    pub scan: bool,
    /// then clear the report: the next look shows only new objects
    #[argh(switch)]
    pub clear: bool,
    /// read a saved report, console log or mail instead
    #[argh(option, arg_name = "FILE")]
    pub input: Option<Arg>,
    /// split groups by contents checksum too (crc)
    #[argh(switch)]
    pub by_crc: bool,
    /// mount debugfs if it is not mounted (root)
    #[argh(switch)]
    pub mount: bool,
}

/// Runs `kleak leaks`.
pub fn run(ctx: &mut Ctx, args: &LeaksArgs) -> Result<Exit, Error> {
    let mut groups = Groups::default();
    groups.by_crc = args.by_crc;
    groups.matcher = ctx.matcher.clone();
    let mut dance = None;
    let input;
    let source = match &args.input {
        Some(file) => {
            if args.scan || args.clear || args.mount {
                return Err(Error::usage("leaks: --input excludes --scan, --clear and --mount"));
            }
            read_file(file, &mut groups)?;
            input = file.to_string();
            &input
        }
        None if args.scan => {
            // The scan thread stays paused until the report is read (Session's drop).
            let mut s = kmemleak::session(&ctx.root, args.mount).map_err(Unavailable::error)?;
            let mut d = Dance::new(sys::monotonic_secs(), s.min_unref_scans);
            d.run(&mut s.ctl, &mut s.buf).map_err(Unavailable::error)?;
            dance = Some(d);
            read_and_clear(&mut s.ctl, &mut s.buf, &mut groups, args.clear)?;
            kmemleak::PATH
        }
        None => {
            let mut ctl = kmemleak::open(&ctx.root, args.mount).map_err(Unavailable::error)?;
            read_and_clear(&mut ctl, &mut vec![0u8; READ_BUF_BYTES], &mut groups, args.clear)?;
            kmemleak::PATH
        }
    };
    let out = &mut ctx.out;
    let found = groups.objects() > 0 || groups.untracked_objects > 0;
    let r = (|| -> Result<(), Closed> {
        if let Some(d) = &dance {
            scans(out, d)?;
        }
        show(out, &groups, sys::page_size(), &[])?;
        if out.style.json {
            let mut j = out.line().json("summary");
            j.str("command", "leaks").str("source", source);
            counts(&mut j, &groups);
            if let Some(d) = &dance {
                j.u64("scans", d.scan_secs.len() as u64).f64("scan_secs_max", d.longest_scan());
            }
            j.bool("cleared", args.clear).end();
            out.emit()?;
        }
        Ok(())
    })();
    if !out.style.json {
        notes(&groups);
    }
    match r {
        Err(Closed) => Ok(Exit::Ok),
        Ok(()) => Ok(if found { Exit::Leak } else { Exit::Ok }),
    }
}

/// Reads a saved report into `groups`.
fn read_file(file: &Arg, groups: &mut Groups) -> Result<(), Error> {
    let mut buf = vec![0u8; READ_BUF_BYTES];
    kmemleak::read_file(&crate::sample::FsRoot::live(), file.as_bytes(), &mut buf, &mut |l| groups.line(l))
        .map_err(|e| Error::env(format_args!("{file}: {e}")))?;
    groups.finish();
    Ok(())
}

fn read_and_clear(ctl: &mut dyn Control, buf: &mut [u8], groups: &mut Groups, clear: bool) -> Result<(), Error> {
    let err = |e| Unavailable::from_errno(e).error();
    read(ctl, buf, groups).map_err(err)?;
    if clear {
        ctl.command(Command::CLEAR).map_err(err)?;
    }
    Ok(())
}
