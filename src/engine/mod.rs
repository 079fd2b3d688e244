//! The engines: each owns a loop, does the I/O its verdicts request and prints through
//! [`crate::out`]. [`watch`] samples and judges until stopped, [`run`] runs a command
//! between two samples and kmemleak's scans, [`leaks`] paces kmemleak's scans for `watch`.
//! What they share: starting a sampler, telling the user once what cannot be read, and
//! the closing summary.

pub mod leaks;
pub mod run;
pub mod watch;

use crate::cli::Ctx;
use crate::out::note;
use crate::sample::{FileStatus, Root, Sampler};
use crate::tables::{Source, Tables};
use crate::{sys, Error};

/// Opens the sampler on the command's root and takes the first sample. Fails with an
/// environment error when none of the three files can be read.
pub fn start(ctx: &Ctx) -> Result<Sampler<crate::sample::FsRoot>, Error> {
    let mut s = Sampler::new(ctx.root.clone());
    s.tables.slab.set_matcher(ctx.matcher.clone());
    s.sample(sys::monotonic_secs());
    report_status(&mut s);
    explain_matches(ctx, &mut s.tables);
    if s.tables.have.iter().all(|h| !h) {
        return Err(Error::env(format_args!(
            "nothing to read: {}/proc/slabinfo, /proc/vmstat and /proc/meminfo are all unavailable (is /proc mounted?)",
            crate::arg::Shown(ctx.root.prefix())
        )));
    }
    Ok(s)
}

/// For each `--match` pattern that chose no listed cache: the cache it is merged into
/// (SLUB's aliases in /sys/kernel/slab), shown instead, or a note that it matches nothing.
pub fn explain_matches(ctx: &Ctx, t: &mut Tables) {
    if !t.have[0] {
        return;
    }
    for pat in ctx.matcher.includes() {
        let pb = pat.as_bytes();
        if t.slab.entries().iter().any(|e| e.presence.now && crate::matcher::glob(pb, e.name.as_bytes())) {
            continue;
        }
        let entries = t.slab.entries();
        let listed = |n: &[u8]| entries.iter().any(|e| e.presence.now && e.name.as_bytes() == n);
        let merged = crate::matcher::merged_into(&ctx.root, pat, &listed);
        if merged.is_empty() {
            note(format_args!("--match {pat}: no slab cache matches"));
        }
        for m in merged {
            note(format_args!(
                "{} is merged into {} (/sys/kernel/slab/{0} -> {}): showing {1}; boot with slab_nomerge to see it by its own name",
                m.alias, m.host, m.dir
            ));
            t.slab.show(&m.host);
        }
    }
}

/// Tells the user, once per change, about a source that cannot be read.
pub fn report_status<R: Root>(s: &mut Sampler<R>) {
    for src in Source::ALL {
        let i = src.index();
        if !s.status_changed[i] {
            continue;
        }
        s.status_changed[i] = false;
        let st = s.status[i];
        if let Some(why) = st.explain(src) {
            match st {
                FileStatus::Failed(e) => note(format_args!("{}: {e}: {why}", src.path())),
                _ if src == Source::Slabinfo => note(format_args!("{why}")),
                _ => note(format_args!("{}: {why}", src.path())),
            }
        }
    }
}

/// Notes about what was skipped or did not fit, for the end of a text command.
pub fn report_skipped(t: &Tables) {
    let stats =
        [("slabinfo", t.slabinfo_parser.stats), ("vmstat", t.vmstat_parser.stats), ("meminfo", t.meminfo_parser.stats)];
    for (name, st) in stats {
        if st.malformed > 0 {
            note(format_args!(
                "{name}: {} malformed line(s) skipped (first at line {})",
                st.malformed, st.first_malformed
            ));
        }
    }
    let o = t.slab.overflow;
    if o.untracked > 0 {
        note(format_args!(
            "{} caches not tracked: table full ({}); raise MAX_CACHES in src/limits.rs",
            o.untracked,
            crate::limits::MAX_CACHES
        ));
    }
    let g = t.vmstat.overflow.untracked + t.meminfo.overflow.untracked;
    if g > 0 {
        note(format_args!("{g} vmstat/meminfo values not tracked: table full"));
    }
}
