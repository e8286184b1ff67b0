//! Text for a terminal. Account ids, names and reasons come from exports and registries that anyone can write: a
//! control character in them could move the cursor or rewrite earlier lines, and a bidirectional override could
//! show one id as another. Tables show such characters as visible `\u{…}` escapes.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as is: control characters other than line ends and tabs, bidirectional
/// embeddings, overrides, isolates and marks, and invisible characters that make two ids look alike.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `s` with every character a terminal must not see shown as `\u{XXXX}`.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if unsafe_char(c) { format!("\\u{{{:04X}}}", c as u32) } else { c.to_string() }).collect())
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn controls_and_bidi_overrides_are_shown_not_obeyed() {
        assert_eq!(clean("acct-1\tname\n"), "acct-1\tname\n");
        assert_eq!(clean("a\u{1b}[2Jb"), "a\\u{001B}[2Jb");
        assert_eq!(clean("\u{202E}1234"), "\\u{202E}1234");
        assert_eq!(clean("ann\u{200B}"), "ann\\u{200B}");
        assert_eq!(clean("a\rb"), "a\\u{000D}b");
        assert_eq!(clean("José"), "José");
    }
}
