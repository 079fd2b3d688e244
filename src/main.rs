//! The kleak binary: see the library's documentation for how it works.

fn main() {
    kleak::sys::install_signal_handlers();
    // Arguments are bytes (a path need not be UTF-8): src/cli.rs keeps them so.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = kleak::cli::run(&args);
    kleak::sys::exit(code);
}
