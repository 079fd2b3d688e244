//! Bounded trend state per entry, and the judgement: is an amount growing steadily, or only
//! going up and down?
//!
//! The engine knows nothing about slab caches, gauges or processes. An adapter
//! ([`crate::verdict`]) feeds it, for entry `i` of its own table, the entry's bytes each
//! sample; the engine answers with [`Event`]s. (For slab caches the adapter feeds the bytes
//! of the objects in use, so their growth is object-count growth.)
//!
//! # State: a window cut into slots
//!
//! The window (`--window`, default 10 min) is cut into [`TREND_SLOTS`] slots of equal
//! length; all entries share one [`Clock`]. Per entry a ring keeps, for each slot, the
//! **low-water mark** (the smallest value sampled in that slot). A leak raises the floor of
//! an amount; churn adds peaks above a floor that stays put, and the low-water mark of a
//! slot ignores peaks shorter than the slot. Sampling faster than the slot length only
//! refines the marks; sampling slower leaves slots empty, and empty slots are skipped.
//!
//! Values are stored compactly: `floor + (v << shift)` with `v: u16`. The shift grows when
//! the window's range needs more than 16 bits and shrinks again when it does not, so
//! precision is always about 1/32768 of the range in the window: exact for anything under
//! 32 KiB of range, far finer than any verdict needs above.
//! Memory per entry: 96 bytes, allocated once (for every entry the table can hold), never
//! grown.
//!
//! # The judgement (at each slot's close, on the window ending there)
//!
//! A window is *suspect* when all of these hold:
//!
//! | test | why |
//! |---|---|
//! | followed for ≥ 3/4 of the window, ≥ [`MIN_POINTS`] slots | a verdict needs a history |
//! | growth (last − first low-water mark) ≥ `min_growth` | small changes are not worth a line |
//! | Theil–Sen slope ≥ `min_rate` | the typical pairwise slope, robust to outliers |
//! | Mann–Kendall z ≥ [`Z_SUSPECT`] (corrected for ties and autocorrelation) | the rise is steady, not chance |
//! | largest fall within the window ≤ growth / 2 | churn gives back what it took |
//! | largest rise between two slots ≤ growth / 2 | one step is an allocation, not a leak |
//!
//! Mann–Kendall's S counts, over every pair of slots, whether the later one is higher
//! (+1) or lower (−1); z is S over its standard deviation under "no trend", corrected for
//! ties (flat stretches), and for autocorrelation: a slow wander makes neighbouring slots
//! alike, which MK would mistake for a trend, so the variance is inflated by `(1 + r1) /
//! (1 − r1)`, `r1` the lag-1 autocorrelation of what the Theil–Sen line leaves (Yue and
//! Wang). It only looks at order, so one huge spike weighs no more than a small one. A saw-tooth with two or three teeth in the window still has a high S, so the
//! "gives back" test is what tells churn from a leak: a leak's floor never falls far.
//!
//! Hysteresis: a suspect entry stays suspect while a looser test holds (growth ≥ half of
//! `min_growth`, z ≥ [`Z_STAY`], slope > 0); it gets a reminder at most every
//! `remind_secs`, and one *recovered* event when the looser test fails or it vanishes.

use crate::limits::TREND_SLOTS;

const SLOTS: usize = TREND_SLOTS;

/// Mann–Kendall z a window needs to become suspect (one-sided p ≈ 0.0013 under "no trend").
pub const Z_SUSPECT: f64 = 3.0;
/// Mann–Kendall z a suspect window needs to stay suspect.
pub const Z_STAY: f64 = 1.0;
/// Slots with a sample a window needs before it can be judged.
pub const MIN_POINTS: usize = 8;
/// Part of the window an entry must have been followed for.
const COVER: f64 = 0.75;

/// What is worth a line: the alert policy's numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// Seconds of history judged (`--window`).
    pub window_secs: f64,
    /// Bytes an entry must grow by over the window (`--min-growth`).
    pub min_growth: u64,
    /// Bytes per second an entry must grow at (`--min-rate`).
    pub min_rate: f64,
    /// Seconds between reminders for an entry that stays suspect (`--remind`).
    pub remind_secs: f64,
}

impl Policy {
    /// The policy of the options `--window`, `--min-growth`, `--min-rate` and `--remind`
    /// (watch and replay take the same).
    pub fn new(window_secs: f64, min_growth: u64, min_rate: u64, remind_secs: f64) -> Policy {
        Policy { window_secs, min_growth, min_rate: min_rate as f64, remind_secs }
    }

    /// Default window: ten minutes shows a leak of a few hundred KiB on a quiet board.
    pub const WINDOW_SECS: f64 = 600.0;
    /// Default growth: 256 KiB, 64 pages; less is lost in the noise of `Unaccounted`.
    pub const MIN_GROWTH: u64 = 256 * 1024;
    /// Default rate: 64 B/s (5.3 MiB a day); it matters with long windows.
    pub const MIN_RATE: f64 = 64.0;
    /// Default reminder interval: 30 minutes.
    pub const REMIND_SECS: f64 = 1800.0;
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            window_secs: Self::WINDOW_SECS,
            min_growth: Self::MIN_GROWTH,
            min_rate: Self::MIN_RATE,
            remind_secs: Self::REMIND_SECS,
        }
    }
}

/// Slot time shared by every entry of an [`Engine`].
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Seconds per slot: the window over [`TREND_SLOTS`].
    pub slot_secs: f64,
    start: f64,
    /// Absolute number of the open slot.
    cur: u32,
    /// The slot the latest [`Engine::begin`] asked for.
    next: u32,
    /// Ring positions holding a sample (bit per position).
    filled: u32,
    /// The latest sample opened its slot: it replaces, not lowers.
    opening: bool,
    started: bool,
}

impl Clock {
    fn new(window_secs: f64) -> Self {
        let slot_secs = (window_secs / SLOTS as f64).max(1e-3);
        Clock { slot_secs, start: 0.0, cur: 0, next: 0, filled: 0, opening: true, started: false }
    }

    fn has(&self, slot: u32) -> bool {
        self.cur.wrapping_sub(slot) < SLOTS as u32 && self.filled & (1 << (slot as usize % SLOTS)) != 0
    }

    /// Seconds from the clock's start to the start of `slot`.
    pub fn secs(&self, slot: u32) -> f64 {
        slot as f64 * self.slot_secs
    }
}

/// A ring of compact values: `floor + (vals[i] << shift)`.
#[derive(Clone, Copy, Debug)]
struct Ring<const N: usize> {
    floor: i64,
    vals: [u16; N],
    shift: u8,
}

impl<const N: usize> Ring<N> {
    const EMPTY: Self = Ring { floor: 0, vals: [0; N], shift: 0 };

    #[inline]
    fn get(&self, pos: usize) -> i64 {
        self.floor.saturating_add((self.vals[pos] as i64) << self.shift)
    }

    /// Halves the resolution: every stored value loses its lowest bit.
    fn widen(&mut self) {
        self.shift += 1;
        for v in self.vals.iter_mut() {
            *v >>= 1;
        }
    }

    /// Stores `v` at `pos`, moving the floor down or widening the unit as needed.
    fn put(&mut self, pos: usize, v: i64) {
        loop {
            if v < self.floor {
                // Units to move the floor down by, rounded up; a shift, not a division.
                let Some(gap) = self.floor.checked_sub(v) else {
                    *self = Ring { floor: v, ..Self::EMPTY };
                    return;
                };
                let d = (gap as u64).div_ceil(1u64 << self.shift);
                let top = self.vals.iter().copied().max().unwrap_or(0) as u64;
                if top + d <= u16::MAX as u64 {
                    self.floor -= (d << self.shift) as i64;
                    for x in self.vals.iter_mut() {
                        *x += d as u16;
                    }
                } else if self.shift < 62 {
                    self.widen();
                    continue;
                } else {
                    self.floor = v;
                }
            }
            let q = (v.wrapping_sub(self.floor) as u64) >> self.shift;
            if q > u16::MAX as u64 && self.shift < 62 {
                self.widen();
                continue;
            }
            self.vals[pos] = q.min(u16::MAX as u64) as u16;
            return;
        }
    }

    /// Keeps the smaller of the stored value and `v` at `pos`.
    #[inline]
    fn lower(&mut self, pos: usize, v: i64) {
        if v < self.get(pos) {
            self.put(pos, v);
        }
    }

    /// Starts afresh with `v` everywhere (a new entry).
    fn reset(&mut self, v: i64) {
        *self = Ring { floor: v, ..Self::EMPTY };
    }

    /// Regains precision once old extremes have left: the floor moves up to the smallest
    /// value in `live` positions, and the unit shrinks while the range allows.
    fn renormalise(&mut self, live: impl Fn(usize) -> bool) {
        let (mut lo, mut hi) = (u16::MAX, 0u16);
        for (i, &v) in self.vals.iter().enumerate() {
            if live(i) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if lo > hi {
            return;
        }
        self.floor = self.floor.saturating_add((lo as i64) << self.shift);
        let mut range = hi - lo;
        for (i, v) in self.vals.iter_mut().enumerate() {
            *v = if live(i) { *v - lo } else { 0 };
        }
        while self.shift > 0 && range < 0x8000 {
            self.shift -= 1;
            range <<= 1;
            for v in self.vals.iter_mut() {
                *v <<= 1;
            }
        }
    }
}

/// Where an entry stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    /// Not followed (no entry, or gone).
    #[default]
    Idle,
    /// Followed, not suspect.
    Normal,
    /// Suspect: growing steadily.
    Suspect,
}

/// One entry's trend state: 96 bytes.
#[derive(Clone, Copy, Debug)]
struct Track {
    ring: Ring<SLOTS>,
    /// Slot of the first sample.
    born: u32,
    /// Slot it became suspect.
    since: u32,
    /// Slot of the latest line about it.
    told: u32,
    state: State,
    /// The adapter's own bits (e.g. reclaimable), kept across samples, cleared on reset.
    tag: u8,
}

impl Track {
    const IDLE: Track = Track { ring: Ring::EMPTY, born: 0, since: 0, told: 0, state: State::Idle, tag: 0 };
}

/// What an entry's window shows (see the module documentation for the tests on it).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Judgement {
    /// Slots with a sample in the window.
    pub points: usize,
    /// Seconds from the window's first to its last slot with a sample.
    pub span_secs: f64,
    /// First and last low-water marks in the window (bytes).
    pub first: i64,
    /// The last low-water mark (bytes).
    pub last: i64,
    /// `last − first`.
    pub growth: i64,
    /// Theil–Sen slope, bytes per second.
    pub rate: f64,
    /// Mann–Kendall S.
    pub s: i32,
    /// Mann–Kendall z, tie-corrected.
    pub z: f64,
    /// Largest fall from an earlier point to a later one (bytes, ≥ 0).
    pub fall: i64,
    /// Largest rise between two neighbouring points (bytes).
    pub step: i64,
}

impl Judgement {
    /// The strict test: a window that makes an entry suspect.
    pub fn is_suspect(&self, p: &Policy) -> bool {
        let window = p.window_secs;
        self.points >= MIN_POINTS
            && self.span_secs >= COVER * window
            && self.growth > 0
            && self.growth as u64 >= p.min_growth
            && self.rate > 0.0
            && self.rate >= p.min_rate
            && self.z >= Z_SUSPECT
            && self.fall.saturating_mul(2) <= self.growth
            && self.step.saturating_mul(2) <= self.growth
    }

    /// The looser test a suspect entry must keep passing.
    pub fn stays_suspect(&self, p: &Policy) -> bool {
        self.growth > 0 && self.growth as u64 >= p.min_growth / 2 && self.rate > 0.0 && self.z >= Z_STAY
    }
}

/// What happened to an entry at a slot's close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// It became suspect.
    Suspect,
    /// It is still suspect; a reminder is due.
    Reminder,
    /// It stopped growing (or vanished).
    Recovered,
}

/// An event for one entry, with the window that caused it.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// The entry (the adapter's index).
    pub index: usize,
    /// What happened.
    pub change: Change,
    /// The window.
    pub j: Judgement,
    /// Seconds the entry has been suspect (0 when it just became suspect).
    pub suspect_secs: f64,
    /// The entry vanished (only with [`Change::Recovered`]).
    pub gone: bool,
    /// The adapter's tag bits.
    pub tag: u8,
}

/// Per-entry trend state for up to `capacity` entries, allocated once.
pub struct Engine {
    /// The alert policy.
    pub policy: Policy,
    /// Slot time.
    pub clock: Clock,
    tracks: Vec<Track>,
    capacity: usize,
}

/// Bytes of trend state per entry.
pub const BYTES_PER_ENTRY: usize = core::mem::size_of::<Track>();

impl Engine {
    /// State for `capacity` entries.
    pub fn new(capacity: usize, policy: Policy) -> Self {
        Engine { policy, clock: Clock::new(policy.window_secs), tracks: Vec::with_capacity(capacity), capacity }
    }

    /// Entries followed so far (the table's length).
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// True before any entry was fed.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Forgets every entry and restarts the clock (a reboot between replayed snapshots).
    pub fn restart(&mut self) {
        self.tracks.clear();
        self.clock = Clock::new(self.policy.window_secs);
    }

    /// Starts a sample at `now` (seconds, any origin). True when the open slot closes
    /// with it: call [`Engine::judge`] for each entry, then [`Engine::advance`], then
    /// [`Engine::feed`] each entry. Without a close, only `advance` and `feed`.
    pub fn begin(&mut self, now: f64) -> bool {
        let c = &mut self.clock;
        if !c.started {
            *c = Clock { started: true, start: now, ..Clock::new(self.policy.window_secs) };
            return false;
        }
        let k = ((now - c.start).max(0.0) / c.slot_secs) as u64;
        c.next = k.min(u32::MAX as u64) as u32;
        c.next > c.cur
    }

    /// Moves the clock to the slot [`Engine::begin`] found, emptying skipped slots.
    pub fn advance(&mut self) {
        let c = &mut self.clock;
        if c.next <= c.cur {
            // Still the open slot (or time went back): only its first sample opens it.
            c.opening = c.filled & (1 << (c.cur as usize % SLOTS)) == 0;
            return;
        }
        for s in 1..=(c.next - c.cur).min(SLOTS as u32) {
            c.filled &= !(1 << (c.cur.wrapping_add(s) as usize % SLOTS));
        }
        c.opening = true;
        c.cur = c.next;
    }

    fn ensure(&mut self, i: usize) -> bool {
        if i >= self.capacity {
            return false;
        }
        while self.tracks.len() <= i {
            self.tracks.push(Track::IDLE);
        }
        true
    }

    /// Feeds entry `i`'s bytes for this sample. `fresh`: a new entry in this place (it
    /// appeared, or its slot was reused): its history starts over.
    pub fn feed(&mut self, i: usize, bytes: i64, fresh: bool) {
        if !self.ensure(i) {
            return;
        }
        let c = &mut self.clock;
        let cur = c.cur;
        let pos = cur as usize % SLOTS;
        let opening = c.opening;
        c.filled |= 1 << pos;
        let t = &mut self.tracks[i];
        if fresh || t.state == State::Idle {
            *t = Track { born: cur, state: State::Normal, ..Track::IDLE };
            t.ring.reset(bytes);
            return;
        }
        // A slot's first sample replaces what the position held a window ago; later ones
        // lower it to the slot's low-water mark.
        if opening {
            t.ring.put(pos, bytes);
        } else {
            t.ring.lower(pos, bytes);
        }
    }

    /// Entry `i` is not there in this sample: it is forgotten. A suspect entry yields one
    /// recovered event (`gone`).
    pub fn gone(&mut self, i: usize) -> Option<Event> {
        let t = *self.tracks.get(i)?;
        let ev = (t.state == State::Suspect).then(|| Event {
            index: i,
            change: Change::Recovered,
            j: self.judgement(i),
            suspect_secs: self.clock.secs(self.clock.cur.wrapping_sub(t.since)),
            gone: true,
            tag: t.tag,
        });
        self.tracks[i] = Track::IDLE;
        ev
    }

    /// The adapter's tag bits of entry `i`.
    pub fn tag(&self, i: usize) -> u8 {
        self.tracks.get(i).map_or(0, |t| t.tag)
    }

    /// Sets the adapter's tag bits of entry `i`.
    pub fn set_tag(&mut self, i: usize, tag: u8) {
        if let Some(t) = self.tracks.get_mut(i) {
            t.tag = tag;
        }
    }

    /// Where entry `i` stands.
    pub fn state(&self, i: usize) -> State {
        self.tracks.get(i).map_or(State::Idle, |t| t.state)
    }

    /// Ends suspicion of entry `i` without an event (it was explained, e.g. reclaimed).
    pub fn clear_suspect(&mut self, i: usize) {
        if let Some(t) = self.tracks.get_mut(i) {
            if t.state == State::Suspect {
                t.state = State::Normal;
            }
        }
    }

    /// Judges entry `i` on the window ending at the slot that is closing, applying the
    /// hysteresis; call between [`Engine::begin`] (true) and [`Engine::advance`].
    pub fn judge(&mut self, i: usize) -> Option<Event> {
        let t = *self.tracks.get(i)?;
        let policy = self.policy;
        match t.state {
            State::Idle => None,
            State::Normal => {
                // Cheap first: most entries did not grow enough to be worth the statistics.
                if !self.may_grow(i) {
                    self.renormalise(i);
                    return None;
                }
                let j = self.judgement(i);
                self.renormalise(i);
                if !j.is_suspect(&policy) {
                    return None;
                }
                let cur = self.clock.cur;
                let t = &mut self.tracks[i];
                t.state = State::Suspect;
                t.since = cur;
                t.told = cur;
                Some(Event { index: i, change: Change::Suspect, j, suspect_secs: 0.0, gone: false, tag: t.tag })
            }
            State::Suspect => {
                let j = self.judgement(i);
                self.renormalise(i);
                let c = self.clock;
                let t = &mut self.tracks[i];
                let suspect_secs = c.secs(c.cur.wrapping_sub(t.since));
                let change = if !j.stays_suspect(&policy) {
                    t.state = State::Normal;
                    Change::Recovered
                } else if c.secs(c.cur.wrapping_sub(t.told)) + 1e-9 >= policy.remind_secs {
                    t.told = c.cur;
                    Change::Reminder
                } else {
                    return None;
                };
                Some(Event { index: i, change, j, suspect_secs, gone: false, tag: t.tag })
            }
        }
    }

    /// True if entry `i`'s window could hold `min_growth` of growth.
    fn may_grow(&self, i: usize) -> bool {
        let t = &self.tracks[i];
        let (mut first, mut last) = (None, 0);
        self.points(t, |_, v| {
            first.get_or_insert(v);
            last = v;
        });
        first.is_some_and(|f| last - f >= self.policy.min_growth.max(1) as i64)
    }

    fn renormalise(&mut self, i: usize) {
        let c = self.clock;
        let born = self.tracks[i].born;
        let live = |pos: usize| {
            let back = ((c.cur as usize + SLOTS - pos) % SLOTS) as u32;
            back <= c.cur && c.cur - back >= born && c.has(c.cur - back)
        };
        self.tracks[i].ring.renormalise(live);
    }

    /// Calls `f(slot, value)` for each slot of the window with a sample, oldest first.
    fn points(&self, t: &Track, mut f: impl FnMut(u32, i64)) {
        let c = &self.clock;
        let oldest = c.cur.saturating_sub(SLOTS as u32 - 1).max(t.born);
        for slot in oldest..=c.cur {
            if c.has(slot) {
                f(slot, t.ring.get(slot as usize % SLOTS));
            }
        }
    }

    /// The window of entry `i` (oldest to newest low-water marks), into `out`; returns how
    /// many points were written.
    pub fn window(&self, i: usize, out: &mut [i64; SLOTS]) -> usize {
        let Some(t) = self.tracks.get(i) else { return 0 };
        if t.state == State::Idle {
            return 0;
        }
        let mut n = 0;
        self.points(t, |_, v| {
            out[n] = v;
            n += 1;
        });
        n
    }

    /// Judges entry `i`'s current window without changing any state.
    pub fn judgement(&self, i: usize) -> Judgement {
        let Some(t) = self.tracks.get(i) else { return Judgement::default() };
        let mut xs = [0i64; SLOTS];
        let mut ts = [0u32; SLOTS];
        let mut n = 0;
        self.points(t, |slot, v| {
            xs[n] = v;
            ts[n] = slot;
            n += 1;
        });
        stats(&xs[..n], &ts[..n], self.clock.slot_secs)
    }
}

/// The statistics of one window: `xs` values at slots `ts` (increasing), `slot_secs`
/// seconds per slot.
pub fn stats(xs: &[i64], ts: &[u32], slot_secs: f64) -> Judgement {
    let n = xs.len();
    let mut j = Judgement { points: n, ..Judgement::default() };
    if n == 0 {
        return j;
    }
    j.first = xs[0];
    j.last = xs[n - 1];
    j.growth = j.last - j.first;
    j.span_secs = (ts[n - 1] - ts[0]) as f64 * slot_secs;
    let (mut peak, mut fall, mut step) = (xs[0], 0i64, 0i64);
    for k in 1..n {
        peak = peak.max(xs[k]);
        fall = fall.max(peak - xs[k]);
        step = step.max(xs[k] - xs[k - 1]);
    }
    j.fall = fall;
    j.step = step;
    if n < 2 {
        return j;
    }
    let (s, z) = mann_kendall(xs);
    let slope = theil_sen(xs, ts);
    j.s = s;
    j.z = z / autocorrelation_factor(xs, ts, slope).sqrt();
    j.rate = slope / slot_secs;
    j
}

/// How much neighbouring points repeat each other, as the factor `(1 + r1) / (1 − r1)` by
/// which it inflates the variance of S (Yue and Wang's correction for a lag-1
/// autocorrelated series; 1 when `r1 ≤ 0`). `r1` is measured on what is left after the
/// Theil–Sen line is taken out, so a trend itself does not count as autocorrelation, but a
/// slow wander (a queue that drains over minutes) does, and its z shrinks accordingly.
pub fn autocorrelation_factor(xs: &[i64], ts: &[u32], slope: f64) -> f64 {
    let n = xs.len().min(SLOTS);
    if n < 3 {
        return 1.0;
    }
    let mut e = [0f64; SLOTS];
    for k in 0..n {
        e[k] = (xs[k] - xs[0]) as f64 - slope * (ts[k] - ts[0]) as f64;
    }
    let e = &e[..n];
    let mean = e.iter().sum::<f64>() / n as f64;
    let var: f64 = e.iter().map(|v| (v - mean) * (v - mean)).sum();
    if var <= f64::EPSILON {
        return 1.0;
    }
    let cov: f64 = e.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
    let r1 = (cov / var).clamp(0.0, 0.95);
    (1.0 + r1) / (1.0 - r1)
}

/// Mann–Kendall S and its tie-corrected z for a series in time order.
pub fn mann_kendall(xs: &[i64]) -> (i32, f64) {
    let n = xs.len();
    let mut s: i32 = 0;
    for i in 0..n {
        for &b in &xs[i + 1..] {
            s += (b > xs[i]) as i32 - (b < xs[i]) as i32;
        }
    }
    // Ties: Σ t(t−1)(2t+5) over groups of equal values.
    let mut sorted = [0i64; SLOTS];
    let m = n.min(SLOTS);
    sorted[..m].copy_from_slice(&xs[..m]);
    crate::table::sort_by(&mut sorted[..m], |a, b| a < b);
    let mut ties = 0i64;
    let mut run = 1i64;
    for k in 1..=m {
        if k < m && sorted[k] == sorted[k - 1] {
            run += 1;
        } else {
            ties += run * (run - 1) * (2 * run + 5);
            run = 1;
        }
    }
    let nn = m as i64;
    let var = (nn * (nn - 1) * (2 * nn + 5) - ties) as f64 / 18.0;
    let z = if var <= 0.0 || s == 0 {
        0.0
    } else if s > 0 {
        (s - 1) as f64 / var.sqrt()
    } else {
        (s + 1) as f64 / var.sqrt()
    };
    (s, z)
}

/// Theil–Sen slope: the median of the slopes between every pair of points, in value per
/// slot.
pub fn theil_sen(xs: &[i64], ts: &[u32]) -> f64 {
    let mut slopes = [0f64; SLOTS * (SLOTS - 1) / 2];
    let mut k = 0;
    let n = xs.len().min(SLOTS);
    for i in 0..n {
        for j in i + 1..n {
            slopes[k] = (xs[j] - xs[i]) as f64 / (ts[j] - ts[i]) as f64;
            k += 1;
        }
    }
    if k == 0 {
        return 0.0;
    }
    let s = &mut slopes[..k];
    let mid = k / 2;
    let hi = select(s, mid);
    if k % 2 == 1 {
        hi
    } else {
        let lo = s[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo + hi) / 2.0
    }
}

/// Puts the `k`-th smallest value at `v[k]` (smaller ones before it) and returns it:
/// Hoare's quickselect with the middle element as pivot.
fn select(v: &mut [f64], k: usize) -> f64 {
    let (mut lo, mut hi) = (0, v.len() - 1);
    while lo < hi {
        let pivot = v[lo + (hi - lo) / 2];
        let (mut i, mut j) = (lo, hi);
        while i <= j {
            while v[i] < pivot {
                i += 1;
            }
            while v[j] > pivot {
                j -= 1;
            }
            if i <= j {
                v.swap(i, j);
                i += 1;
                if j == 0 {
                    break;
                }
                j -= 1;
            }
        }
        if k <= j {
            hi = j;
        } else if k >= i {
            lo = i;
        } else {
            break;
        }
    }
    v[k]
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn mann_kendall_of_a_monotone_series_is_its_maximum() {
        let xs: Vec<i64> = (0..32).collect();
        let (s, z) = mann_kendall(&xs);
        assert_eq!(s, 32 * 31 / 2);
        assert!(z > 7.9 && z < 8.1, "{z}");
        let flat = [5i64; 32];
        assert_eq!(mann_kendall(&flat), (0, 0.0));
    }

    #[test]
    fn ties_lower_the_variance() {
        // Half flat, then a step: S is large, and ties shrink the variance so z is larger
        // than without the correction.
        let xs: Vec<i64> = (0..32).map(|i| if i < 16 { 0 } else { 1 }).collect();
        let (s, z) = mann_kendall(&xs);
        assert_eq!(s, 256);
        let plain = (256 - 1) as f64 / ((32.0 * 31.0 * 69.0) / 18.0f64).sqrt();
        assert!(z > plain);
    }

    #[test]
    fn theil_sen_ignores_outliers() {
        let ts: Vec<u32> = (0..20).collect();
        let mut xs: Vec<i64> = (0..20).map(|i| 10 * i).collect();
        xs[7] = 100_000;
        xs[13] = -100_000;
        assert_eq!(theil_sen(&xs, &ts), 10.0);
    }

    #[test]
    fn a_slot_keeps_the_lowest_sample_and_a_new_slot_starts_afresh() {
        let mut e = Engine::new(1, Policy { window_secs: 32.0, ..Policy::default() }); // 1 s slots
        for (t, v) in [(0.0, 100), (0.3, 50), (0.6, 400), (1.0, 300), (1.5, 200), (1.9, 900), (4.2, 70)] {
            e.begin(t);
            e.advance();
            e.feed(0, v, false);
        }
        let mut xs = [0; SLOTS];
        let n = e.window(0, &mut xs);
        assert_eq!(&xs[..n], &[50, 200, 70], "slots 2 and 3 had no sample");
    }

    #[test]
    fn select_finds_the_kth_value() {
        let mut seed = 7u64;
        for n in 1..60 {
            let mut v: Vec<f64> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) % 17) as f64
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            for k in 0..n {
                assert_eq!(select(&mut v, k), sorted[k], "n {n} k {k}");
                assert!(v[..k].iter().all(|&x| x <= sorted[k]));
            }
        }
    }

    #[test]
    fn ring_keeps_values_across_floor_and_unit_changes() {
        let mut r = Ring::<8> { floor: 0, vals: [0; 8], shift: 0 };
        r.reset(1000);
        r.put(0, 1000);
        r.put(1, 900); // below the floor
        assert_eq!((r.get(0), r.get(1)), (1000, 900));
        r.put(2, 900 + 70_000); // wider than 16 bits: unit doubles
        assert_eq!(r.shift, 1);
        assert_eq!(r.get(2), 70_900);
        assert!((r.get(0) - 1000).abs() <= 1);
        r.put(3, i64::MAX / 2);
        assert!(r.get(3) > i64::MAX / 4);
        // Values stored while the range was huge keep its coarse unit; once the huge value
        // has left the window, values stored after it are exact again.
        for p in 0..4 {
            r.put(p, 5000);
        }
        r.renormalise(|p| p < 4);
        assert_eq!(r.shift, 0);
        r.put(1, 900);
        r.put(3, 1100);
        assert_eq!((r.get(1), r.get(3)), (900, 1100));
    }

    #[test]
    fn track_memory_is_small() {
        const { assert!(BYTES_PER_ENTRY <= 96) };
    }
}
