//! Imports on both stores: a file uploaded over `POST /imports` (CSV or XLSX) or given to the
//! CLI is mapped from its headers, every row ends in the report with one outcome (created,
//! updated, merged, skipped as a duplicate, refused with field and reason) that add up to the
//! rows read, a dry run writes no record, rows upsert on their key, imported leads are scored
//! like API-created ones, hostile files are refused or reported row by row, and a run killed
//! mid-import resumes with every row written once.

use std::{collections::HashSet, time::Duration};

use entity::{enums::ImportStatus, import_row, import_run, lead};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Gateway, Session, TestApp, error_code, spawn_app_with, touchbase};

const RUN: &str = "query($id: ID!) { importRun(id: $id) { id status dryRun totalRows rowsDone
    created updated merged skipped refused upsertKey reportUrl columns { header field }
    rows(first: 100) { totalCount edges { node { row outcome field reason recordId } } } } }";

async fn app() -> TestApp {
    spawn_app_with(|config| config.import_poll_interval_ms = 50).await
}

/// Uploads `body` as an import; the response's status and JSON.
async fn upload(
    app: &TestApp,
    token: &str,
    query: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/imports"))
        .bearer_auth(token)
        .query(query)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Uploads a file that must be accepted and waits until its run is done; the run.
async fn import(app: &TestApp, session: &Session, query: &[(&str, &str)], file: &str) -> Value {
    let (status, started) = upload(app, &session.access, query, file.to_owned()).await;
    assert_eq!(status, 202, "{started}");
    finished(app, session, started["id"].as_str().unwrap()).await
}

async fn finished(app: &TestApp, session: &Session, id: &str) -> Value {
    for _ in 0..600 {
        let run = app.ok(&session.access, RUN, json!({ "id": id })).await["importRun"].clone();
        if run["status"] == "DONE" || run["status"] == "FAILED" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

/// The report's rows by row number: (outcome, field, reason).
fn rows(run: &Value) -> Vec<(String, String, String)> {
    run["rows"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let node = &e["node"];
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&node["outcome"]),
                text(&node["field"]),
                text(&node["reason"]),
            )
        })
        .collect()
}

fn accounted_for(run: &Value) {
    let sum: i64 = ["created", "updated", "merged", "skipped", "refused"]
        .iter()
        .map(|k| run[k].as_i64().unwrap())
        .sum();
    assert_eq!(sum, run["totalRows"].as_i64().unwrap(), "{run}");
    assert_eq!(run["rowsDone"], run["totalRows"]);
    assert_eq!(run["rows"]["totalCount"], run["totalRows"]);
}

async fn lead_count(app: &TestApp) -> u64 {
    lead::Entity::find().count(&app.db).await.unwrap()
}

const DIRTY: &str = "E-mail,First Name,Surname,Organisation,Mobile,Lead Status,Lifecycle Stage,Head Count,Favourite Colour\n\
ada@example.com,Ada,Lovelace,Analytical Engines,+44 20 7031 3000,Warm,MQL,12,blue\n\
grace@example.com,Grace,Hopper,Navy,(650) 253-0000,not contacted,lead,\"1,200\",red\n\
linus@example.com,Linus,T,Kernel,650.253.0001,HOT,,,\n\
not-an-email,Bad,Email,Co,,,,,\n\
phone@example.com,Bad,Phone,Co,12345,,,,\n\
ADA@Example.com,Ada,Again,Analytical Engines,,,,,\n\
label@example.com,Un,Known,Co,,Lukewarm,,,\n\
stage@example.com,Un,Known,Co,,,Prospectish,,\n\
,Only,,,,,,,\n\
count@example.com,Too,Many,Co,,,,lots,\n";

#[tokio::test]
async fn every_defect_class_ends_in_the_report_with_its_reason() {
    let app = app().await;
    let admin = app.admin().await;
    let run = import(
        &app,
        &admin,
        &[("type", "lead"), ("name", "dirty.csv")],
        DIRTY,
    )
    .await;

    assert_eq!(run["status"], "DONE");
    assert_eq!(run["upsertKey"], "email");
    let columns = &run["columns"];
    assert_eq!(columns[0], json!({ "header": "E-mail", "field": "email" }));
    assert_eq!(columns[2]["field"], "lastName");
    assert_eq!(columns[3]["field"], "company");
    assert_eq!(columns[4]["field"], "phone");
    assert_eq!(
        columns[8]["field"],
        Value::Null,
        "an unknown header is left out"
    );
    accounted_for(&run);
    assert_eq!(run["created"], 3);
    assert_eq!(run["skipped"], 1);
    assert_eq!(run["refused"], 6);

    let rows = rows(&run);
    let expect = |row: usize, outcome: &str, field: &str, reason: &str| {
        let (o, f, r) = &rows[row - 1];
        assert_eq!((o.as_str(), f.as_str()), (outcome, field), "row {row}: {r}");
        assert!(r.contains(reason), "row {row}: {r}");
    };
    expect(1, "CREATED", "", "");
    expect(2, "CREATED", "", "");
    expect(3, "CREATED", "", "");
    expect(4, "REFUSED", "email", "not a valid email address");
    expect(5, "REFUSED", "phone", "phone number");
    expect(6, "SKIPPED", "email", "duplicate of row 1");
    expect(7, "REFUSED", "status", "`Lukewarm` is not one of");
    expect(
        8,
        "REFUSED",
        "lifecycleStage",
        "`Prospectish` is not one of",
    );
    expect(
        9,
        "REFUSED",
        "input",
        "needs an email, a phone, a last name or a company",
    );
    expect(10, "REFUSED", "employees", "not a whole number");

    let leads = app
        .ok(
            &admin.access,
            "{ leads(first: 10, orderBy: [{field: EMAIL}]) { totalCount edges { node {
                email phone status lifecycleStage employees grade } } } }",
            json!({}),
        )
        .await;
    assert_eq!(leads["leads"]["totalCount"], 3);
    let ada = &leads["leads"]["edges"][0]["node"];
    assert_eq!(ada["email"], "ada@example.com");
    assert_eq!(ada["phone"], "+442070313000");
    assert_eq!(ada["status"], "WARM");
    assert_eq!(ada["lifecycleStage"], "MQL");
    assert!(!ada["grade"].is_null(), "imported leads are scored: {ada}");
    let grace = &leads["leads"]["edges"][1]["node"];
    assert_eq!(grace["phone"], "+16502530000");
    assert_eq!(grace["status"], "NOT_CONTACTED");
    assert_eq!(grace["employees"], 1200);

    let report = app
        .client
        .get(app.url(run["reportUrl"].as_str().unwrap()))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 200);
    let text = report.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("row,outcome,record_id,field,reason"));
    let lines: Vec<&str> = lines.collect();
    assert_eq!(lines.len(), 10);
    assert!(
        lines[5].starts_with("6,skipped,,email,duplicate of row 1"),
        "{}",
        lines[5]
    );
    assert!(lines[3].starts_with("4,refused,,email,"), "{}", lines[3]);
}

#[tokio::test]
async fn a_dry_run_reports_every_row_and_writes_nothing() {
    let app = app().await;
    let admin = app.admin().await;
    let audit_before = entity::audit_log::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    let run = import(
        &app,
        &admin,
        &[("type", "leads"), ("dryRun", "true")],
        DIRTY,
    )
    .await;
    assert_eq!(run["dryRun"], true);
    accounted_for(&run);
    assert_eq!(
        (&run["created"], &run["skipped"], &run["refused"]),
        (&json!(3), &json!(1), &json!(6))
    );
    assert!(
        rows(&run).iter().all(|(o, ..)| !o.is_empty()),
        "every row has an outcome"
    );
    assert!(
        run["rows"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["node"]["recordId"].is_null())
    );
    assert_eq!(lead_count(&app).await, 0);
    assert_eq!(
        entity::audit_log::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        audit_before,
        "no audit row either"
    );
}

#[tokio::test]
async fn rows_upsert_on_their_key_and_blank_cells_keep_what_is_stored() {
    let app = app().await;
    let admin = app.admin().await;
    let id = app
        .lead(
            &admin.access,
            json!({ "email": "ada@example.com", "company": "Old Co", "title": "Countess" }),
        )
        .await;
    let file = "Email,Company,Title\nADA@example.COM,New Co,\nnew@example.com,Fresh,CTO\n";
    let run = import(&app, &admin, &[("type", "lead")], file).await;
    assert_eq!((&run["created"], &run["updated"]), (&json!(1), &json!(1)));
    let updated = &run["rows"]["edges"][0]["node"];
    assert_eq!(updated["outcome"], "UPDATED");
    assert_eq!(updated["recordId"], id.as_str());
    let lead = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { company title } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        lead["lead"],
        json!({ "company": "New Co", "title": "Countess" })
    );

    // Without a key every row creates; the email's unique index then refuses the twin.
    let run = import(&app, &admin, &[("type", "lead"), ("key", "")], file).await;
    assert_eq!(run["upsertKey"], Value::Null);
    assert_eq!(run["refused"], 2);
    assert_eq!(rows(&run)[0].1, "email");
}

#[tokio::test]
async fn accounts_upsert_on_their_canonical_domain_and_contacts_import_too() {
    let app = app().await;
    let admin = app.admin().await;
    let accounts = "Company,Website,Status\nAcme,https://www.acme.com/about,active customer\n\
        Acme Again,ACME.com,\nBeta,beta.io,Dormant\n";
    let run = import(&app, &admin, &[("type", "account")], accounts).await;
    assert_eq!(run["upsertKey"], "domain");
    assert_eq!(
        rows(&run).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["CREATED", "SKIPPED", "REFUSED"]
    );
    let again = import(
        &app,
        &admin,
        &[("type", "account")],
        "Name,Domain\nAcme Corp,acme.com\n",
    )
    .await;
    assert_eq!(again["updated"], 1);
    let listed = app
        .ok(
            &admin.access,
            "{ accounts(first: 5) { totalCount edges { node { name status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["accounts"]["totalCount"], 1);
    assert_eq!(
        listed["accounts"]["edges"][0]["node"],
        json!({ "name": "Acme Corp", "status": "ACTIVE_CUSTOMER" })
    );

    let contacts = "Email,First,Last,Job Title\nc1@example.com,Cee,One,CEO\n,No,,\n";
    let run = import(&app, &admin, &[("type", "contact")], contacts).await;
    assert_eq!((&run["created"], &run["refused"]), (&json!(1), &json!(1)));
}

#[tokio::test]
async fn custom_fields_map_by_key_or_label_and_select_labels_match_their_options() {
    let app = app().await;
    let admin = app.admin().await;
    let tier = json!([{ "value": "gold", "label": "Gold tier" }, { "value": "silver", "label": "Silver tier" }]);
    for input in [
        json!({ "recordType": "LEAD", "key": "tier", "label": "Customer Tier", "type": "SINGLE_SELECT", "options": tier }),
        json!({ "recordType": "LEAD", "key": "seats", "label": "Seats", "type": "NUMBER" }),
    ] {
        app.ok(
            &admin.access,
            "mutation($input: NewCustomFieldInput!) { createCustomField(input: $input) { field { id } } }",
            json!({ "input": input }),
        )
        .await;
    }
    let file = "Email,Customer tier,SEATS\na@example.com,GOLD TIER,12\nb@example.com,Bronze,3\nc@example.com,silver,5\n";
    let run = import(&app, &admin, &[("type", "lead")], file).await;
    assert_eq!(run["columns"][1]["field"], "custom.tier");
    assert_eq!(run["columns"][2]["field"], "custom.seats");
    let rows = rows(&run);
    assert_eq!(rows[0].0, "CREATED");
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str()),
        ("REFUSED", "custom.tier")
    );
    assert_eq!(rows[2].0, "CREATED", "an option's value matches too");
    let lead = app
        .ok(
            &admin.access,
            "{ leads(filter: {email: {eq: \"a@example.com\"}}) { edges { node { customFieldValues { key value } } } } }",
            json!({}),
        )
        .await;
    let values = &lead["leads"]["edges"][0]["node"]["customFieldValues"];
    assert!(
        values
            .as_array()
            .unwrap()
            .contains(&json!({ "key": "tier", "value": "gold" })),
        "{values}"
    );

    // A mapping the importer writes wins over the suggestion; an unknown target is refused.
    let (status, body) = upload(
        &app,
        &admin.access,
        &[("type", "lead"), ("map", "SEATS=custom.nope")],
        file,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(body["errors"][0]["extensions"]["field"], "map.SEATS");
}

#[tokio::test]
async fn an_xlsx_workbook_imports_like_a_csv_file() {
    let app = app().await;
    let admin = app.admin().await;
    let workbook = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/leads.xlsx"
    ))
    .unwrap();
    let (status, started) = upload(&app, &admin.access, &[("type", "lead")], workbook).await;
    assert_eq!(status, 202, "{started}");
    let run = finished(&app, &admin, started["id"].as_str().unwrap()).await;
    accounted_for(&run);
    assert_eq!((&run["created"], &run["refused"]), (&json!(2), &json!(1)));
    let leads = app
        .ok(&admin.access, "{ leads(first: 5, orderBy: [{field: EMAIL}]) { edges { node { email employees status } } } }", json!({}))
        .await;
    assert_eq!(
        leads["leads"]["edges"][0]["node"],
        json!({ "email": "xl.one@example.com", "employees": 42, "status": "HOT" })
    );
}

#[tokio::test]
async fn hostile_files_are_refused_whole_or_row_by_row() {
    let app = spawn_app_with(|config| {
        config.import_poll_interval_ms = 50;
        config.import_max_bytes = 16 * 1024 * 1024;
    })
    .await;
    let admin = app.admin().await;
    let token = admin.access.as_str();

    // Whole files refused: too many columns, nothing but a header-less void, an unknown type,
    // a body over the limit, no token.
    let wide = format!(
        "{}\n{}\n",
        vec!["h"; 10_000].join(","),
        vec!["v"; 10_000].join(",")
    );
    let (status, body) = upload(&app, token, &[("type", "lead")], wide).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("BAD_USER_INPUT")),
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["field"], "file");
    let (status, _) = upload(&app, token, &[("type", "lead")], "").await;
    assert_eq!(status, 400);
    let (status, _) = upload(&app, token, &[("type", "opportunity")], "Email\n").await;
    assert_eq!(status, 400);
    let (status, _) = upload(
        &app,
        token,
        &[("type", "lead")],
        vec![b'a'; 17 * 1024 * 1024],
    )
    .await;
    assert_eq!(status, 413);
    let anonymous = app
        .client
        .post(app.url("/imports?type=lead"))
        .body("Email\n")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // Odd cells are their row's problem: a NUL byte, a 10 MB cell, a quoted newline, with a
    // byte order mark and CRLF line ends; Latin-1 bytes are read as such.
    let huge = "x".repeat(10 * 1024 * 1024);
    let mut file = format!(
        "\u{FEFF}Email,Company,Mystery\r\nnul@example.com,Ac\0me,?\r\nhuge@example.com,{huge},?\r\n\"quoted@example.com\",\"Two\r\nLines\",?\r\n"
    )
    .into_bytes();
    file.extend_from_slice(b"latin@example.com,Si\xE2n Ltd,?\r\n");
    let (status, started) = upload(&app, token, &[("type", "lead")], file).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(
        started["columns"][2],
        json!({ "header": "Mystery", "field": null })
    );
    let run = finished(&app, &admin, started["id"].as_str().unwrap()).await;
    accounted_for(&run);
    let rows = rows(&run);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("REFUSED", "company")
    );
    assert!(rows[0].2.contains("NUL"), "{}", rows[0].2);
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str()),
        ("REFUSED", "company")
    );
    assert_eq!(rows[2].0, "CREATED");
    assert_eq!(rows[3].0, "CREATED");
    let companies = app
        .ok(
            token,
            "{ leads(first: 5, orderBy: [{field: EMAIL}]) { edges { node { email company } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        companies["leads"]["edges"],
        json!([
            { "node": { "email": "latin@example.com", "company": "Siân Ltd" } },
            { "node": { "email": "quoted@example.com", "company": "Two\r\nLines" } },
        ])
    );
}

#[tokio::test]
async fn a_rep_follows_only_their_own_imports_and_writes_as_themselves() {
    let app = app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    let support = app
        .user(&admin, "support@example.com", "SUPPORT", None)
        .await;
    let run = import(
        &app,
        &rep,
        &[("type", "lead")],
        "Email,Company\nmine@example.com,Mine\n",
    )
    .await;
    assert_eq!(run["created"], 1);
    let owner = app
        .ok(
            &rep.access,
            "{ leads(first: 1) { edges { node { owner { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        owner["leads"]["edges"][0]["node"]["owner"]["id"],
        rep.user_id.as_str()
    );

    let id = run["id"].as_str().unwrap();
    let hidden = app.gql(Some(&other.access), RUN, json!({ "id": id })).await;
    assert_eq!(error_code(&hidden), Some("NOT_FOUND"));
    let report = app
        .client
        .get(app.url(&format!("/imports/{id}/report.csv")))
        .bearer_auth(&other.access)
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 404);
    app.ok(&admin.access, RUN, json!({ "id": id })).await;

    let (status, body) = upload(
        &app,
        &support.access,
        &[("type", "lead")],
        "Email\nx@example.com\n",
    )
    .await;
    assert_eq!((status, error_code(&body)), (403, Some("FORBIDDEN")));
}

#[tokio::test]
async fn headers_are_suggested_a_mapping_before_upload() {
    let app = app().await;
    let admin = app.admin().await;
    let data = app
        .ok(
            &admin.access,
            "query($h: [String!]!) { importMapping(recordType: CONTACT, headers: $h) { header field } }",
            json!({ "h": ["E-Mail", "Telephone", "Given Name", "Shoe size"] }),
        )
        .await;
    let fields: Vec<&Value> = data["importMapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["field"])
        .collect();
    assert_eq!(
        fields,
        [
            &json!("email"),
            &json!("phone"),
            &json!("firstName"),
            &Value::Null
        ]
    );
}

#[tokio::test]
async fn the_cli_imports_a_file_as_an_admin_and_its_dry_run_writes_nothing() {
    let app = app().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leads.csv");
    std::fs::write(
        &path,
        "Email,Company,Notes\ncli@example.com,Cli Co,called twice\nbad,Co,\n",
    )
    .unwrap();
    // The command runs off the test's thread, which also runs the app and its workers.
    let output = |mut command: std::process::Command| async move {
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    };
    let run = |dry: bool| {
        let mut command = touchbase(app.store_url());
        command.args([
            "import",
            path.to_str().unwrap(),
            "--type",
            "lead",
            "--map",
            "Notes=need",
        ]);
        if dry {
            command.arg("--dry-run");
        }
        output(command)
    };
    let dry = run(true).await;
    let printed = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(printed.contains("would be created 1"), "{printed}");
    assert!(
        printed.contains("row 2: refused email: not a valid email address"),
        "{printed}"
    );
    assert_eq!(lead_count(&app).await, 0);

    let real = run(false).await;
    let printed = String::from_utf8_lossy(&real.stdout);
    let stderr = String::from_utf8_lossy(&real.stderr);
    assert!(real.status.success(), "{printed} {stderr}");
    assert!(printed.contains("created 1, updated 0"), "{printed}");
    let stored = lead::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(stored.need.as_deref(), Some("called twice"));

    let mut bad = touchbase(app.store_url());
    bad.args([
        "import",
        path.to_str().unwrap(),
        "--type",
        "lead",
        "--map",
        "Notes=shoeSize",
    ]);
    let bad = output(bad).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("map.Notes"));
}

#[tokio::test]
async fn an_import_killed_mid_run_resumes_with_every_row_written_once() {
    // The test's own app takes the upload but works no imports itself.
    let app = spawn_app_with(|config| {
        config.import_workers = 0;
        config.hub_workers = 0;
    })
    .await;
    let admin = app.admin().await;
    const ROWS: usize = 1_500;
    let mut file = String::from("Email,Company,Last Name\n");
    let (mut created, mut skipped, mut refused) = (HashSet::new(), 0, 0);
    for n in 0..ROWS {
        // Every tenth row repeats an earlier email, every 25th has a bad one.
        let email = match n {
            n if n % 25 == 24 => format!("broken{n}"),
            n if n % 10 == 9 => format!("p{}@example.com", n - 5),
            n => format!("p{n}@example.com"),
        };
        if !email.contains('@') {
            refused += 1;
        } else if !created.insert(email.clone()) {
            skipped += 1;
        }
        file.push_str(&format!("{email},Co {n},Last {n}\n"));
    }
    let (status, started) = upload(&app, &admin.access, &[("type", "lead")], file).await;
    assert_eq!(status, 202, "{started}");
    let id: uuid::Uuid = started["id"].as_str().unwrap().parse().unwrap();

    // Started off the test's thread, which also runs the app.
    let worker = |batch: &'static str| {
        let mut command = touchbase(app.store_url());
        command
            .env("TOUCHBASE_IMPORT_BATCH_ROWS", batch)
            .env("TOUCHBASE_IMPORT_POLL_INTERVAL_MS", "20")
            .env("TOUCHBASE_HUB_WORKERS", "0");
        async move {
            tokio::task::spawn_blocking(move || Gateway::spawn(command))
                .await
                .unwrap()
        }
    };
    let mut first = worker("10").await;
    let done = || async {
        import_run::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
    };
    let mut waited = 0;
    while done().await.rows_done < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 3_000, "the import did not start");
    }
    first.kill();
    let at_kill = done().await;
    assert!(
        at_kill.rows_done < ROWS as i32,
        "the kill landed mid-import ({} rows done)",
        at_kill.rows_done
    );

    let _second = worker("50").await;
    let mut run = done().await;
    for _ in 0..3_000 {
        if run.status == ImportStatus::Done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        run = done().await;
    }
    assert_eq!(run.status, ImportStatus::Done);
    assert_eq!(run.rows_done, ROWS as i32);
    assert_eq!(
        run.created + run.updated + run.merged + run.skipped + run.refused,
        ROWS as i32
    );
    let reported = import_row::Entity::find()
        .filter(import_row::Column::RunId.eq(id))
        .filter(import_row::Column::Outcome.is_not_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(reported, ROWS as u64, "every row has one outcome");
    assert_eq!(run.refused, refused);
    assert_eq!(run.skipped, skipped);
    assert_eq!(run.created as usize, created.len());
    assert_eq!(
        lead_count(&app).await,
        run.created as u64,
        "no row written twice"
    );
    let created_ids = import_row::Entity::find()
        .filter(import_row::Column::RunId.eq(id))
        .filter(import_row::Column::RecordId.is_not_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(created_ids, run.created as u64);
}

#[tokio::test]
async fn a_row_that_is_an_existing_person_merges_into_them_undoably() {
    let app = app().await;
    let admin = app.admin().await;
    let id = app
        .lead(
            &admin.access,
            json!({ "firstName": "Siobhán", "lastName": "Ní Bhriain", "email": "siobhan@acme.ie",
                "company": "Acme, Inc." }),
        )
        .await;
    let file = "First Name,Surname,Email,Company,Title\n\
        SIOBHAN,Ni Bhriain,s.nibhriain@gmail.com,ACME Inc,CTO\n\
        Rhys,Llewellyn,rhys@cymru.example,Tŷ Coffi,Owner\n";
    let run = import(
        &app,
        &admin,
        &[("type", "lead"), ("key", ""), ("mergeDuplicates", "true")],
        file,
    )
    .await;
    accounted_for(&run);
    assert_eq!(
        (&run["merged"], &run["created"]),
        (&json!(1), &json!(1)),
        "{run}"
    );
    let merged = &run["rows"]["edges"][0]["node"];
    assert_eq!(merged["outcome"], "MERGED");
    assert_eq!(merged["recordId"], id.as_str());
    let read = app
        .ok(
            &admin.access,
            "query($id: ID!) { lead(id: $id) { email title } leads(first: 5) { totalCount } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["lead"],
        json!({ "email": "siobhan@acme.ie", "title": "CTO" })
    );
    assert_eq!(read["leads"]["totalCount"], 2);

    // Upserting on the merged-away address updates the person it became.
    let again = import(
        &app,
        &admin,
        &[("type", "lead"), ("key", "email")],
        "Email,Region\ns.nibhriain@gmail.com,Munster\n",
    )
    .await;
    let updated = &again["rows"]["edges"][0]["node"];
    assert_eq!(updated["outcome"], "UPDATED", "{again}");
    assert_eq!(updated["recordId"], id.as_str());

    // The merge is one like any other: undone, the imported person stands apart again.
    let history = app
        .ok(
            &admin.access,
            "query($id: ID!) { merges(recordType: LEAD, survivorId: $id) { id mergedIds } }",
            json!({ "id": id }),
        )
        .await;
    let merge_id = history["merges"][0]["id"].as_str().unwrap();
    app.ok(
        &admin.access,
        "mutation($id: ID!) { undoMerge(id: $id) { id } }",
        json!({ "id": merge_id }),
    )
    .await;
    let count = app
        .ok(
            &admin.access,
            "{ leads(first: 5) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(count["leads"]["totalCount"], 3);
}

#[tokio::test]
async fn rows_upsert_on_an_external_id_kept_in_a_custom_field() {
    let app = app().await;
    let admin = app.admin().await;
    app.ok(
        &admin.access,
        "mutation($input: NewCustomFieldInput!) { createCustomField(input: $input) { field { id } } }",
        json!({ "input": { "recordType": "ACCOUNT", "key": "erp_id", "label": "ERP id", "type": "TEXT" } }),
    )
    .await;
    let first = import(
        &app,
        &admin,
        &[("type", "account"), ("key", "custom.erp_id")],
        "ERP id,Name,Domain\nERP-0001,Acme,acme.example\nERP-0002,Globex,\n",
    )
    .await;
    assert_eq!(first["upsertKey"], "custom.erp_id");
    assert_eq!(first["created"], 2, "{first}");
    let acme = first["rows"]["edges"][0]["node"]["recordId"].clone();
    // No domain to go by: the ERP id finds the account, whatever else the row says.
    let second = import(
        &app,
        &admin,
        &[("type", "account"), ("key", "custom.erp_id")],
        "ERP id,Name\n ERP-0001 ,Acme Holdings\nERP-0003,Initech\n",
    )
    .await;
    accounted_for(&second);
    let rows = &second["rows"]["edges"];
    assert_eq!(rows[0]["node"]["outcome"], "UPDATED", "{second}");
    assert_eq!(rows[0]["node"]["recordId"], acme);
    assert_eq!(rows[1]["node"]["outcome"], "CREATED");
    let name = app
        .ok(
            &admin.access,
            "query($id: ID!) { account(id: $id) { name } }",
            json!({ "id": acme }),
        )
        .await;
    assert_eq!(name["account"]["name"], "Acme Holdings");

    // A key no column fills, or one that is not a field at all, is refused before anything runs.
    for key in ["custom.crm_id", "custom.erp_id'--", "external"] {
        let (status, body) = upload(
            &app,
            &admin.access,
            &[("type", "account"), ("key", key)],
            "ERP id,Name\nERP-9,Nine\n",
        )
        .await;
        assert_eq!(status, 400, "{key}: {body}");
    }
}
