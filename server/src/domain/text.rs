//! Text taken from requests: its normal form, the characters refused in it, and how a value is
//! shown in error messages and in the log.
//!
//! Every text field is normalised to NFC (Unicode canonical composition) before it is checked
//! and stored, so that two case numbers which differ only in how an accented letter is encoded
//! are one case number. What is refused then depends on the field:
//!
//! - one-line, identifying text ([`Lines::One`]: case numbers, addressees, aid recipients,
//!   release titles) refuses every control character (tabs and line breaks included), the line
//!   and paragraph separators U+2028 and U+2029, the bidirectional controls (embeddings and
//!   overrides U+202A–U+202E, isolates U+2066–U+2069, and the invisible marks U+200E, U+200F and
//!   U+061C) and the zero-width characters U+200B–U+200D, U+2060 and U+FEFF: none of them is
//!   ever part of a name, and each can make two different values look alike or make a value
//!   look like something else;
//! - free text ([`Lines::Many`]: case summaries, resolution notes, reasons for a change) keeps
//!   line breaks (`\n`, `\r`), tabs, U+2028/U+2029, the invisible bidirectional marks and the
//!   zero-width characters (joiners are part of emoji and of some scripts), but refuses every
//!   other control character and the bidirectional embeddings, overrides and isolates, which
//!   can reorder how the text after them is displayed.
//!
//! A value echoed in an error message is [`quote`]d: escaped and cut to its first
//! [`MAX_QUOTED`] characters; a value written to the log is [`logged`]: escaped the same way
//! and cut to [`MAX_LOGGED`] characters, so that no request can write a line of its own into
//! the log.

use std::borrow::Cow;
use std::fmt;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Most characters of a request's value that an error message echoes.
pub const MAX_QUOTED: usize = 64;

/// Most characters of a request's value that a log line shows (the longest identifying field,
/// a title or an addressee, is 200 characters).
pub const MAX_LOGGED: usize = 200;

/// Which line breaks and invisible characters a text field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line of identifying text: a case number, an addressee, a recipient, a title.
    One,
    /// Free text of any number of lines: a summary, a note, a reason.
    Many,
}

/// `value` in NFC, trimmed; or why it is refused (the first refused character, by code point).
pub fn normalise(value: &str, lines: Lines) -> Result<String, String> {
    let normal = nfc(value);
    let trimmed = normal.trim();
    match trimmed
        .chars()
        .find_map(|c| refused(c, lines).map(|what| (c, what)))
    {
        Some((c, what)) => Err(format!("contains {what} U+{:04X}; remove it", u32::from(c))),
        None => Ok(trimmed.to_owned()),
    }
}

/// `value` in Unicode Normalization Form C (borrowed when it is in NFC already, as nearly all
/// text is: the quick check reads it once without allocating).
pub fn nfc(value: &str) -> Cow<'_, str> {
    if is_nfc_quick(value.chars()) == IsNormalized::Yes {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.nfc().collect())
    }
}

/// What kind of refused character `c` is in a field of `lines`, if it is refused.
fn refused(c: char, lines: Lines) -> Option<&'static str> {
    let many = lines == Lines::Many;
    match c {
        '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' if many => None,
        c if c.is_control() => Some("the control character"),
        '\u{2028}' | '\u{2029}' => Some("the line or paragraph separator"),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => Some("the bidirectional control"),
        '\u{200E}' | '\u{200F}' | '\u{061C}' if !many => Some("the bidirectional mark"),
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' if !many => {
            Some("the zero-width character")
        }
        _ => None,
    }
}

/// A value taken from a request, as an error message or a log line shows it: in double quotes,
/// escaped as Rust's `Debug` escapes a string (quotes, backslashes, line breaks, control,
/// format and bidirectional characters become escapes such as `\n` or `\u{202e}`), and when
/// longer than its limit cut at a character boundary and followed by `…` and its whole length,
/// e.g. `"AAAA"… (1048576 characters)`. `Display` and `Debug` show the same.
#[derive(Clone, Copy)]
pub struct Shown<'a> {
    value: &'a str,
    max: usize,
}

/// `value` as an error message echoes it: at most [`MAX_QUOTED`] characters, escaped.
pub fn quote(value: &str) -> Shown<'_> {
    Shown {
        value,
        max: MAX_QUOTED,
    }
}

/// `value` as the log shows it: at most [`MAX_LOGGED`] characters, escaped. Log it with `?`
/// (e.g. `fields(title = ?logged(&request.title))`) or `%`: both give this form.
pub fn logged(value: &str) -> Shown<'_> {
    Shown {
        value,
        max: MAX_LOGGED,
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value.char_indices().nth(self.max) {
            None => write!(f, "{:?}", self.value),
            Some((cut, _)) => write!(
                f,
                "{:?}… ({} characters)",
                &self.value[..cut],
                self.value.chars().count()
            ),
        }
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_stored_in_nfc() {
        assert_eq!(normalise(" e\u{301} ", Lines::One), Ok("é".to_owned()));
        assert_eq!(normalise("案-1", Lines::One), Ok("案-1".to_owned()));
        // A singleton decomposition: the Ångström sign is the letter Å in NFC.
        assert_eq!(nfc("\u{212B}"), "\u{C5}");
    }

    #[test]
    fn one_line_text_refuses_invisible_and_control_characters() {
        for bad in [
            "a\nb",
            "a\tb",
            "a\rb",
            "a\0b",
            "a\u{7}b",
            "a\u{1b}[31mb",
            "a\u{85}b",
            "a\u{2028}b",
            "a\u{202A}b",
            "a\u{202E}b",
            "a\u{2066}b",
            "a\u{2069}b",
            "a\u{200E}b",
            "a\u{200B}b",
            "a\u{200D}b",
            "a\u{2060}b",
            "a\u{FEFF}b",
        ] {
            assert!(normalise(bad, Lines::One).is_err(), "{bad:?}");
        }
        assert_eq!(
            normalise("a\u{202E}b", Lines::One),
            Err("contains the bidirectional control U+202E; remove it".to_owned())
        );
    }

    #[test]
    fn free_text_keeps_line_breaks_but_refuses_bidirectional_controls() {
        for good in [
            "第一行\n第二行",
            "a\r\nb",
            "a\tb",
            "a\u{200D}b",
            "a\u{200F}b",
        ] {
            assert_eq!(normalise(good, Lines::Many), Ok(good.to_owned()));
        }
        for bad in ["a\0b", "a\u{1b}b", "a\u{202E}b", "a\u{2067}b"] {
            assert!(normalise(bad, Lines::Many).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shown_values_are_escaped_and_cut() {
        assert_eq!(quote("a\"b\nc").to_string(), r#""a\"b\nc""#);
        assert_eq!(format!("{:?}", logged("x\u{202E}")), r#""x\u{202e}""#);
        let long = "案".repeat(100);
        let shown = quote(&long).to_string();
        assert_eq!(shown, format!("{:?}… (100 characters)", "案".repeat(64)));
        assert_eq!(
            quote(&"A".repeat(64)).to_string(),
            format!("{:?}", "A".repeat(64))
        );
    }
}
