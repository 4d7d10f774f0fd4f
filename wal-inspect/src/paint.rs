//! Colour on a terminal only: `--color auto|always|never`; `auto` (the default) colours
//! when stdout is a terminal, `NO_COLOR` is unset or empty (<https://no-color.org>) and
//! `TERM` is not `dumb`. Only the human output is coloured, never JSON, tables or
//! metrics; a colourless run prints the same text without the escapes.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether [`init`] turned colour on.
static ON: AtomicBool = AtomicBool::new(false);

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    // (No doc comments on the values: clap would turn the one-line list into a table.)
    #[default]
    Auto,
    Always,
    Never,
}

/// Decide once, before any output.
pub fn init(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    };
    ON.store(on, Ordering::Relaxed);
}

fn wrap(code: &str, text: &str) -> String {
    if ON.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// What stops etcd or loses data (bold red).
pub fn bad(text: &str) -> String {
    wrap("1;31", text)
}

/// What needs attention but does not stop etcd (yellow).
pub fn warn(text: &str) -> String {
    wrap("33", text)
}

/// All is well (green).
pub fn good(text: &str) -> String {
    wrap("32", text)
}

/// A heading (bold).
pub fn strong(text: &str) -> String {
    wrap("1", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_unless_on() {
        init(ColorChoice::Never);
        assert_eq!(bad("x"), "x");
        init(ColorChoice::Always);
        assert_eq!(bad("x"), "\x1b[1;31mx\x1b[0m");
        assert_eq!(good("ok"), "\x1b[32mok\x1b[0m");
        init(ColorChoice::Never);
    }
}
