//! A million generated people (fixed seed), a tenth of them with a near-duplicate: a typo in a
//! name, an email dropped or changed, a phone written another way. Links them with weights
//! estimated from the data and prints time, peak memory, precision and recall as one JSON line.
//!
//! `cargo run --release -p linkage --example million [-- <records>]`

use std::{collections::HashSet, time::Instant};

use linkage::{Comparator, FieldSpec, KeyPart, Linker, Pass, Row, Transform, cluster};

const SYLLABLES: [&str; 40] = [
    "an", "bel", "cor", "da", "el", "fin", "ga", "hal", "is", "jo", "ka", "lin", "mar", "nor",
    "ol", "per", "qui", "ros", "sa", "tor", "ul", "ver", "wil", "xan", "yor", "zel", "bri", "cal",
    "dor", "fen", "gil", "har", "ing", "kel", "lor", "mil", "ned", "ost", "rin", "tam",
];
const FIRST: usize = 0;
const LAST: usize = 1;
const EMAIL: usize = 2;
const PHONE: usize = 3;
const COMPANY: usize = 4;
const CITY: usize = 5;

struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    fn word(&mut self, syllables: usize) -> String {
        (0..syllables)
            .map(|_| SYLLABLES[self.below(SYLLABLES.len())])
            .collect()
    }

    /// One typing slip: a letter dropped, doubled or swapped with its neighbour.
    fn typo(&mut self, word: &str) -> String {
        let mut chars: Vec<char> = word.chars().collect();
        if chars.len() < 3 {
            return word.to_owned();
        }
        let at = 1 + self.below(chars.len() - 2);
        match self.below(3) {
            0 => {
                chars.remove(at);
            }
            1 => chars.insert(at, chars[at]),
            _ => chars.swap(at, at + 1),
        }
        chars.into_iter().collect()
    }
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let mut random = Random(0x5EED_CAFE_F00D_1234);
    let mut rows: Vec<Row> = Vec::with_capacity(count + count / 10);
    let mut truth: HashSet<(u32, u32)> = HashSet::new();
    for i in 0..count {
        let first = random.word(2);
        let last = random.word(3);
        let company = random.word(2);
        let row = vec![
            Some(first.clone()),
            Some(last.clone()),
            Some(format!("{first}.{last}{i}@{company}.example")),
            Some(format!("+1{:010}", random.below(10_000_000_000))),
            Some(company),
            Some(random.word(2)),
        ];
        if i % 10 == 0 {
            let mut copy = row.clone();
            match random.below(4) {
                0 => copy[FIRST] = Some(random.typo(&first)),
                1 => copy[LAST] = Some(random.typo(&last)),
                2 => copy[EMAIL] = None,
                _ => copy[PHONE] = None,
            }
            if random.below(2) == 0 {
                copy[EMAIL] = Some(format!("{}@mail.example", random.typo(&last)));
            }
            truth.insert((rows.len() as u32, rows.len() as u32 + 1));
            rows.push(row);
            rows.push(copy);
        } else {
            rows.push(row);
        }
    }

    let start = Instant::now();
    let specs = vec![
        FieldSpec::new(Comparator::JaroWinkler),
        FieldSpec::new(Comparator::JaroWinkler),
        FieldSpec::new(Comparator::Exact),
        FieldSpec::new(Comparator::Exact),
        FieldSpec::new(Comparator::TokenSet),
        FieldSpec::new(Comparator::JaroWinkler),
    ];
    let prefix = |field, n| KeyPart {
        field,
        transform: Transform::Prefix(n),
    };
    let passes = vec![
        Pass::on(&[EMAIL]),
        Pass::on(&[PHONE]),
        Pass(vec![prefix(LAST, 4), prefix(FIRST, 2), prefix(COMPANY, 2)]),
        Pass(vec![prefix(FIRST, 4), prefix(COMPANY, 4), prefix(CITY, 2)]),
    ];
    let linker = Linker::estimated(specs, passes, &rows, 1000);
    let matches = linker.matches(&rows, 0.5);
    let clusters = cluster::clusters(rows.len(), matches.iter().map(|m| (m.a, m.b))).len();
    let seconds = start.elapsed().as_secs_f64();

    let found: HashSet<(u32, u32)> = matches.iter().map(|m| (m.a, m.b)).collect();
    let hits = found.intersection(&truth).count() as f64;
    if std::env::var_os("MILLION_VERBOSE").is_some() {
        eprintln!("{:?}", linker.model);
        for m in matches
            .iter()
            .filter(|m| !truth.contains(&(m.a, m.b)))
            .take(8)
        {
            eprintln!(
                "{:.3} {:?} {:?}",
                m.probability, rows[m.a as usize], rows[m.b as usize]
            );
        }
    }
    let precision = hits / found.len().max(1) as f64;
    let recall = hits / truth.len() as f64;
    let peak_mib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kb| kb.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        })
        .map_or(-1.0, |kb| kb / 1024.0);
    println!(
        "{{\"records\": {}, \"seconds\": {seconds:.2}, \"peak_rss_mib\": {peak_mib:.0}, \"precision\": {precision:.4}, \"recall\": {recall:.4}, \"clusters\": {clusters}}}",
        rows.len()
    );
}
