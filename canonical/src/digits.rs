//! Decimal digits of other scripts as ASCII digits. `char::to_digit` knows only ASCII, and
//! compatibility decomposition only the full-width and mathematical forms, so the scripts'
//! own digit runs are listed here: Unicode places each script's ten digits in a row, zero first.

/// The zero of each script's digit run.
const ZEROS: [u32; 22] = [
    0x0660, // Arabic-Indic
    0x06F0, // Extended Arabic-Indic (Persian, Urdu)
    0x07C0, // NKo
    0x0966, // Devanagari
    0x09E6, // Bengali
    0x0A66, // Gurmukhi
    0x0AE6, // Gujarati
    0x0B66, // Oriya
    0x0BE6, // Tamil
    0x0C66, // Telugu
    0x0CE6, // Kannada
    0x0D66, // Malayalam
    0x0DE6, // Sinhala
    0x0E50, // Thai
    0x0ED0, // Lao
    0x0F20, // Tibetan
    0x1040, // Myanmar
    0x17E0, // Khmer
    0x1810, // Mongolian
    0x1946, // Limbu
    0xA8D0, // Saurashtra
    0xA9D0, // Javanese
];

/// `c` as an ASCII digit when it is a decimal digit of a listed script (or ASCII already).
pub fn ascii_digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    let code = u32::from(c);
    ZEROS
        .iter()
        .find(|zero| (**zero..**zero + 10).contains(&code))
        .and_then(|zero| char::from_digit(code - zero, 10))
}
