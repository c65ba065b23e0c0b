//! FEBRL3 through the linkage engine: `febrl <records.tsv> <true-pairs.tsv>` prints one JSON
//! line with precision, recall, F1 and seconds (reading the files excluded). Run by
//! bench/dedupe/febrl.py beside recordlinkage on the same data.

use std::{collections::HashSet, time::Instant};

use linkage::{Comparator, FieldSpec, KeyPart, Linker, Pass, Row, Transform, cluster};

const GIVEN: usize = 0;
const SURNAME: usize = 1;
const STREET_NUMBER: usize = 2;
const ADDRESS_1: usize = 3;
const ADDRESS_2: usize = 4;
const SUBURB: usize = 5;
const POSTCODE: usize = 6;
const STATE: usize = 7;
const BIRTH: usize = 8;
const SOC_SEC_ID: usize = 9;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let records = std::fs::read_to_string(&args[1]).expect("records file");
    let (ids, raw): (Vec<String>, Vec<Vec<String>>) = records
        .lines()
        .skip(1)
        .map(|line| {
            let mut cells = line.split('\t').map(str::to_owned);
            let id = cells.next().unwrap();
            (id, cells.collect())
        })
        .unzip();
    let truth: HashSet<(String, String)> = std::fs::read_to_string(&args[2])
        .expect("pairs file")
        .lines()
        .map(|line| {
            let (a, b) = line.split_once('\t').unwrap();
            (a.to_owned(), b.to_owned())
        })
        .collect();

    let start = Instant::now();
    let rows: Vec<Row> = raw
        .iter()
        .map(|cells| {
            cells
                .iter()
                .map(|cell| Some(canonical::fold(cell)).filter(|v| !v.is_empty()))
                .collect()
        })
        .collect();
    let specs = vec![
        FieldSpec::new(Comparator::JaroWinkler),
        FieldSpec::new(Comparator::JaroWinkler),
        FieldSpec::new(Comparator::Exact),
        FieldSpec::new(Comparator::TokenSet),
        FieldSpec::new(Comparator::JaroWinkler),
        FieldSpec::new(Comparator::JaroWinkler),
        FieldSpec::new(Comparator::Damerau),
        FieldSpec::new(Comparator::Exact),
        FieldSpec::new(Comparator::Damerau),
        FieldSpec::new(Comparator::Damerau),
    ];
    let prefix = |field, n| KeyPart {
        field,
        transform: Transform::Prefix(n),
    };
    let passes = vec![
        Pass::on(&[SOC_SEC_ID]),
        Pass::on(&[BIRTH]),
        Pass::on(&[GIVEN, SURNAME]),
        Pass(vec![prefix(SURNAME, 3), prefix(POSTCODE, 4)]),
        Pass(vec![prefix(GIVEN, 3), prefix(SUBURB, 4)]),
        Pass::on(&[STREET_NUMBER, ADDRESS_1]),
    ];
    let _ = (ADDRESS_2, STATE);
    let linker = Linker::estimated(specs, passes, &rows, 1000);
    let threshold: f64 = std::env::var("FEBRL_THRESHOLD")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.5);
    let matches = linker.matches(&rows, threshold);
    let seconds = start.elapsed().as_secs_f64();

    let pair = |a: u32, b: u32| {
        let (a, b) = (&ids[a as usize], &ids[b as usize]);
        if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        }
    };
    let found: HashSet<(String, String)> = matches.iter().map(|m| pair(m.a, m.b)).collect();
    let hits = found.intersection(&truth).count() as f64;
    let precision = hits / found.len().max(1) as f64;
    let recall = hits / truth.len() as f64;
    let f1 = 2.0 * precision * recall / (precision + recall).max(f64::EPSILON);
    let clusters = cluster::clusters(rows.len(), matches.iter().map(|m| (m.a, m.b))).len();
    if std::env::var_os("FEBRL_VERBOSE").is_some() {
        eprintln!("{:#?}", linker.model);
        for (a, b) in found.difference(&truth).take(10) {
            eprintln!("false match {a} {b}");
        }
        for (a, b) in truth.difference(&found).take(10) {
            eprintln!("missed {a} {b}");
        }
    }
    println!(
        "{{\"name\": \"Touchbase linkage (Fellegi-Sunter, EM)\", \"precision\": {precision}, \"recall\": {recall}, \"f1\": {f1}, \"seconds\": {seconds}, \"clusters\": {clusters}}}"
    );
}
