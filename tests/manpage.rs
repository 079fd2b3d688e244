//! The manual page `kleak.1` is generated from `kleak --help` and every command's
//! `--help`, so the two never disagree. When help changes, this test fails; regenerate
//! with `KLEAK_BLESS=1 cargo test --test manpage` and commit kleak.1. A second test reads
//! the page as text, apart from the generator, and finds every command, every option and
//! its description of the help in it (blessing a broken generator cannot pass that one).

mod common;

use std::path::PathBuf;

fn help(args: &[&str]) -> String {
    let (code, out, err) = common::run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// Escapes text for roff: backslashes, leading dots and quotes, and hyphens.
fn esc(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// (section title, lines) of argh's help text; the first section is the usage line and
/// the description.
fn sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = vec![(String::new(), Vec::new())];
    for l in text.lines() {
        if !l.starts_with(' ') && l.ends_with(':') && !l.contains(' ') || l == "Positional Arguments:" {
            v.push((l.trim_end_matches(':').to_string(), Vec::new()));
        } else {
            v.last_mut().unwrap().1.push(l.to_string());
        }
    }
    v
}

/// `  --name     description` items with continuation lines joined.
fn items(lines: &[String]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    for l in lines {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if l.starts_with("  ") && !l.starts_with("   ") {
            let (name, desc) = t.split_once("  ").unwrap_or((t, ""));
            v.push((name.trim().to_string(), desc.trim().to_string()));
        } else if let Some(last) = v.last_mut() {
            last.1.push(' ');
            last.1.push_str(t);
        }
    }
    v
}

fn body(out: &mut String, text: &str, level: &str) {
    for (title, lines) in sections(text) {
        match title.as_str() {
            "" => {
                let mut it = lines.iter().filter(|l| !l.trim().is_empty()).peekable();
                if let Some(usage) = it.next() {
                    // kleak wraps a long usage line at 80 columns; man wraps it itself.
                    let mut usage = usage.trim_start_matches("Usage: ").to_string();
                    while let Some(more) = it.next_if(|l| l.starts_with("  ")) {
                        usage.push(' ');
                        usage.push_str(more.trim());
                    }
                    out.push_str(&format!(".PP\n.B {}\n", esc(&usage)));
                }
                for l in it {
                    out.push_str(&format!(".PP\n{}\n", esc(l.trim())));
                }
            }
            "Examples" | "Notes" => {
                out.push_str(&format!("{level} {}\n.nf\n", title.to_uppercase()));
                for l in lines.iter().filter(|l| !l.trim().is_empty()) {
                    out.push_str(&format!("{}\n", esc(l)));
                }
                out.push_str(".fi\n");
            }
            "Commands" => {}
            t => {
                out.push_str(&format!("{level} {}\n", t.to_uppercase()));
                for (name, desc) in items(&lines) {
                    out.push_str(&format!(".TP\n.B {}\n{}\n", esc(&name), esc(&desc)));
                }
            }
        }
    }
}

fn generate() -> String {
    let top = help(&["--help"]);
    let version = help(&["--version"]);
    let mut out = format!(
        ".\\\" Generated from kleak --help by tests/manpage.rs; do not edit.\n.TH KLEAK 1 \"\" \"{}\" \"User Commands\"\n.SH NAME\nkleak \\- find kernel memory leaks from user space\n.SH SYNOPSIS\n",
        version.trim()
    );
    body(&mut out, &top, ".SH");
    let commands = sections(&top).into_iter().find(|(t, _)| t == "Commands").map(|(_, l)| items(&l)).unwrap();
    out.push_str(".SH COMMANDS\n");
    for (name, _) in commands {
        out.push_str(&format!(".SS {}\n", esc(&format!("kleak {name}"))));
        body(&mut out, &help(&[&name, "--help"]), ".SS");
    }
    out.push_str(
        ".SH SEE ALSO\nslabtop(1), vmstat(8), the kernel's Documentation/dev-tools/kmemleak.rst, and README.md.\n",
    );
    out
}

#[test]
fn manual_page_matches_help() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kleak.1");
    let want = generate();
    if std::env::var_os("KLEAK_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "kleak.1 is out of date with --help: run KLEAK_BLESS=1 cargo test --test manpage");
}

/// Whitespace runs as one space.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The options of one `--help` text, read directly (not through [`generate`]): each
/// item of its "Options:" section, as (flags like `-n` and `--n`, description).
fn help_options(text: &str) -> Vec<(Vec<String>, String)> {
    let mut v: Vec<(Vec<String>, String)> = Vec::new();
    let section = text.split("\nOptions:\n").nth(1).unwrap_or("");
    for l in section.lines().take_while(|l| l.starts_with(' ')) {
        if let Some(item) = l.strip_prefix("  ").filter(|i| !i.starts_with(' ')) {
            let (names, desc) = item.split_once("  ").unwrap_or((item, ""));
            let flags = names.split(", ").filter(|n| n.starts_with('-')).map(str::to_string).collect();
            v.push((flags, desc.trim().to_string()));
        } else if let Some(last) = v.last_mut() {
            last.1 = flat(&format!("{} {}", last.1, l));
        }
    }
    v
}

/// kleak.1 read as a reader's man would: for each scope (`""` for kleak itself, then each
/// `.SS kleak CMD`), the text of the page, unescaped and flattened.
fn man_scopes(page: &str) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), String::new())];
    for l in page.lines() {
        if let Some(cmd) = l.strip_prefix(".SS kleak ") {
            v.push((cmd.to_string(), String::new()));
            continue;
        }
        let text = l.strip_prefix(".B ").unwrap_or(l);
        if !text.starts_with('.') {
            let text = text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\");
            let s = &mut v.last_mut().unwrap().1;
            s.push(' ');
            s.push_str(&text);
        }
    }
    v.into_iter().map(|(k, s)| (k, flat(&s))).collect()
}

#[test]
fn the_manual_page_documents_every_command_and_option_of_the_help() {
    let page = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kleak.1")).unwrap();
    let scopes = man_scopes(&page);
    let top = help(&["--help"]);
    let commands: Vec<String> = top
        .split("\nCommands:\n")
        .nth(1)
        .expect("kleak --help lists its commands")
        .lines()
        .take_while(|l| l.starts_with(' '))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    let mut checked = 0;
    for cmd in std::iter::once(String::new()).chain(commands) {
        let text = if cmd.is_empty() { top.clone() } else { help(&[&cmd, "--help"]) };
        let (_, man) = scopes.iter().find(|(k, _)| *k == cmd).unwrap_or_else(|| panic!("kleak.1 has no kleak {cmd}"));
        for (flags, desc) in help_options(&text) {
            assert!(!flags.is_empty() && !desc.is_empty(), "kleak {cmd} --help: {flags:?} {desc:?}");
            for f in &flags {
                assert!(man.contains(&format!(" {f}")), "kleak.1, kleak {cmd}: {f} is not documented");
            }
            assert!(man.contains(&desc), "kleak.1, kleak {cmd}: {flags:?} lacks its description {desc:?}");
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} options found in the help texts");
}
