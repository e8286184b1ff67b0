//! Reviewer names and their canonical key: two spellings of one name are one reviewer.
//!
//! A name is refused when it holds what a reader cannot see or tell apart: control and format characters (general
//! categories Cc and Cf: zero-width spaces and joiners, word joiner, byte order mark, bidi controls), the other
//! default-ignorable code points (variation selectors, Hangul fillers, the combining grapheme joiner), private-use
//! and unassigned code points, and whitespace other than single spaces between words. Whitespace around the name is
//! trimmed. The key of an accepted name is NFKC, then Unicode default (full) case folding, then NFKC again (folding
//! can leave a string unnormalised), so `ann`, `Ann` and `ANN` share a key, as do `José` in NFC and in NFD, and
//! `ﬁnn` and `finn`. Dotless `ı` stays apart from `i`: default folding keeps the Turkish letters distinct.

use caseless::Caseless;
use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;

use crate::CaseError;

/// The longest name accepted, in characters.
pub const MAX_CHARS: usize = 128;

/// Default_Ignorable_Code_Point ranges that are not Cc or Cf (DerivedCoreProperties.txt, Unicode 16): invisible
/// letters and marks a name could hide in.
const IGNORABLE: &[(char, char)] = &[
    ('\u{034F}', '\u{034F}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{2065}', '\u{2065}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// Why `c` may not be in a name, if it may not.
pub(crate) fn refused(c: char) -> Option<&'static str> {
    if c.is_whitespace() {
        return (c != ' ').then_some("whitespace other than a plain space");
    }
    match get_general_category(c) {
        GeneralCategory::Control => return Some("a control character"),
        GeneralCategory::Format => return Some("an invisible format character"),
        GeneralCategory::PrivateUse => return Some("a private-use character"),
        GeneralCategory::Unassigned | GeneralCategory::Surrogate => return Some("an unassigned code point"),
        _ => {}
    }
    IGNORABLE.iter().any(|&(a, b)| (a..=b).contains(&c)).then_some("an invisible (default-ignorable) character")
}

/// The canonical key of a reviewer name, or why the name is refused (see the module documentation).
pub fn key(name: &str) -> Result<String, CaseError> {
    let bad = |why: String| CaseError::Name { name: name.to_string(), why };
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if trimmed.chars().count() > MAX_CHARS {
        return Err(bad(format!("it is longer than {MAX_CHARS} characters")));
    }
    check(trimmed).map_err(bad)?;
    // Compatibility forms can bring spaces of their own (U+0384 is a space and an accent): check the form keyed too.
    let nfkc: String = trimmed.nfkc().collect();
    check(&nfkc).map_err(|why| bad(format!("its NFKC form {nfkc:?}: {why}")))?;
    Ok(fold(trimmed))
}

/// Why a trimmed name, or its NFKC form, is refused, if it is.
fn check(s: &str) -> Result<(), String> {
    if s.starts_with(' ') || s.ends_with(' ') {
        return Err("it begins or ends with a space".into());
    }
    if s.contains("  ") {
        return Err("it has two spaces in a row".into());
    }
    match s.chars().find_map(|c| refused(c).map(|why| (c, why))) {
        Some((c, why)) => Err(format!("it contains U+{:04X}, {why}; type the name without it", c as u32)),
        None => Ok(()),
    }
}

/// NFKC, default case folding, NFKC: the key of a name already checked.
fn fold(name: &str) -> String {
    name.nfkc().default_case_fold().nfkc().collect()
}

/// Whether two stored names are one reviewer. Names on the roster compare by their keys; a name stored before the
/// roster existed (never checked) compares with what [`key`] refuses left out, so it cannot pass for someone else.
pub(crate) fn same(a: &str, b: &str) -> bool {
    let lenient = |s: &str| {
        key(s).unwrap_or_else(|_| {
            let visible: String = s.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).filter(|c| refused(*c).is_none()).collect();
            fold(&visible.split_whitespace().collect::<Vec<_>>().join(" "))
        })
    };
    lenient(a) == lenient(b)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn refused_why(name: &str) -> String {
        match key(name) {
            Err(CaseError::Name { why, .. }) => why,
            other => panic!("{name:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn spellings_of_one_name_share_a_key() {
        let k = |s: &str| key(s).unwrap();
        assert_eq!(k("ann"), "ann");
        assert_eq!(k("Ann"), k("ann"));
        assert_eq!(k("ANN"), k("ann"));
        assert_eq!(k("  ann "), k("ann"));
        assert_eq!(k("Jos\u{e9}"), k("Jose\u{301}"));
        assert_eq!(k("JOS\u{c9}"), k("jose\u{301}"));
        // Compatibility forms: the ligature, full-width letters.
        assert_eq!(k("\u{fb01}nn"), k("finn"));
        assert_eq!(k("\u{ff21}nn"), k("ann"));
        // Full case folding: ß and SS, final and medial sigma.
        assert_eq!(k("Stra\u{df}e"), k("STRASSE"));
        assert_eq!(k("\u{3a3}\u{39f}\u{3a6}\u{39f}\u{3a3}"), k("\u{3c3}\u{3bf}\u{3c6}\u{3bf}\u{3c2}"));
        assert_eq!(k("Ann Lee"), "ann lee");
        // Different names stay different; the Turkish dotless i is its own letter.
        assert_ne!(k("ann"), k("anne"));
        assert_ne!(k("\u{131}nci"), k("inci"));
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{00AD}',
            '\u{180E}',
            '\u{034F}',
            '\u{FE0F}',
            '\u{3164}',
            '\u{115F}',
            '\u{E0041}',
            '\u{0000}',
            '\u{0007}',
            '\u{007F}',
            '\u{0085}',
            '\u{E000}',
        ] {
            let why = refused_why(&format!("an{c}n"));
            assert!(why.contains(&format!("U+{:04X}", c as u32)), "{why}");
        }
        for (name, want) in [
            ("", "empty"),
            ("   ", "empty"),
            ("ann  lee", "two spaces"),
            ("ann\tlee", "whitespace"),
            ("ann\u{a0}lee", "whitespace"),
            ("ann\u{3000}lee", "whitespace"),
            ("ann\nlee", "whitespace"),
        ] {
            assert!(refused_why(name).contains(want), "{name:?}: {}", refused_why(name));
        }
        assert!(refused_why(&"a".repeat(MAX_CHARS + 1)).contains("longer"));
        assert!(key(&"a".repeat(MAX_CHARS)).is_ok());
        // The error names the code point, so the user can see what to remove.
        assert_eq!(
            key("ann\u{200b}").unwrap_err().to_string(),
            "reviewer name \"ann\\u{200b}\" is refused: it contains U+200B, an invisible format character; type the name without it"
        );
    }

    #[test]
    fn same_compares_identities() {
        assert!(same("ann", "Ann"));
        assert!(same("Jos\u{e9}", "JOSE\u{301}"));
        assert!(!same("ann", "bob"));
        // A name stored before the roster, never checked, still matches its visible spelling.
        assert!(same("ann\u{200b}", "ann"));
        assert!(same("ann\u{a0}lee", "Ann Lee"));
    }

    /// Names: letters and marks of a few scripts, digits, and single inner spaces.
    fn names() -> impl Strategy<Value = String> {
        "[\\p{Latin}\\p{Greek}\\p{Cyrillic}\\p{Han}\\p{Mn}0-9._@-]{1,12}( [\\p{Latin}\\p{Greek}\\p{Cyrillic}0-9]{1,8}){0,2}"
            .prop_filter("a valid name", |s| key(s).is_ok())
    }

    /// Characters that render as nothing.
    fn invisible() -> impl Strategy<Value = char> {
        prop::sample::select(vec![
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{00AD}',
            '\u{180E}',
            '\u{034F}',
            '\u{FE0F}',
            '\u{3164}',
            '\u{E0020}',
            '\u{061C}',
            '\u{200E}',
            '\u{200F}',
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn the_key_ignores_normalisation_and_case(s in names()) {
            let k = key(&s).unwrap();
            prop_assert_eq!(key(&k).unwrap(), k.clone(), "the key is its own key");
            for form in [s.nfd().collect::<String>(), s.nfc().collect(), s.nfkd().collect(), s.nfkc().collect()] {
                prop_assert_eq!(key(&form).unwrap(), k.clone(), "{:?}", form);
            }
            // Upper and lower case map to the same key, except around the Turkish dotless i (default folding keeps
            // ı apart from i, while upper-casing ı gives I). The standard library's case tables can be a Unicode
            // version ahead of the crates' (ꟓ upper-cases to a letter of Unicode 17): such a variant is refused.
            if !s.contains('\u{131}') {
                for variant in [s.to_uppercase(), s.to_lowercase()] {
                    match key(&variant) {
                        Err(CaseError::Name { why, .. }) if why.contains("unassigned") => {}
                        other => prop_assert_eq!(other.unwrap(), k.clone(), "{:?}", variant),
                    }
                }
            }
        }

        #[test]
        fn an_inserted_invisible_character_is_refused(s in names(), at in any::<prop::sample::Index>(), c in invisible()) {
            let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
            let i = bounds[at.index(bounds.len())];
            let spoofed = format!("{}{c}{}", &s[..i], &s[i..]);
            prop_assert!(matches!(key(&spoofed), Err(CaseError::Name { .. })), "{:?} was accepted", spoofed);
        }
    }
}
