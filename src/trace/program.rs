//! Starting a program under the tracer: finding it (`PATH`, `#!` interpreters), telling
//! a dynamic program from a static one and musl from glibc, and finding the tracer library
//! built for its architecture.

use crate::arg::Arg;
use crate::elf::{self, Elf, ElfError};
use crate::sys::{self, ChildExit, Errno, Mode};
use crate::Error;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// The dump directory when `-o` is not given (the library's default too).
pub const DEFAULT_DIR: &str = "/tmp/kleak-trace";
/// The library's file name; `-musl` before `.so` for the musl build when both are shipped.
pub const LIB_NAME: &str = "libkleak_trace.so";
const LIB_NAME_MUSL: &str = "libkleak_trace-musl.so";
/// Where the library is looked for besides the kleak binary's own directory.
const LIB_DIRS: [&str; 3] = ["../lib/kleak", "/usr/local/lib/kleak", "/usr/lib/kleak"];

/// What kleak needs to know about the program before preloading into it.
pub struct Program {
    /// The program file (a script, not its interpreter).
    pub path: Arg,
    /// `e_machine` of the program (of a script's interpreter).
    pub machine: u16,
    /// Linked against musl (its interpreter is `ld-musl-*`).
    pub musl: bool,
}

/// `cmd` as given if it has a slash, else the first match in `PATH`.
pub fn find_program(cmd: &Arg) -> Result<Arg, Error> {
    if cmd.as_bytes().contains(&b'/') {
        return Ok(cmd.clone());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    path.as_encoded_bytes()
        .split(|&b| b == b':')
        .map(|d| {
            Arg(std::ffi::OsString::from_vec([if d.is_empty() { b"." } else { d }, b"/", cmd.as_bytes()].concat()))
        })
        .find(|p| sys::exists(&[p.as_bytes()]))
        .ok_or_else(|| Error::env(format_args!("{cmd}: command not found in PATH")))
}

/// Reads the program's ELF headers: its architecture, its libc, and whether it can be
/// preloaded at all (a script is judged by its interpreter).
pub fn inspect(cmd: &Arg, path: &Arg, depth: u32) -> Result<Program, Error> {
    let head = script_interpreter(path);
    if let (Some(interp), true) = (head, depth == 0) {
        return inspect(cmd, &interp, depth + 1).map(|p| Program { path: path.clone(), ..p });
    }
    let elf = Elf::open(&[path.as_bytes()]).map_err(|e| match e {
        ElfError::Unsupported => Error::env(format_args!(
            "{path} is a 32-bit or big-endian program; the tracer is built for 64-bit x86_64 and aarch64 programs"
        )),
        e if cmd == path => Error::env(format_args!("{path}: {e}")),
        e => Error::env(format_args!("{cmd} ({path}): {e}")),
    })?;
    if !elf.is_dynamic() {
        return Err(Error::env(format_args!(
            "{path} is statically linked, so LD_PRELOAD cannot reach its malloc; follow its memory from outside with `kleak watch --pid PID`"
        )));
    }
    let mut buf = [0u8; 256];
    let musl = elf.interp(&mut buf).is_some_and(|i| i.windows(7).any(|w| w == b"ld-musl"));
    Ok(Program { path: path.clone(), machine: elf.machine, musl })
}

/// The interpreter of a `#!` script.
fn script_interpreter(path: &Arg) -> Option<Arg> {
    let f = sys::File::open(&[path.as_bytes()], Mode::Read).ok()?;
    let mut buf = [0u8; 256];
    let n = f.pread(&mut buf, 0).ok()?;
    let line = buf[..n].strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let first = crate::parse::Tokens::new(line).next()?;
    Some(Arg(std::ffi::OsString::from_vec(first.to_vec())))
}

/// The tracer library for `prog`: `KLEAK_TRACE_LIB`, else beside kleak or in the library
/// directories, built for the program's architecture.
pub fn find_library(prog: &Program) -> Result<String, Error> {
    let arch = elf::machine_name(prog.machine);
    let fits = |lib: &str| Elf::open(&[lib.as_bytes()]).map(|e| e.machine == prog.machine);
    if let Ok(lib) = std::env::var("KLEAK_TRACE_LIB") {
        return match fits(&lib) {
            Ok(true) => Ok(absolute(lib.as_bytes()).to_string()),
            Ok(false) => {
                Err(Error::env(format_args!("KLEAK_TRACE_LIB={lib} is not built for {arch}, as {} is", prog.path)))
            }
            Err(e) => Err(Error::env(format_args!("KLEAK_TRACE_LIB={lib}: {e}"))),
        };
    }
    let exe = std::env::current_exe().ok();
    let exe_dir = exe.as_deref().and_then(|p| p.parent()).and_then(|d| d.to_str()).unwrap_or("/nonexistent");
    let names: &[&str] = if prog.musl { &[LIB_NAME_MUSL, LIB_NAME] } else { &[LIB_NAME] };
    // Beside kleak first, then the library directories (relative ones beside kleak too).
    for d in core::iter::once("").chain(LIB_DIRS) {
        for n in names {
            let lib = match (d.is_empty(), d.starts_with('/')) {
                (true, _) => format!("{exe_dir}/{n}"),
                (false, true) => format!("{d}/{n}"),
                (false, false) => format!("{exe_dir}/{d}/{n}"),
            };
            if let Ok(true) = fits(&lib) {
                return Ok(absolute(lib.as_bytes()).to_string());
            }
        }
    }
    Err(Error::env(format_args!(
        "no {LIB_NAME} for {arch} found beside kleak or in {}: copy it there or name it with KLEAK_TRACE_LIB (build: trace/build.sh)",
        LIB_DIRS[1..].join(", ")
    )))
}

/// `p` made absolute against the current directory (the traced program may `chdir`).
pub fn absolute(p: &[u8]) -> Arg {
    let bytes = match std::env::current_dir() {
        Ok(d) if !p.starts_with(b"/") => [d.as_os_str().as_bytes(), b"/", p.strip_prefix(b"./").unwrap_or(p)].concat(),
        _ => p.to_vec(),
    };
    Arg(std::ffi::OsString::from_vec(bytes))
}

/// A program started under the tracer.
pub struct Traced {
    /// Its process id.
    pub pid: i32,
    cmd: Arg,
}

impl Traced {
    /// Starts `args` (the command and its arguments) with the library preloaded, dumps
    /// into `dir` every `interval` seconds, and the allocation log into `events` if given.
    pub fn start(args: &[Arg], dir: &Arg, interval: f64, events: Option<&Arg>) -> Result<Traced, Error> {
        let cmd = &args[0];
        let path = find_program(cmd)?;
        let prog = inspect(cmd, &path, 0)?;
        let lib = find_library(&prog)?;
        sys::mkdirs(dir.as_bytes()).map_err(|e| Error::env(format_args!("{dir}: {e}")))?;
        // The tracer writes its dumps there: a file or a directory it cannot write would
        // only show at the end, as a dump that never came.
        match sys::file_type(&[dir.as_bytes()]) {
            Ok(sys::FileType::Dir) => {}
            Ok(t) => return Err(Error::env(format_args!("-o {dir}: {}, not a directory for the dumps", t.name()))),
            Err(e) => return Err(Error::env(format_args!("-o {dir}: {e}"))),
        }
        sys::writable_dir(&[dir.as_bytes()])
            .map_err(|e| Error::env(format_args!("-o {dir}: the dumps cannot be written there: {e}")))?;
        let preload = match std::env::var_os("LD_PRELOAD") {
            Some(old) if !old.is_empty() => [lib.as_bytes(), b":", old.as_encoded_bytes()].concat(),
            _ => lib.as_bytes().to_vec(),
        };
        let interval = crate::out::fmt::Fixed(interval, 3).to_string();
        let env = [
            ("LD_PRELOAD", preload.as_slice()),
            ("KLEAK_TRACE_DIR", dir.as_bytes()),
            ("KLEAK_TRACE_INTERVAL", interval.as_bytes()),
            ("KLEAK_TRACE_EVENTS", events.map_or(&b""[..], Arg::as_bytes)),
        ];
        let pid =
            sys::spawn(path.as_bytes(), &args[1..], &env, false).map_err(|e| Error::env(format_args!("{cmd}: {e}")))?;
        Ok(Traced { pid, cmd: cmd.clone() })
    }

    /// Waits for the program to end, passing a stop signal (SIGTERM; Ctrl-C reaches the
    /// whole process group anyway) on to it once.
    pub fn wait(&self) -> Result<ChildExit, Error> {
        let mut forwarded = false;
        loop {
            match sys::wait(self.pid) {
                Ok(x) => return Ok(x),
                Err(Errno::EINTR) => {
                    if sys::stop_requested() && !forwarded {
                        let _ = sys::kill(self.pid, sys::stop_signal());
                        forwarded = true;
                    }
                }
                Err(e) => return Err(Error::env(format_args!("waiting for {}: {e}", self.cmd))),
            }
        }
    }
}
