//! One self-contained SVG picture of a soak (`kleak plot`): panels of lines over a shared
//! time axis, and markers (alerts, OOM reports, restarts) drawn across all of them. No
//! script, no font file, no external reference: it opens in any browser and survives being
//! attached to a bug report.
//!
//! Coordinates are whole pixels and numbers go through [`super::fmt`]: core's float
//! formatting would cost the board binary ~15 KB.

use super::fmt::{Dur, Size};
use core::fmt::{self, Display, Write};

/// A line: its name, its legend and its (seconds, bytes) points, in time order.
pub struct Series {
    /// What it is (a hover shows it).
    pub name: String,
    /// What the legend says.
    pub legend: String,
    /// (x in seconds, y in bytes).
    pub points: Vec<(f64, i64)>,
}

/// A panel of lines with its own y axis.
pub struct Panel {
    /// Its title, above it.
    pub title: String,
    /// Its lines.
    pub series: Vec<Series>,
}

/// A vertical line across every panel at `x` seconds.
pub struct Marker {
    /// Seconds.
    pub x: f64,
    /// What it says (a hover shows it all; the first characters are written beside it).
    pub label: String,
    /// An SVG colour.
    pub color: &'static str,
}

/// Width of the picture; the plot area is what is left of the margins.
const WIDTH: i64 = 1000;
const LEFT: i64 = 70;
const RIGHT: i64 = 250;
const TOP: i64 = 56;
const PANEL_H: i64 = 230;
const GAP: i64 = 56;
/// Line colours, in legend order (distinct for colour-blind readers first).
const COLORS: [&str; 8] = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7f7f7f", "#000000"];
/// Markers labelled beside their line at most (the rest have their hover title only).
const LABELLED: usize = 24;

/// Text escaped for SVG (XML) content and attribute values.
pub struct Xml<'a>(pub &'a str);

impl Display for Xml<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&apos;")?,
                c if (c as u32) < 0x20 && c != '\n' && c != '\t' => f.write_char('?')?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A round step near `span / n`: 1, 2 or 5 times a power of ten (or of 1024 for bytes,
/// and 60-based for time, so ticks read 256M or 10m).
fn step(span: f64, n: f64, base: &[f64]) -> f64 {
    let raw = (span / n).max(1.0);
    base.iter().copied().find(|&s| s >= raw).unwrap_or_else(|| {
        let mut s = *base.last().unwrap_or(&1.0);
        while s < raw {
            s *= 2.0;
        }
        s
    })
}

const TIME_STEPS: [f64; 19] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0,
    43200.0, 86400.0, 172800.0,
];

fn byte_steps() -> impl Iterator<Item = f64> {
    // Integers, then one conversion: powi's precision is unspecified (miri varies it).
    (0..40u32).map(|i| ([1u64, 2, 5][i as usize % 3] * 1024u64.pow(i / 9) * 10u64.pow((i % 9) / 3)) as f64)
}

/// Writes the picture: `title` and `subtitle` on top, the panels one under the other over
/// `x_max` seconds, the markers across them.
pub fn chart(
    w: &mut impl Write,
    title: &str,
    subtitle: &str,
    x_max: f64,
    panels: &[Panel],
    markers: &[Marker],
) -> fmt::Result {
    let plot_w = WIDTH - LEFT - RIGHT;
    let height = TOP + panels.len() as i64 * (PANEL_H + GAP);
    let x_max = x_max.max(1.0);
    let px = |x: f64| LEFT + (x / x_max * plot_w as f64).round() as i64;
    write!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{}</text>\n\
         <text x=\"{LEFT}\" y=\"40\" fill=\"#555555\">{}</text>\n",
        Xml(title),
        Xml(subtitle)
    )?;
    let tick = step(x_max, 8.0, &TIME_STEPS);
    for (k, p) in panels.iter().enumerate() {
        let top = TOP + k as i64 * (PANEL_H + GAP) + 20;
        let bottom = top + PANEL_H - 20;
        let (lo, hi) = p
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|&(_, y)| y))
            .fold((0i64, 1i64), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let ystep = byte_steps().find(|&s| s >= (hi - lo) as f64 / 5.0).unwrap_or(1.0);
        let (lo, hi) = ((lo as f64 / ystep).floor() * ystep, (hi as f64 / ystep).ceil() * ystep);
        let py = |y: f64| bottom - ((y - lo) / (hi - lo).max(1.0) * (bottom - top) as f64).round() as i64;
        writeln!(w, "<text x=\"{LEFT}\" y=\"{}\" font-weight=\"bold\">{}</text>", top - 8, Xml(&p.title))?;
        writeln!(
            w,
            "<rect x=\"{LEFT}\" y=\"{top}\" width=\"{plot_w}\" height=\"{}\" fill=\"none\" stroke=\"#999999\"/>",
            bottom - top
        )?;
        let mut y = lo;
        while y <= hi {
            let v = py(y);
            writeln!(
                w,
                "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{v}\" y2=\"{v}\" stroke=\"#e5e5e5\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                LEFT + plot_w,
                LEFT - 6,
                v + 4,
                Size::of(y as i64, true)
            )?;
            y += ystep;
        }
        let mut x = 0.0;
        while x <= x_max {
            let v = px(x);
            writeln!(
                w,
                "<line x1=\"{v}\" x2=\"{v}\" y1=\"{top}\" y2=\"{bottom}\" stroke=\"#eeeeee\"/><text x=\"{v}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555555\">{}</text>",
                bottom + 15,
                Dur(x)
            )?;
            x += tick;
        }
        for (i, s) in p.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            write!(w, "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"")?;
            for &(x, y) in &s.points {
                write!(w, "{},{} ", px(x), py(y as f64))?;
            }
            writeln!(w, "\"><title>{}</title></polyline>", Xml(&s.name))?;
            let ly = top + 6 + i as i64 * 18;
            writeln!(
                w,
                "<rect x=\"{}\" y=\"{ly}\" width=\"12\" height=\"3\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{}</text>",
                LEFT + plot_w + 10,
                LEFT + plot_w + 28,
                ly + 5,
                Xml(cut(&s.legend, 34))
            )?;
        }
    }
    let (first, last) = (TOP + 20, height - GAP);
    let (mut labelled, mut label_x) = (0, -LEFT);
    for m in markers {
        let x = px(m.x);
        write!(
            w,
            "<g class=\"marker\"><title>{} at {}</title><line x1=\"{x}\" x2=\"{x}\" y1=\"{first}\" y2=\"{last}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>",
            Xml(&m.label),
            Dur(m.x),
            m.color
        )?;
        // Markers at (nearly) one time share the first one's label; each keeps its title.
        if labelled < LABELLED && x - label_x >= 12 {
            (labelled, label_x) = (labelled + 1, x);
            write!(
                w,
                "<text x=\"{}\" y=\"{}\" fill=\"{}\" font-size=\"10\" transform=\"rotate(-90 {0} {1})\" text-anchor=\"end\">{}</text>",
                x - 3,
                first + 2,
                m.color,
                Xml(cut(&m.label, 32))
            )?;
        }
        writeln!(w, "</g>")?;
    }
    writeln!(w, "</svg>")
}

/// The first `n` characters of `s`.
fn cut(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let mut s = String::new();
        write!(s, "{}", Xml("a<b & \"c\" 'd'\x01")).unwrap();
        assert_eq!(s, "a&lt;b &amp; &quot;c&quot; &apos;d&apos;?");
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(step(3600.0, 8.0, &TIME_STEPS), 600.0);
        assert_eq!(step(86400.0, 8.0, &TIME_STEPS), 10800.0);
        assert_eq!(step(90000.0, 8.0, &TIME_STEPS), 21600.0);
        let s: Vec<f64> = byte_steps().take(12).collect();
        assert_eq!(&s[..9], &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]);
        assert_eq!(&s[9..], &[1024.0, 2048.0, 5120.0]);
    }
}
