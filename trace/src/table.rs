//! The table of live allocations: pointer → (size, call site, time), in memory the tracer
//! mapped itself.
//!
//! Open addressing with linear probing, split into [`SHARDS`] shards, each behind its own
//! spinlock, so threads allocating at once rarely meet. A shard never holds more than
//! three quarters of its slots (probe chains stay short); an allocation that finds its
//! shard that full is not recorded and is counted in [`Table::untracked`]. A removal
//! shifts the following entries of its chain back (no tombstones), so a table that
//! lives for weeks does not fill up with the ghosts of freed memory.
//!
//! No lock is held while calling anything but atomics, so no call made under a lock can
//! come back into `malloc`. A dump may read a shard without its lock (a signal handler
//! that interrupted the lock's holder must not wait for it): every field is an atomic, so
//! such a read is a slightly inexact snapshot, never undefined behaviour.

use crate::sys;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

/// log2 of the number of shards.
pub const SHARD_BITS: u32 = 6;
/// Shards, each with its own lock.
pub const SHARDS: usize = 1 << SHARD_BITS;
/// The smallest table: one shard of 64 slots each.
pub const MIN_SLOTS: usize = SHARDS * 64;

/// One slot: 32 bytes on a 64-bit machine. `key` 0 is an empty slot.
#[derive(Default)]
#[repr(C)]
pub struct Slot {
    key: AtomicUsize,
    size: AtomicUsize,
    site: AtomicUsize,
    time_ms: AtomicU64,
}

/// Bytes of one slot (the table's memory is `slots × SLOT_BYTES`).
pub const SLOT_BYTES: usize = core::mem::size_of::<Slot>();

/// A live allocation as read from the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Address returned to the program.
    pub ptr: usize,
    /// Bytes asked for.
    pub size: usize,
    /// Return address in the function that asked.
    pub site: usize,
    /// When, in milliseconds of the coarse monotonic clock.
    pub time_ms: u64,
}

#[repr(align(64))]
struct Shard {
    lock: AtomicU32,
    live: AtomicUsize,
}

/// The live-allocation table; see the module documentation.
pub struct Table {
    slots: AtomicPtr<Slot>,
    /// log2 of the slots per shard (0 until [`Table::attach`]).
    shard_log2: AtomicU32,
    shards: [Shard; SHARDS],
    /// Allocations not recorded because their shard was full.
    pub untracked: AtomicU64,
    /// Bytes of those.
    pub untracked_bytes: AtomicU64,
    /// Frees of pointers the table did not hold (allocated before tracing began, while it
    /// was off, untracked, or freed by libc on its own behalf).
    pub unknown_frees: AtomicU64,
}

#[inline]
fn hash(ptr: usize) -> u64 {
    // Fibonacci hashing: the top bits of the product mix all the bits of the pointer
    // (malloc returns 16-byte aligned addresses, so the low 4 bits carry nothing).
    ((ptr as u64) >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Table {
    /// An empty table with no memory yet: every insert is untracked until
    /// [`Table::attach`].
    pub const fn new() -> Table {
        #[allow(clippy::declare_interior_mutable_const)]
        const SHARD: Shard = Shard { lock: AtomicU32::new(0), live: AtomicUsize::new(0) };
        Table {
            slots: AtomicPtr::new(core::ptr::null_mut()),
            shard_log2: AtomicU32::new(0),
            shards: [SHARD; SHARDS],
            untracked: AtomicU64::new(0),
            untracked_bytes: AtomicU64::new(0),
            unknown_frees: AtomicU64::new(0),
        }
    }

    /// Gives the table its slots: a power of two, at least [`MIN_SLOTS`], all empty.
    pub fn attach(&self, slots: &'static [Slot]) {
        debug_assert!(slots.len().is_power_of_two() && slots.len() >= MIN_SLOTS);
        let per_shard = slots.len() / SHARDS;
        self.slots.store(slots.as_ptr() as *mut Slot, Relaxed);
        self.shard_log2.store(per_shard.trailing_zeros(), Release);
    }

    /// All slots, or an empty slice before [`Table::attach`].
    #[allow(unsafe_code)]
    fn slots(&self) -> &[Slot] {
        let log2 = self.shard_log2.load(Acquire);
        if log2 == 0 {
            return &[];
        }
        // SAFETY: attach() stored the pointer of a &'static [Slot] of exactly SHARDS <<
        // log2 slots before publishing log2 with Release; we loaded log2 with Acquire.
        unsafe { core::slice::from_raw_parts(self.slots.load(Relaxed), SHARDS << log2) }
    }

    /// Total slots (0 before attach).
    pub fn capacity(&self) -> usize {
        self.slots().len()
    }

    /// Where `ptr` lives: (its shard, the shard's slots, the slot it hashes to).
    #[inline]
    fn locate(&self, ptr: usize) -> Option<(&Shard, &[Slot], usize)> {
        let slots = self.slots();
        if slots.is_empty() {
            return None;
        }
        let log2 = self.shard_log2.load(Relaxed);
        let h = hash(ptr);
        let shard = (h >> (64 - SHARD_BITS)) as usize;
        let home = ((h >> (64 - SHARD_BITS - log2)) as usize) & ((1 << log2) - 1);
        let base = shard << log2;
        Some((&self.shards[shard], &slots[base..base + (1 << log2)], home))
    }

    /// The slot `key` hashes to within its shard.
    #[inline]
    fn home(&self, key: usize) -> usize {
        let log2 = self.shard_log2.load(Relaxed);
        ((hash(key) >> (64 - SHARD_BITS - log2)) as usize) & ((1 << log2) - 1)
    }

    /// Records a live allocation; false if its shard was full (counted as untracked). An
    /// existing entry for the same pointer (a free the tracer never saw) is replaced.
    pub fn insert(&self, e: Entry) -> bool {
        let Some((shard, slots, home)) = self.locate(e.ptr) else {
            self.count_untracked(e.size);
            return false;
        };
        let mask = slots.len() - 1;
        lock(shard);
        let mut i = home;
        let done = loop {
            let s = &slots[i];
            let k = s.key.load(Relaxed);
            if k == e.ptr {
                put(s, &e);
                break true;
            }
            if k == 0 {
                if shard.live.load(Relaxed) >= slots.len() / 4 * 3 {
                    break false;
                }
                put(s, &e);
                // Under the shard's lock: a plain load and store, not a locked add.
                shard.live.store(shard.live.load(Relaxed) + 1, Relaxed);
                break true;
            }
            i = (i + 1) & mask;
        };
        unlock(shard);
        if !done {
            self.count_untracked(e.size);
        }
        done
    }

    fn count_untracked(&self, size: usize) {
        self.untracked.fetch_add(1, Relaxed);
        self.untracked_bytes.fetch_add(size as u64, Relaxed);
    }

    /// Removes the entry of `ptr` and returns it; `None` (counted as an unknown free) if
    /// the table did not hold it.
    pub fn remove(&self, ptr: usize) -> Option<Entry> {
        let (shard, slots, home) = self.locate(ptr)?;
        let mask = slots.len() - 1;
        lock(shard);
        let mut i = home;
        let found = loop {
            let k = slots[i].key.load(Relaxed);
            if k == ptr {
                break Some(get(&slots[i], k));
            }
            if k == 0 {
                break None;
            }
            i = (i + 1) & mask;
        };
        if found.is_some() {
            // Shift back the entries after the hole that may move into it (Knuth's
            // deletion for linear probing), so lookups never need tombstones.
            let mut hole = i;
            let mut j = i;
            loop {
                j = (j + 1) & mask;
                let k = slots[j].key.load(Relaxed);
                if k == 0 {
                    break;
                }
                let h = self.home(k);
                let stays = if hole <= j { hole < h && h <= j } else { hole < h || h <= j };
                if !stays {
                    put(&slots[hole], &get(&slots[j], k));
                    hole = j;
                }
            }
            slots[hole].key.store(0, Relaxed);
            shard.live.store(shard.live.load(Relaxed) - 1, Relaxed);
        }
        unlock(shard);
        if found.is_none() {
            self.unknown_frees.fetch_add(1, Relaxed);
        }
        found
    }

    /// Entries held (the sum over shards).
    pub fn live(&self) -> usize {
        self.shards.iter().map(|s| s.live.load(Relaxed)).sum()
    }

    /// Calls `f` for every live entry, shard by shard under the shard's lock. With `wait`
    /// false (a signal handler) a shard whose lock stays taken is read without it; the
    /// number of such shards is returned (their part of the snapshot may be inexact).
    pub fn for_each(&self, wait: bool, mut f: impl FnMut(Entry)) -> usize {
        let slots = self.slots();
        if slots.is_empty() {
            return 0;
        }
        let per = slots.len() / SHARDS;
        let mut unlocked = 0;
        for (n, shard) in self.shards.iter().enumerate() {
            let locked = if wait {
                lock(shard);
                true
            } else {
                try_lock(shard, 2000)
            };
            for s in &slots[n * per..(n + 1) * per] {
                let k = s.key.load(Relaxed);
                if k != 0 {
                    f(get(s, k));
                }
            }
            if locked {
                unlock(shard);
            } else {
                unlocked += 1;
            }
        }
        unlocked
    }

    /// Takes every shard's lock (before `fork`, so the child never inherits a table
    /// half-way through a change).
    pub fn lock_all(&self) {
        for s in &self.shards {
            lock(s);
        }
    }

    /// Releases every shard's lock (after `fork`, in parent and child).
    pub fn unlock_all(&self) {
        for s in &self.shards {
            unlock(s);
        }
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::new()
    }
}

#[inline]
fn put(s: &Slot, e: &Entry) {
    s.size.store(e.size, Relaxed);
    s.site.store(e.site, Relaxed);
    s.time_ms.store(e.time_ms, Relaxed);
    s.key.store(e.ptr, Relaxed);
}

#[inline]
fn get(s: &Slot, key: usize) -> Entry {
    Entry { ptr: key, size: s.size.load(Relaxed), site: s.site.load(Relaxed), time_ms: s.time_ms.load(Relaxed) }
}

#[inline]
fn lock(s: &Shard) {
    let mut spins = 0u32;
    while s.lock.compare_exchange_weak(0, 1, Acquire, Relaxed).is_err() {
        spins += 1;
        if spins < 100 {
            core::hint::spin_loop();
        } else {
            // The holder may have been preempted (more threads than cores, or QEMU).
            sys::yield_now();
        }
    }
}

fn try_lock(s: &Shard, tries: u32) -> bool {
    for _ in 0..tries {
        if s.lock.compare_exchange_weak(0, 1, Acquire, Relaxed).is_ok() {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

#[inline]
fn unlock(s: &Shard) {
    s.lock.store(0, Release);
}

#[cfg(test)]
mod test {
    use super::*;
    use std::collections::HashMap;

    fn table(slots: usize) -> &'static Table {
        let t: &'static Table = Box::leak(Box::new(Table::new()));
        let mem: &'static [Slot] =
            Box::leak((0..slots).map(|_| Slot::default()).collect::<Vec<_>>().into_boxed_slice());
        t.attach(mem);
        t
    }

    fn e(ptr: usize, size: usize) -> Entry {
        Entry { ptr, size, site: 0x1000 + size, time_ms: 7 }
    }

    fn contents(t: &Table) -> HashMap<usize, Entry> {
        let mut m = HashMap::new();
        t.for_each(true, |e| assert!(m.insert(e.ptr, e).is_none(), "{:#x} twice", e.ptr));
        m
    }

    #[test]
    fn insert_then_remove_leaves_only_outstanding() {
        let t = table(MIN_SLOTS);
        for i in 1..=500 {
            assert!(t.insert(e(i * 16, i)));
        }
        for i in (1..=500).filter(|i| i % 3 != 0) {
            assert_eq!(t.remove(i * 16), Some(e(i * 16, i)));
        }
        let m = contents(t);
        assert_eq!(m.len(), 166);
        assert!(m.values().all(|e| (e.ptr / 16) % 3 == 0));
        assert_eq!(t.live(), 166);
        assert_eq!(t.remove(16), None);
        assert_eq!(t.unknown_frees.load(Relaxed), 1);
    }

    #[test]
    fn a_pointer_seen_again_replaces_its_stale_entry() {
        let t = table(MIN_SLOTS);
        t.insert(e(0x5000, 10));
        t.insert(e(0x5000, 20));
        assert_eq!(contents(t).len(), 1);
        assert_eq!(t.remove(0x5000).unwrap().size, 20);
        assert_eq!(t.live(), 0);
    }

    #[test]
    fn a_full_shard_counts_what_it_could_not_track() {
        let t = table(MIN_SLOTS);
        let mut ok = 0;
        for i in 1..=(MIN_SLOTS * 2) {
            if t.insert(e(i * 16, 8)) {
                ok += 1;
            }
        }
        let untracked = t.untracked.load(Relaxed) as usize;
        assert_eq!(ok + untracked, MIN_SLOTS * 2);
        assert!(ok <= MIN_SLOTS / 4 * 3 && ok > MIN_SLOTS / 2, "{ok}");
        assert_eq!(t.untracked_bytes.load(Relaxed), untracked as u64 * 8);
        assert_eq!(contents(t).len(), ok);
    }

    #[test]
    fn removal_keeps_every_chain_reachable() {
        // Many keys in a small table give long, wrapping chains; remove in a scrambled
        // order and check every remaining key is still found.
        let t = table(MIN_SLOTS);
        let keys: Vec<usize> = (1..=2000).map(|i| i * 4096 + 16 * (i % 7)).collect();
        for &k in &keys {
            t.insert(e(k, 1));
        }
        let held: Vec<usize> = contents(t).keys().copied().collect();
        let mut gone = std::collections::HashSet::new();
        for (n, &k) in held.iter().enumerate() {
            if n % 2 == 0 {
                assert!(t.remove(k).is_some());
                gone.insert(k);
            }
        }
        for &k in &held {
            if !gone.contains(&k) {
                assert!(t.remove(k).is_some(), "{k:#x} lost after removals");
            }
        }
        assert_eq!(t.live(), 0);
        assert!(contents(t).is_empty());
    }

    #[test]
    fn eight_threads_lose_no_record() {
        let t = table(1 << 16);
        let threads: Vec<_> = (0..8usize)
            .map(|n| {
                std::thread::spawn(move || {
                    let base = (n + 1) << 40;
                    let mut ring = [0usize; 64];
                    for i in 0..50_000usize {
                        let p = base + i * 16;
                        let old = std::mem::replace(&mut ring[i % 64], p);
                        if old != 0 {
                            assert!(t.remove(old).is_some(), "lost {old:#x}");
                        }
                        assert!(t.insert(e(p, 32)));
                    }
                    for &p in &ring {
                        assert!(t.remove(p).is_some());
                    }
                    for i in 0..100 {
                        t.insert(e(base + (1 << 30) + i * 16, 48));
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        let m = contents(t);
        assert_eq!(m.len(), 800);
        assert!(m.values().all(|e| e.size == 48));
        assert_eq!(t.unknown_frees.load(Relaxed), 0);
    }
}
