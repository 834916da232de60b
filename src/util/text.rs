//! Text that came from outside the rig (an instrument's reply, a program's output, a
//! printer's identity) made safe to show: every control character — ESC, the bell,
//! carriage return, DEL, the C1 controls — and the invisible characters that reorder or
//! hide text (bidirectional overrides, zero-width marks) written as an escape (`\x1b`,
//! `\u{202e}`), so a reply can neither drive a terminal nor hide or forge a line.
//! Ordinary printable UTF-8 (accents, `°C`, `µ`) is kept as it is.
//!
//! Owns the one rule for it; callers apply it where such text is shown or recorded.
//! Must not: drop characters, or change text that needs no escape.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is shown as an escape.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` on one line with every control and invisible character escaped (a line break is
/// `\n`). Borrowed when there is nothing to escape.
pub fn printable(s: &str) -> Cow<'_, str> {
    escaped(s, false)
}

/// [`printable`] for text of several lines: line breaks are kept, everything else is
/// escaped as there.
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    escaped(s, true)
}

fn escaped(s: &str, keep_lines: bool) -> Cow<'_, str> {
    let escape = |c: char| hidden(c) && !(keep_lines && c == '\n');
    if !s.chars().any(escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_printable_text_kept() {
        assert_eq!(
            printable("ACME\x1b[2J\x07,TM-80,µ°C,é"),
            "ACME\\x1b[2J\\x07,TM-80,µ°C,é"
        );
        assert_eq!(printable("a\r\nb\tc\x7f"), "a\\r\\nb\\tc\\x7f");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("safe\u{202e}txt.exe"), "safe\\u{202e}txt.exe");
        assert!(matches!(printable("12.5 V, ±0.1 %"), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_keep_their_breaks_only() {
        assert_eq!(printable_lines("one\x1b[1A\ntwo\r"), "one\\x1b[1A\ntwo\\r");
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let once = printable("\x1b]0;title\x07").into_owned();
        assert_eq!(printable(&once), once);
    }
}
