//! Folding: text reduced to lowercase words without accents, so that `Ødegård` is found by
//! `odegard`, `كريمي` typed on an Arabic keyboard by the Persian `کریمی`, and `௧௨` by `12`.
//! The stores index the folded text and the query is folded the same way, so both stores split
//! and compare identically, and neither store's own tokenizer or collation decides a match.

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::digits::ascii_digit;

/// Longest word kept, in characters. Longer ones are cut, the same way in records and
/// queries, so a prefix still finds them and no store refuses a word as too long to index.
pub const MAX_WORD_CHARS: usize = 64;

/// `text` as lowercase words of letters, digits and the marks that are part of a letter (a
/// Tamil vowel sign), separated by single spaces. Accents, Arabic vowel marks, tatweel and
/// joiners go; letters without a decomposition (`ø`, `æ`, `ß`, `ł`, `đ`, `þ`) become their
/// usual Latin spelling; Arabic letter variants become the Persian ones; digits of any common
/// script become ASCII. Anything else separates words.
pub fn fold(text: &str) -> String {
    words(text).collect::<Vec<_>>().join(" ")
}

/// The words of [`fold`], each at most [`MAX_WORD_CHARS`] long.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut chars = text.nfkd().flat_map(char::to_lowercase).peekable();
    std::iter::from_fn(move || {
        let mut word = String::new();
        let mut length = 0;
        for c in chars.by_ref() {
            match fold_char(c) {
                Folded::Drop => {}
                Folded::Break if word.is_empty() => {}
                Folded::Break => break,
                Folded::Keep(spelling) => {
                    for c in spelling.chars() {
                        if length < MAX_WORD_CHARS {
                            word.push(c);
                            length += 1;
                        }
                    }
                }
            }
        }
        (!word.is_empty()).then_some(word)
    })
}

enum Folded {
    /// Part of a word as this spelling.
    Keep(Spelling),
    /// Not there at all: the word goes on across it.
    Drop,
    /// Ends the word.
    Break,
}

/// One folded character's spelling: most are themselves, a few become two letters.
enum Spelling {
    One(char),
    Two(char, char),
}

impl Spelling {
    fn chars(self) -> impl Iterator<Item = char> {
        let (first, second) = match self {
            Self::One(c) => (c, None),
            Self::Two(a, b) => (a, Some(b)),
        };
        std::iter::once(first).chain(second)
    }
}

/// One character of the decomposed, lowercased text.
fn fold_char(c: char) -> Folded {
    use Spelling::{One, Two};
    let spelling = match c {
        'ø' => One('o'),
        'æ' => Two('a', 'e'),
        'œ' => Two('o', 'e'),
        'ß' => Two('s', 's'),
        'ł' => One('l'),
        'đ' | 'ð' => One('d'),
        'þ' => Two('t', 'h'),
        'ħ' => One('h'),
        'ŧ' => One('t'),
        'ı' => One('i'),
        // Arabic-keyboard yeh and alef maksura, and kaf, as Persian writes them; teh marbuta as
        // the heh it is read as.
        'ي' | 'ى' => One('ی'),
        'ك' => One('ک'),
        'ة' => One('ه'),
        // Tatweel stretches a word; the joiners and the soft hyphen only shape it.
        '\u{0640}' | '\u{200C}' | '\u{200D}' | '\u{00AD}' | '\u{2060}' | '\u{FEFF}' => {
            return Folded::Drop;
        }
        c if is_accent(c) => return Folded::Drop,
        c => match ascii_digit(c) {
            Some(digit) => One(digit),
            None if c.is_alphanumeric() || is_combining_mark(c) => One(c),
            None => return Folded::Break,
        },
    };
    Folded::Keep(spelling)
}

/// Marks that decorate a letter rather than spell it: the combining diacritics of Latin, Greek
/// and Cyrillic, Hebrew points and Arabic vowel signs. The vowel signs of Indic scripts are
/// letters' parts and stay.
fn is_accent(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05C7}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06ED}'
        | '\u{08D3}'..='\u{08FF}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(pairs: &[(&str, &str)]) {
        for (typed, folded) in pairs {
            assert_eq!(fold(typed), *folded, "{typed}");
        }
    }

    #[test]
    fn case_and_accents_fold_away() {
        same(&[
            ("Siân", "sian"),
            ("Llŷr", "llyr"),
            ("Éireannach", "eireannach"),
            ("Ó Súilleabháin", "o suilleabhain"),
            ("François Müller", "francois muller"),
            ("İstanbul", "istanbul"),
            ("ΆΘΗΝΑ", "αθηνα"),
        ]);
    }

    #[test]
    fn letters_without_a_decomposition_take_their_latin_spelling() {
        same(&[
            ("Ødegård", "odegard"),
            ("Bjørn Æsland", "bjorn aesland"),
            ("Straße", "strasse"),
            ("STRAẞE", "strasse"),
            ("Łódź", "lodz"),
            ("Đorđević", "dordevic"),
            ("Þórður", "thordur"),
            ("Œuvre", "oeuvre"),
        ]);
    }

    #[test]
    fn arabic_keyboard_letters_read_as_persian() {
        assert_eq!(fold("كريمي"), fold("کریمی"));
        assert_eq!(fold("کریمی"), "کریمی");
        assert_eq!(fold("فاطمة"), "فاطمه");
        assert_eq!(fold("مُحَمَّد"), "محمد", "vowel marks go");
        assert_eq!(fold("أحمد"), "احمد", "hamza on alef goes");
        assert_eq!(fold("كـــريم"), "کریم", "tatweel goes");
    }

    #[test]
    fn joiners_keep_a_word_whole() {
        assert_eq!(fold("می\u{200C}خواهم"), "میخواهم");
        assert_eq!(fold("co\u{00AD}operate"), "cooperate");
    }

    #[test]
    fn digits_of_other_scripts_become_ascii() {
        same(&[
            ("۱۲۳۴", "1234"),
            ("٠٩", "09"),
            ("௧௨௩", "123"),
            ("१२३", "123"),
            ("１２３", "123"),
            ("๑๒", "12"),
        ]);
    }

    #[test]
    fn indic_vowel_signs_stay_part_of_the_word() {
        assert_eq!(fold("முருகன்"), "முருகன்");
        assert_eq!(fold("கு"), "கு");
        assert_ne!(fold("கு"), fold("க"));
    }

    #[test]
    fn anything_else_separates_words() {
        same(&[
            ("peter.gibbons@initech.com", "peter gibbons initech com"),
            ("  a\0b\t\n--c  ", "a b c"),
            ("+1 (415) 555-2671", "1 415 555 2671"),
            ("", ""),
            ("\u{0301}\u{0301}\u{064E}", ""),
            ("!!!", ""),
        ]);
    }

    #[test]
    fn long_words_are_cut() {
        let long = "x".repeat(MAX_WORD_CHARS * 3);
        assert_eq!(
            fold(&format!("{long} y")),
            format!("{} y", "x".repeat(MAX_WORD_CHARS))
        );
    }
}
