//! `kleak run -- CMD`: the kmemleak documentation's "test a section" flow, automated
//! ([`crate::engine::run`] runs it).

use crate::cli::{parse_duration, parse_size, Ctx};
use crate::engine::run::Plan;
use crate::{Error, Exit};
use argh::FromArgs;

command_args! {
/// run a command and report the kernel memory it leaked (kmemleak, slab, meminfo)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "run",
    example = "load and unload a module, then scan for what it leaked:\n  $ kleak run -- sh -c 'insmod ./mydrv.ko && rmmod mydrv'",
    note = "Exit 0 clean, 1 kmemleak found leaks, 4 the command failed.\nSlab growth is shown, not judged."
)]
pub struct RunArgs {
    /// seconds to wait after the command (default 2)
    #[argh(option, default = "2.0", from_str_fn(parse_duration))]
    pub settle: f64,
    /// run the command N times (default 1)
    #[argh(option, default = "1")]
    pub repeat: u32,
    /// print the verdict as KTAP (kselftest, LAVA, KernelCI)
    #[argh(switch)]
    pub ktap: bool,
    /// split kmemleak groups by contents checksum too (crc)
    #[argh(switch)]
    pub by_crc: bool,
    /// mount debugfs if it is not mounted (root)
    #[argh(switch)]
    pub mount: bool,
    log_options!("seconds between samples logged while CMD runs (default 60)"),
    /// the command and its arguments, after --
    #[argh(positional, greedy, arg_name = "CMD")]
    pub cmd: Vec<crate::arg::Arg>,
}
}

/// Runs `kleak run`.
pub fn run(ctx: &mut Ctx, args: &RunArgs) -> Result<Exit, Error> {
    if args.cmd.is_empty() {
        return Err(Error::usage("run: give the command after --: kleak run -- CMD [ARGS...]"));
    }
    if args.repeat == 0 {
        return Err(Error::usage("run: --repeat must be at least 1"));
    }
    if args.ktap && ctx.out.style.json {
        return Err(Error::usage("run: --ktap or --json, not both"));
    }
    let log = args.log().check()?;
    let plan = Plan {
        cmd: &args.cmd,
        repeat: args.repeat,
        settle: args.settle,
        ktap: args.ktap,
        by_crc: args.by_crc,
        mount: args.mount,
        log,
    };
    crate::engine::run::run(ctx, &plan)
}
