//! `kleak snapshot`: the raw /proc files as read, with a header saying where and when.

use crate::arg::Arg;
use crate::cli::Ctx;
use crate::engine::start;
use crate::out::note;
use crate::snapshot;
use crate::sys::{self, Mode};
use crate::{Error, Exit};
use argh::FromArgs;

/// save slabinfo, vmstat and meminfo as read, for `kleak diff` later
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "snapshot",
    example = "record one snapshot a minute from cron:\n  * * * * * kleak snapshot -o /data/kleak/$(date +%s).snap"
)]
pub struct SnapshotArgs {
    /// write to FILE instead of standard output
    #[argh(option, short = 'o', arg_name = "FILE")]
    pub output: Option<Arg>,
}

/// Runs `kleak snapshot`.
pub fn run(ctx: &mut Ctx, args: &SnapshotArgs) -> Result<Exit, Error> {
    let mut s = start(ctx)?;
    let host = s.host();
    let Some(path) = &args.output else {
        return match snapshot::write(&mut s, &host, sys::write_stdout) {
            Ok(()) | Err(sys::Errno::EPIPE) => Ok(Exit::Ok),
            Err(e) => Err(Error::env(format_args!("writing the snapshot: {e}"))),
        };
    };
    // Write beside the target and rename, so a power cut never leaves half a snapshot.
    let tmp = path.with_suffix(".tmp");
    let file =
        sys::File::open(&[tmp.as_bytes()], Mode::CreateTruncate).map_err(|e| Error::env(format_args!("{tmp}: {e}")))?;
    let mut bytes = 0u64;
    snapshot::write(&mut s, &host, |b| {
        bytes += b.len() as u64;
        file.write_all(b)
    })
    .and_then(|_| file.sync())
    .map_err(|e| Error::env(format_args!("{tmp}: {e}")))?;
    sys::rename(&[tmp.as_bytes()], &[path.as_bytes()]).map_err(|e| Error::env(format_args!("{path}: {e}")))?;
    if ctx.out.style.json {
        let t = &s.tables;
        let _ = crate::out::summary(&mut ctx.out, "snapshot", t, |j| {
            j.str("file", &path.to_string()).u64("bytes", bytes);
        });
    } else {
        note(format_args!("snapshot written to {path} ({bytes} bytes)"));
    }
    Ok(Exit::Ok)
}
