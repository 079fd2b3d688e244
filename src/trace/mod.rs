//! The engine of `kleak trace`: everything between the preload library's files and the
//! lines `cmd::trace` prints.
//!
//! ```text
//!  program ─ LD_PRELOAD libkleak_trace.so ─┬─ dumps:  DIR/<pid>.<instance>.<seq>.kleak-trace
//!                                          └─ events: FILE (opt-in ring of every call)
//!  dump ─ parse::tracedump ─ dump::load ─┐
//!  events ─ events::read ───────────────┼─ symbols::resolve (elf: symbols, dwarf: lines)
//!                                        └─ cmd::trace prints
//! ```
//!
//! - [`program`] finds the program and the library built for it.
//! - [`dump`] names, loads and judges dumps (alive, exited, died).
//! - [`events`] reads the allocation log the library keeps when asked to.
//! - [`symbols`] turns (file, offset) into `function+0x1c file.c:LINE`.
//! - [`control`] starts and stops recording in a running traced process, and asks it for
//!   a dump.

pub mod control;
pub mod dump;
pub mod events;
pub mod program;
pub mod symbols;
