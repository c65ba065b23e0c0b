//! Import benchmark: generates a dirty CSV of `rows` leads with a fixed seed and known defects
//! (bad emails, phones in many notations and some not phones at all, near-duplicate emails,
//! unknown status labels, rows with nothing that identifies a lead), imports it through the same
//! job the server and the CLI run (stored as rows, worked in batches, every lead scored and
//! assigned), and checks every row's outcome against the defect it was given. Prints one JSON
//! object: rows/s, peak RSS during the import, and per defect class the rows generated and the
//! rows that ended as expected.
//!
//! Usage: `import <database-url> <rows> [csv path to keep the file]` on an empty database.
#[path = "../rss.rs"]
mod rss;
use rss::{peak_rss_mb, reset_peak_rss};

use std::{collections::BTreeMap, time::Instant};

use anyhow::Context;
use entity::enums::{CustomFieldRecordType, ImportOutcome, ImportStatus};
use serde_json::json;
use touchbase::{
    auth::system_actor,
    config::Config,
    quality::import::{
        job, report,
        upload::{self, NewImport},
    },
    server,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 0x5eed_1234_abcd_0042;

/// Phone notations people type, all of one valid number or another.
const PHONES: [&str; 6] = [
    "+1 650 253 0000",
    "(650) 253-0000",
    "650.253.0001",
    "650-253-0002",
    "+44 20 7031 3000",
    "+16502530003",
];
const STATUSES: [&str; 5] = ["Warm", "hot", "NOT CONTACTED", "contact-in-future", ""];
const STAGES: [&str; 4] = ["lead", "MQL", "Subscriber", ""];

/// What a generated row is, and so what the import must make of it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Defect {
    Clean,
    BadEmail,
    BadPhone,
    NearDuplicate,
    UnknownLabel,
    BlankRequired,
}

impl Defect {
    fn name(self) -> &'static str {
        match self {
            Defect::Clean => "clean (phones in 6 notations)",
            Defect::BadEmail => "bad email",
            Defect::BadPhone => "bad phone",
            Defect::NearDuplicate => "near-duplicate email",
            Defect::UnknownLabel => "unknown status label",
            Defect::BlankRequired => "blank required fields",
        }
    }

    /// The outcome and the field the report must give.
    fn expected(self) -> (ImportOutcome, &'static str) {
        match self {
            Defect::Clean => (ImportOutcome::Created, ""),
            Defect::BadEmail => (ImportOutcome::Refused, "email"),
            Defect::BadPhone => (ImportOutcome::Refused, "phone"),
            Defect::NearDuplicate => (ImportOutcome::Skipped, "email"),
            Defect::UnknownLabel => (ImportOutcome::Refused, "status"),
            Defect::BlankRequired => (ImportOutcome::Refused, "input"),
        }
    }
}

/// splitmix64: a fixed seed gives the same file on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The file, and the defect of each row in order.
fn generate(rows: usize) -> (String, Vec<Defect>) {
    let mut rng = Rng(SEED);
    let mut file =
        String::from("E-mail,First Name,Surname,Organisation,Mobile,Lead Status,Stage\n");
    let mut defects = Vec::with_capacity(rows);
    let mut clean_emails: Vec<String> = Vec::new();
    for n in 0..rows {
        let roll = rng.below(100);
        let defect = match roll {
            0..=4 => Defect::BadEmail,
            5..=9 => Defect::BadPhone,
            10..=17 if !clean_emails.is_empty() => Defect::NearDuplicate,
            18..=21 => Defect::UnknownLabel,
            22..=24 => Defect::BlankRequired,
            _ => Defect::Clean,
        };
        let email = format!("person{n}@example{}.com", n % 97);
        let phone = PHONES[rng.below(PHONES.len())];
        let status = STATUSES[rng.below(STATUSES.len())];
        let stage = STAGES[rng.below(STAGES.len())];
        let line = match defect {
            Defect::Clean => {
                clean_emails.push(email.clone());
                format!(
                    "{email},First{n},Last{n},Company {},{phone},{status},{stage}",
                    n % 500
                )
            }
            Defect::BadEmail => format!("person{n}.example.com,First{n},Last{n},Co,{phone},,"),
            Defect::BadPhone => format!("{email},First{n},Last{n},Co,12345,,"),
            Defect::NearDuplicate => {
                let earlier = &clean_emails[rng.below(clean_emails.len())];
                format!("\" {} \",Again{n},Last{n},Co,,,", earlier.to_uppercase())
            }
            Defect::UnknownLabel => format!("{email},First{n},Last{n},Co,,Lukewarm,"),
            Defect::BlankRequired => format!(",First{n},,,,,"),
        };
        file.push_str(&line);
        file.push('\n');
        defects.push(defect);
    }
    (file, defects)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().context("database url")?;
    let rows: usize = args.next().context("rows")?.parse()?;
    let keep = args.next();
    let (file, defects) = generate(rows);
    if let Some(path) = keep {
        std::fs::write(&path, &file)?;
    }
    let bytes = file.len();
    let config = Config {
        database_url: url,
        max_db_connections: 4,
        ..Config::default()
    };
    let svc = server::services(config).await?;
    let actor = system_actor();

    reset_peak_rss();
    let started = Instant::now();
    let new = NewImport {
        record_type: CustomFieldRecordType::Lead,
        file_name: "dirty.csv".into(),
        bytes: file.into_bytes(),
        overrides: Vec::new(),
        upsert_key: None,
        merge_duplicates: false,
        dry_run: false,
    };
    let mut run = upload::store(&svc, &actor, new)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let stored_s = started.elapsed().as_secs_f64();
    while !matches!(run.status, ImportStatus::Done | ImportStatus::Failed) {
        run = job::work_run(&svc, run.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .context("the run is held elsewhere")?;
    }
    let total_s = started.elapsed().as_secs_f64();
    let peak = peak_rss_mb();

    let mut classes: BTreeMap<Defect, (usize, usize)> = BTreeMap::new();
    let mut reported = 0;
    let mut after = 0;
    loop {
        let (page, more, _) = report::rows(&svc.db, &run, after, 10_000, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for row in &page {
            let defect = defects[row.row_no as usize - 1];
            let (outcome, field) = defect.expected();
            let entry = classes.entry(defect).or_default();
            entry.0 += 1;
            if row.outcome == Some(outcome) && row.field.as_deref().unwrap_or_default() == field {
                entry.1 += 1;
            }
            reported += 1;
        }
        match page.last() {
            Some(last) if more => after = last.row_no,
            _ => break,
        }
    }
    let sum = run.created + run.updated + run.merged + run.skipped + run.refused;
    let classes: Vec<_> = classes
        .iter()
        .map(|(defect, (rows, as_expected))| {
            json!({ "class": defect.name(), "rows": rows, "as_expected": as_expected })
        })
        .collect();
    println!(
        "{}",
        json!({
            "rows": rows, "bytes": bytes, "status": run.status.as_str(),
            "stored_s": stored_s, "total_s": total_s, "rows_per_s": rows as f64 / total_s,
            "peak_rss_mb": peak, "reported": reported, "accounted_for": sum,
            "created": run.created, "updated": run.updated, "merged": run.merged,
            "skipped": run.skipped, "refused": run.refused, "classes": classes,
        })
    );
    Ok(())
}
