//! How an [`Alert`] looks: one text line for a serial console, one JSON object, and the
//! sparkline. Both render into a caller's [`Line`], so a ring log can store an alert's
//! line without allocating.
//!
//! Text lines (every one starts with `kleak: ` and a severity word, and fits the width):
//!
//! ```text
//! kleak: LEAK kmalloc-128 +3.0M/10m +24,310 objs 5.1K/s ▁▂▃▄▅▆▇█ suspect
//! kleak: LEAK kmalloc-128 +3.1M/10m +24,980 objs 5.2K/s ▁▂▃▄▅▆▇█ still growing
//! kleak: LEAK kmalloc-128 +96K/10m ▇▇███▇▇▇ recovered after 41m
//! kleak: LEAK kmalloc-128 gone after 41m (cache destroyed): recovered
//! kleak: GROW dentry +30M/10m +151,044 objs 51K/s ▁▂▃▄▅▆▇█ suspect
//! kleak: GROW dentry drop_caches freed 29M: reclaimable, recovered
//! kleak: LEAK dentry kept 31M through drop_caches: suspect
//! kleak: +3 more alerts (--max-alerts 4)
//! ```

use super::fmt::{Count, Dur, Fit, Size};
use super::{Closed, Line, Out, Style};
use crate::limits::MAX_ALERTS_SHOWN;
use crate::trend::Change;
use crate::verdict::{state_str, Alert, Reclaim, Severity, Spark, Tally};
use core::fmt::{self, Display, Formatter, Write};

/// Sparkline blocks, lowest to highest.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// The same levels in ASCII, for consoles without UTF-8.
const ASCII: [char; 8] = ['_', '.', ',', '-', '~', '=', '*', '#'];

/// A sparkline in at most `cols` columns (each column the lowest of the levels it spans).
pub struct SparkView<'a> {
    /// The shape.
    pub spark: &'a Spark,
    /// Columns at most.
    pub cols: usize,
    /// ASCII instead of Unicode blocks.
    pub ascii: bool,
}

impl Display for SparkView<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let l = self.spark.levels();
        let cols = self.cols.min(l.len());
        let chars = if self.ascii { &ASCII } else { &BLOCKS };
        for c in 0..cols {
            let (a, b) = (c * l.len() / cols, (c + 1) * l.len() / cols);
            let v = l[a..b.max(a + 1)].iter().copied().min().unwrap_or(0);
            f.write_char(chars[v.min(7) as usize])?;
        }
        Ok(())
    }
}

/// A small text buffer whose length in columns is known (sparklines are 1 column, 3 bytes).
struct Piece {
    buf: [u8; 160],
    len: usize,
    cols: usize,
}

impl Piece {
    fn new() -> Self {
        Piece { buf: [0; 160], len: 0, cols: 0 }
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for Piece {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut b = [0u8; 4];
            let e = c.encode_utf8(&mut b);
            if self.len + e.len() > self.buf.len() {
                break;
            }
            self.buf[self.len..self.len + e.len()].copy_from_slice(e.as_bytes());
            self.len += e.len();
            self.cols += 1;
        }
        Ok(())
    }
}

/// The word after `kleak: `: `LEAK` for memory the kernel keeps, `GROW` for reclaimable.
pub fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Leak => "LEAK",
        Severity::Reclaimable => "GROW",
    }
}

/// Writes `a` as its text line into `line` (which should be empty), within `style.width`
/// columns: the name is shortened with `~` and the sparkline narrowed to fit.
pub fn text(a: &Alert, line: &mut Line, style: &Style) {
    let h = style.human;
    let mut pre = Piece::new(); // after the name, before the sparkline
    let mut post = Piece::new(); // after the sparkline
    let mut spark = true;
    match (a.state, a.reclaim) {
        (Change::Recovered, Reclaim::Freed(b)) => {
            let _ = write!(pre, " drop_caches freed {}: reclaimable, recovered", Size::of(b, h));
            spark = false;
        }
        (_, Reclaim::Kept(b)) => {
            let _ = write!(pre, " kept {} through drop_caches: suspect", Size::of(b, h));
            spark = false;
        }
        (Change::Recovered, _) if a.gone => {
            let _ = write!(pre, " gone after {} (vanished): recovered", Dur(a.suspect_secs));
            spark = false;
        }
        (Change::Recovered, _) => {
            let _ = write!(pre, " {}/{}", Size::delta(a.growth_bytes, h), Dur(a.span_secs));
            let _ = write!(post, " recovered after {}", Dur(a.suspect_secs));
        }
        (state, _) => {
            let _ = write!(pre, " {}/{}", Size::delta(a.growth_bytes, h), Dur(a.span_secs));
            if let Some(o) = a.growth_objs {
                let _ = write!(pre, " {} objs", Count { n: o, signed: true });
            }
            let _ = write!(pre, " {}/s", Size::of(a.rate_bytes_per_s.max(0.0) as i64, h));
            let _ = post.write_str(if state == Change::Suspect { " suspect" } else { " still growing" });
        }
    }
    let head = 7 + 4 + 1; // "kleak: LEAK "
    let name = a.name.as_str();
    let width = if style.width == 0 { usize::MAX / 2 } else { style.width };
    let fixed = head + pre.cols + post.cols;
    // The name keeps up to 24 columns before the sparkline gives way; the sparkline needs 4.
    let want_name = name.len().min(24);
    let mut spark_cols = 0;
    if spark && a.spark.len > 0 {
        let room = width.saturating_sub(fixed + want_name + 1);
        spark_cols = room.min(a.spark.len as usize).min(12);
        if spark_cols < 4 {
            spark_cols = 0;
        }
    }
    let name_room = width.saturating_sub(fixed + if spark_cols > 0 { spark_cols + 1 } else { 0 }).max(8);
    let _ = write!(line, "kleak: {} {}{}", severity_word(a.severity), Fit::cut(name, name_room), pre.as_str());
    if spark_cols > 0 {
        let _ = write!(line, " {}", SparkView { spark: &a.spark, cols: spark_cols, ascii: style.ascii });
    }
    let _ = line.write_str(post.as_str());
}

/// The line that stands for alerts a sample did not show.
pub fn more(line: &mut Line, n: u32, shown: usize) {
    let _ = write!(line, "kleak: +{n} more alerts (--max-alerts {shown})");
}

/// Writes `a` as its JSON object (`{"kind":"alert",…}`) into `line`.
pub fn json(a: &Alert, line: &mut Line) {
    let mut j = line.json("alert");
    j.str("source", a.source.as_str())
        .str("name", a.name.as_str())
        .str("state", state_str(a.state))
        .str("severity", a.severity.as_str())
        .bool("reclaimable", a.reclaimable)
        .i64("growth_bytes", a.growth_bytes)
        .f64("rate_bytes_per_s", a.rate_bytes_per_s)
        .f64("window_secs", a.window_secs)
        .f64("span_secs", a.span_secs)
        .opt_i64("growth_objs", a.growth_objs)
        .i64("bytes", a.bytes);
    if a.objsize > 0 {
        j.u64("objsize", a.objsize as u64);
    }
    j.f64("z", a.z).f64("suspect_secs", a.suspect_secs).f64("elapsed_secs", a.elapsed_secs).bool("gone", a.gone);
    match a.reclaim {
        Reclaim::Unchecked => {}
        Reclaim::Freed(b) => {
            j.str("reclaim", "freed").i64("reclaim_bytes", b);
        }
        Reclaim::Kept(b) => {
            j.str("reclaim", "kept").i64("reclaim_bytes", b);
        }
    }
    let mut shape = [b'0'; crate::limits::SPARK_COLS];
    for (d, &l) in shape.iter_mut().zip(a.spark.levels()) {
        *d = b'0' + l.min(7);
    }
    j.str("shape", core::str::from_utf8(&shape[..a.spark.len as usize]).unwrap_or(""));
    j.end();
}

/// An alert read back from the JSON [`json`] wrote (a ring log record): what its console
/// line shows. Figures the JSON does not hold (window, bytes, z) are zero.
pub fn from_json(json: &str) -> Alert {
    use super::jsonread::{field, num, text};
    let state = match text(json, "state") {
        "suspect" => Change::Suspect,
        "reminder" => Change::Reminder,
        _ => Change::Recovered,
    };
    let mut spark = Spark::EMPTY;
    for (l, d) in spark.levels.iter_mut().zip(text(json, "shape").bytes()) {
        *l = d.wrapping_sub(b'0').min(7);
        spark.len += 1;
    }
    let int = |k| num(json, k) as i64;
    Alert {
        source: crate::verdict::Source::Process,
        name: crate::table::Name::new(text(json, "name").as_bytes()).0,
        state,
        severity: if text(json, "severity") == "leak" { Severity::Leak } else { Severity::Reclaimable },
        reclaimable: false,
        growth_bytes: int("growth_bytes"),
        rate_bytes_per_s: num(json, "rate_bytes_per_s"),
        window_secs: 0.0,
        span_secs: num(json, "span_secs"),
        growth_objs: field(json, "growth_objs").map(|_| int("growth_objs")),
        bytes: 0,
        objsize: 0,
        z: 0.0,
        suspect_secs: num(json, "suspect_secs"),
        elapsed_secs: 0.0,
        gone: field(json, "gone") == Some("true"),
        reclaim: match text(json, "reclaim") {
            "freed" => Reclaim::Freed(int("reclaim_bytes")),
            "kept" => Reclaim::Kept(int("reclaim_bytes")),
            _ => Reclaim::Unchecked,
        },
        spark,
    }
}

/// One sample's alerts on their way out: JSON goes out at once (every alert); a console
/// gets the `max` most severe, then one "+N more" line for the rest.
pub struct Batch {
    kept: heapless::Vec<Alert, MAX_ALERTS_SHOWN>,
    more: u32,
    /// Alert lines per sample at most (1 to [`MAX_ALERTS_SHOWN`]).
    pub max: usize,
}

impl Batch {
    /// A batch that shows at most `max` lines per sample.
    pub fn new(max: usize) -> Self {
        Batch { kept: heapless::Vec::new(), more: 0, max: max.clamp(1, MAX_ALERTS_SHOWN) }
    }

    #[inline(never)]
    /// Takes one alert: prints it now in JSON, keeps it for [`Batch::flush`] in text.
    pub fn add(&mut self, out: &mut Out, a: &Alert) -> Result<(), Closed> {
        if out.style.json {
            json(a, out.line());
            return out.emit();
        }
        if let Err(a) = self.kept.push(*a) {
            // Full: keep the most severe, count the rest.
            self.more += 1;
            if let Some(worst) = self.kept.iter_mut().max_by_key(|k| k.rank()) {
                if a.rank() < worst.rank() {
                    *worst = a;
                }
            }
        }
        Ok(())
    }

    #[inline(never)]
    /// Prints the kept alerts, most severe first, calling `after` behind each line; then
    /// "+N more". Empties the batch.
    pub fn flush(
        &mut self,
        out: &mut Out,
        mut after: impl FnMut(&mut Out, &Alert) -> Result<(), Closed>,
    ) -> Result<(), Closed> {
        crate::table::sort_by(&mut self.kept, |a, b| a.rank() < b.rank());
        let show = self.max.min(self.kept.len());
        let more = self.more + (self.kept.len() - show) as u32;
        let style = out.style;
        let mut r = Ok(());
        for a in &self.kept[..show] {
            text(a, out.line(), &style);
            r = out.emit().and_then(|_| after(out, a));
            if r.is_err() {
                break;
            }
        }
        if r.is_ok() && more > 0 {
            self::more(out.line(), more, self.max);
            r = out.emit();
        }
        self.kept.clear();
        self.more = 0;
        r
    }
}

/// How the judging went, in a summary object: `alerts_suspect`, `alerts_reminder`,
/// `alerts_recovered`, `leaks`.
pub fn tally_json(j: &mut super::Json<'_>, v: &Tally) {
    j.u64("alerts_suspect", v.suspect as u64)
        .u64("alerts_reminder", v.reminder as u64)
        .u64("alerts_recovered", v.recovered as u64)
        .u64("leaks", v.leaks as u64);
}

/// How the judging went, in one closing line.
pub fn tally_line(out: &mut Out, v: &Tally) -> Result<(), Closed> {
    crate::outln!(
        out,
        "alerts: {} suspect ({} leaks), {} reminders, {} recovered",
        v.suspect,
        v.leaks,
        v.reminder,
        v.recovered
    )
}

/// Columns a text line takes (sparkline characters are one column each).
pub fn columns(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::table::Name;
    use crate::verdict::{Source, Spark};

    fn sample() -> Alert {
        let xs: Vec<i64> = (0..32).map(|i| i * 100_000).collect();
        Alert {
            source: Source::Slab,
            name: Name::new(b"kmalloc-128").0,
            state: Change::Suspect,
            severity: Severity::Leak,
            reclaimable: false,
            growth_bytes: 3 << 20,
            rate_bytes_per_s: 5222.0,
            window_secs: 600.0,
            span_secs: 600.0,
            growth_objs: Some(24310),
            bytes: 9 << 20,
            objsize: 128,
            z: 7.9,
            suspect_secs: 0.0,
            elapsed_secs: 640.0,
            gone: false,
            reclaim: Reclaim::Unchecked,
            spark: Spark::of(&xs, 16),
        }
    }

    fn render(a: &Alert, style: Style) -> String {
        let mut l = Line::default();
        text(a, &mut l, &style);
        String::from_utf8(l.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn suspect_line_reads_like_the_documentation() {
        let s = render(&sample(), Style::default());
        assert_eq!(s, "kleak: LEAK kmalloc-128 +3.0M/10m +24,310 objs 5.1K/s ▁▁▂▃▃▄▅▅▆▇▇█ suspect");
        let ascii = render(&sample(), Style { ascii: true, ..Style::default() });
        assert!(ascii.is_ascii(), "{ascii}");
        assert!(ascii.ends_with(" suspect"));
    }

    #[test]
    fn every_line_fits_80_columns_and_long_names_are_cut_visibly() {
        let mut a = sample();
        a.name = Name::new(b"nf_conntrack_ffff8810a2b3c4d5e6f7_with_a_long_tail").0;
        a.growth_objs = Some(-1_234_567_890);
        for state in [Change::Suspect, Change::Reminder, Change::Recovered] {
            for reclaim in [Reclaim::Unchecked, Reclaim::Freed(1 << 30), Reclaim::Kept(1 << 40)] {
                a.state = state;
                a.reclaim = reclaim;
                let s = render(&a, Style::default());
                assert!(columns(&s) <= 80, "{} columns: {s}", columns(&s));
                assert!(s.starts_with("kleak: LEAK nf_conntrack_"), "{s}");
            }
        }
        a.state = Change::Suspect;
        a.reclaim = Reclaim::Unchecked;
        assert!(render(&a, Style::default()).contains('~'));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut l = Line::default();
        json(&sample(), &mut l);
        let s = core::str::from_utf8(l.as_bytes()).unwrap();
        assert!(
            s.starts_with(
                r#"{"kind":"alert","source":"slab","name":"kmalloc-128","state":"suspect","severity":"leak""#
            ),
            "{s}"
        );
        assert!(s.contains(r#""growth_bytes":3145728"#) && s.contains(r#""window_secs":600.000"#), "{s}");
        assert!(s.contains(r#""shape":"0011223344556677""#), "{s}");
    }
}
