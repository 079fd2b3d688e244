//! The kleak binary: see the library's documentation for how it works.

fn main() {
    kleak::sys::install_signal_handlers();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = kleak::cli::run(&args);
    kleak::sys::exit(code);
}
