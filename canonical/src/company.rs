//! A company's name as matching compares it.

use crate::fold::words;

/// Legal forms that say how a company is registered, not which company it is.
const LEGAL_FORMS: [&str; 26] = [
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "llc",
    "llp",
    "lp",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "plc",
    "co",
    "corp",
    "corporation",
    "company",
    "pty",
    "oy",
    "ab",
    "as",
    "asa",
];

/// The folded words of a company's name without its legal forms, so that `ACME, Inc.`,
/// `Acme Inc` and `Acme Incorporated` are all `acme`. Legal forms are dropped from the end
/// only (`Co-operative Bank` keeps its `co`), spelled out with stops too (`G.m.b.H.`), and a
/// name that is nothing but a legal form keeps it.
pub fn company(name: &str) -> String {
    let words: Vec<String> = words(name).collect();
    let mut end = words.len();
    while let Some(start) = legal_form_before(&words[..end]) {
        if start == 0 {
            break;
        }
        end = start;
    }
    words[..end].join(" ")
}

/// Where the legal form closing `words` starts: the last word, or a run of one- and
/// two-letter words that spell one together (`g m b h`).
fn legal_form_before(words: &[String]) -> Option<usize> {
    let last = words.last()?;
    if LEGAL_FORMS.contains(&last.as_str()) {
        return Some(words.len() - 1);
    }
    let short = words
        .iter()
        .rev()
        .take_while(|w| w.chars().count() <= 2)
        .count();
    (2..=short).find_map(|run| {
        let start = words.len() - run;
        LEGAL_FORMS
            .contains(&words[start..].concat().as_str())
            .then_some(start)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_forms_and_punctuation_do_not_tell_companies_apart() {
        for name in [
            "ACME, Inc.",
            "Acme Inc",
            "Acme Incorporated",
            "acme",
            "Acme Ltd.",
            "ACME LIMITED",
            "Acme GmbH",
            "Acme G.m.b.H.",
            "Acme S.A.",
            "Acme B.V.",
            "Acme plc",
            "Acme Co.",
            "Acme Corp",
            "Acme, LLC",
            "Acme Co., Ltd.",
        ] {
            assert_eq!(company(name), "acme", "{name}");
        }
    }

    #[test]
    fn the_name_itself_is_kept() {
        assert_eq!(company("Co-operative Bank"), "co operative bank");
        assert_eq!(company("Société Générale S.A."), "societe generale");
        assert_eq!(company("Ødegård Bygg AS"), "odegard bygg");
        assert_eq!(
            company("Inc"),
            "inc",
            "a name that is only a legal form keeps it"
        );
        assert_eq!(company("A B Testing"), "a b testing");
        assert_ne!(company("Acme Inc"), company("Acme Industries Inc"));
    }
}
