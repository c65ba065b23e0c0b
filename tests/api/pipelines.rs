//! Pipelines as admins shape them, on both stores: a second pipeline beside the default one,
//! each edit audited, every rule refusing with its code and writing nothing, stages archived
//! with their open deals moved (the deals' histories show it), and rights: admins edit,
//! whoever reads deals reads pipelines.

use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, error_code, spawn_app},
    hub::audit_of,
};

const PIPELINES: &str = "query($all: Boolean) { pipelines(includeArchived: $all) {
    id name position archivedAt stages(includeArchived: $all) { id name position probability isWon isLost archivedAt } } }";

const CREATE: &str = "mutation($input: NewPipelineInput!) { createPipeline(input: $input) {
    pipeline { id name position stages { id name position probability isWon isLost pipeline { name } } } } }";

const ADD_STAGE: &str =
    "mutation($p: ID!, $input: NewStageInput!) { addPipelineStage(pipelineId: $p, input: $input) {
    stage { id name position probability isWon isLost } } }";

const UPDATE_STAGE: &str = "mutation($id: ID!, $input: PipelineStageInput!) { updatePipelineStage(id: $id, input: $input) {
    stage { id name probability isWon isLost } } }";

const REORDER: &str =
    "mutation($p: ID!, $ids: [ID!]!) { reorderPipelineStages(pipelineId: $p, stageIds: $ids) {
    pipeline { stages { name position } } } }";

const ARCHIVE_STAGE: &str =
    "mutation($id: ID!, $to: ID) { archivePipelineStage(id: $id, moveOpenDealsTo: $to) {
    stage { id archivedAt } } }";

const DEAL: &str = "mutation($input: OpportunityInput!) { createOpportunity(input: $input) {
    opportunity { id stage { name } pipeline { name } } } }";

async fn pipelines(app: &TestApp, who: &Session, all: bool) -> Vec<Value> {
    let data = app.ok(&who.access, PIPELINES, json!({ "all": all })).await;
    data["pipelines"].as_array().unwrap().clone()
}

fn renewals() -> Value {
    json!({ "name": "Renewals", "stages": [
        { "name": "Up for renewal", "probability": 50 },
        { "name": "Renewed", "probability": 100, "isWon": true },
        { "name": "Churned", "probability": 0, "isLost": true },
    ] })
}

async fn create_renewals(app: &TestApp, admin: &Session) -> Value {
    let data = app
        .ok(&admin.access, CREATE, json!({ "input": renewals() }))
        .await;
    data["createPipeline"]["pipeline"].clone()
}

fn stage_id<'a>(pipeline: &'a Value, name: &str) -> &'a Value {
    let stages = pipeline["stages"].as_array().unwrap();
    &stages
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {pipeline}"))["id"]
}

async fn deal(app: &TestApp, who: &Session, input: Value) -> Value {
    let input = json!({ "name": "Deal", "amount": { "amount": "100", "currency": "USD" } })
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .chain(input.as_object().unwrap().clone())
        .collect::<serde_json::Map<_, _>>();
    let data = app.ok(&who.access, DEAL, json!({ "input": input })).await;
    data["createOpportunity"]["opportunity"].clone()
}

fn code(body: &Value) -> &str {
    error_code(body).unwrap_or_else(|| panic!("no error in {body}"))
}

#[tokio::test]
async fn two_pipelines_side_by_side_each_with_its_deals_and_every_edit_audited() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let before = pipelines(&app, &admin, false).await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["name"], "New business");
    assert_eq!(before[0]["stages"].as_array().unwrap().len(), 8);
    let default = before[0].clone();

    let renewals = create_renewals(&app, &admin).await;
    assert_eq!(renewals["position"], 2);
    let stages: Vec<(Value, Value)> = renewals["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].clone(), s["position"].clone()))
        .collect();
    assert_eq!(
        stages,
        [
            (json!("Up for renewal"), json!(1)),
            (json!("Renewed"), json!(2)),
            (json!("Churned"), json!(3)),
        ]
    );
    assert_eq!(renewals["stages"][0]["pipeline"]["name"], "Renewals");
    let id = renewals["id"].as_str().unwrap();

    // A stage name of one pipeline is free in another.
    let demo = app
        .ok(
            &admin.access,
            ADD_STAGE,
            json!({ "p": id, "input": { "name": "Demo", "probability": 40 } }),
        )
        .await["addPipelineStage"]["stage"]
        .clone();
    assert_eq!(demo["position"], 4);
    let changed = app
        .ok(
            &admin.access,
            UPDATE_STAGE,
            json!({ "id": demo["id"], "input": { "name": "Usage review", "probability": 65 } }),
        )
        .await["updatePipelineStage"]["stage"]
        .clone();
    assert_eq!(
        (&changed["name"], &changed["probability"], &changed["isWon"]),
        (&json!("Usage review"), &json!(65), &json!(false))
    );
    let renamed = app
        .ok(
            &admin.access,
            "mutation($id: ID!) { renamePipeline(id: $id, name: \"Renewals and upsell\") { pipeline { name } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        renamed["renamePipeline"]["pipeline"]["name"],
        "Renewals and upsell"
    );
    let order = [
        &demo["id"],
        stage_id(&renewals, "Up for renewal"),
        stage_id(&renewals, "Renewed"),
        stage_id(&renewals, "Churned"),
    ];
    let reordered = app
        .ok(&admin.access, REORDER, json!({ "p": id, "ids": order }))
        .await;
    assert_eq!(
        reordered["reorderPipelineStages"]["pipeline"]["stages"],
        json!([
            { "name": "Usage review", "position": 1 },
            { "name": "Up for renewal", "position": 2 },
            { "name": "Renewed", "position": 3 },
            { "name": "Churned", "position": 4 },
        ])
    );

    // Deals start in their pipeline's first open stage, the default one's when none is named.
    let renewal = deal(&app, &admin, json!({ "pipelineId": id })).await;
    assert_eq!(renewal["stage"]["name"], "Usage review");
    assert_eq!(renewal["pipeline"]["name"], "Renewals and upsell");
    let new_business = deal(&app, &admin, json!({})).await;
    assert_eq!(new_business["stage"]["name"], "Initial contact");
    assert_eq!(new_business["pipeline"]["name"], "New business");
    let wrong = app
        .gql(
            Some(&admin.access),
            DEAL,
            json!({ "input": { "name": "X", "amount": { "amount": "1", "currency": "USD" },
                               "pipelineId": id, "stageId": stage_id(&default, "Demo") } }),
        )
        .await;
    assert_eq!(code(&wrong), "BAD_USER_INPUT", "{wrong}");

    let filtered = async |filter: Value| -> Vec<Value> {
        let data = app
            .ok(
                &admin.access,
                "query($f: OpportunityFilter) { opportunities(filter: $f) { edges { node { id } } } }",
                json!({ "f": filter }),
            )
            .await;
        data["opportunities"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].clone())
            .collect()
    };
    assert_eq!(
        filtered(json!({ "pipelineId": { "eq": id } })).await,
        [renewal["id"].clone()]
    );
    assert_eq!(
        filtered(json!({ "pipelineId": { "ne": id } })).await,
        [new_business["id"].clone()]
    );
    assert_eq!(
        filtered(json!({ "pipelineId": { "in": [id, default["id"]] } }))
            .await
            .len(),
        2
    );

    let actions: Vec<String> = audit_of(&app, id)
        .await
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(actions, ["pipeline.create", "pipeline.rename"]);
    let actions: Vec<String> = audit_of(&app, demo["id"].as_str().unwrap())
        .await
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(actions, ["stage.create", "stage.update", "stage.reorder"]);
    let row = audit_of(&app, demo["id"].as_str().unwrap()).await.remove(1);
    assert_eq!(row.before.unwrap()["probability"], 40);
    assert_eq!(row.after.unwrap()["probability"], 65);
}

#[tokio::test]
async fn archiving_a_stage_moves_its_open_deals_and_their_history_shows_the_move() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let default = pipelines(&app, &admin, false).await.remove(0);
    let renewals = create_renewals(&app, &admin).await;
    let demo = stage_id(&default, "Demo").clone();
    let proposal = stage_id(&default, "Proposal").clone();
    let open = deal(&app, &admin, json!({ "stageId": demo })).await;
    let won = deal(&app, &admin, json!({ "stageId": demo })).await;
    app.ok(
        &admin.access,
        "mutation($id: ID!, $s: ID!) { updateOpportunity(id: $id, input: { stageId: $s }) { opportunity { id } } }",
        json!({ "id": won["id"], "s": stage_id(&default, "Closed won") }),
    )
    .await;

    // Open deals need somewhere to go: nowhere, another pipeline and the stage itself are not it.
    for to in [
        Value::Null,
        stage_id(&renewals, "Up for renewal").clone(),
        demo.clone(),
    ] {
        let refused = app
            .gql(
                Some(&admin.access),
                ARCHIVE_STAGE,
                json!({ "id": demo, "to": to }),
            )
            .await;
        assert_eq!(code(&refused), "BAD_USER_INPUT", "{to}: {refused}");
    }
    let archived = app
        .ok(
            &admin.access,
            ARCHIVE_STAGE,
            json!({ "id": demo, "to": proposal }),
        )
        .await;
    assert!(archived["archivePipelineStage"]["stage"]["archivedAt"].is_string());

    let history = async |deal: &Value| -> Value {
        let data = app
            .ok(
                &admin.access,
                "query($id: ID!) { opportunity(id: $id) { stage { name } closedAt
                    stageHistory { from { name } to { name } by { id } } } }",
                json!({ "id": deal["id"] }),
            )
            .await;
        data["opportunity"].clone()
    };
    let moved = history(&open).await;
    assert_eq!(moved["stage"]["name"], "Proposal");
    assert!(moved["closedAt"].is_null());
    let last = moved["stageHistory"].as_array().unwrap().last().unwrap();
    assert_eq!(last["from"]["name"], "Demo");
    assert_eq!(last["to"]["name"], "Proposal");
    assert!(last["by"]["id"].is_string(), "{last}");
    let actions: Vec<String> = audit_of(&app, open["id"].as_str().unwrap())
        .await
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(actions.last().unwrap(), "opportunity.stage_archived");
    // A closed deal keeps its stage and its close.
    let kept = history(&won).await;
    assert_eq!(kept["stage"]["name"], "Closed won");
    assert!(kept["closedAt"].is_string());

    // The archived stage takes no deals and leaves the board, but stays on record.
    let refused = app
        .gql(
            Some(&admin.access),
            DEAL,
            json!({ "input": { "name": "X", "amount": { "amount": "1", "currency": "USD" }, "stageId": demo } }),
        )
        .await;
    assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
    let live = pipelines(&app, &admin, false).await.remove(0);
    assert!(
        live["stages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != demo)
    );
    let all = pipelines(&app, &admin, true).await.remove(0);
    assert_eq!(all["stages"].as_array().unwrap().len(), 8);
    let again = app
        .gql(
            Some(&admin.access),
            ARCHIVE_STAGE,
            json!({ "id": demo, "to": proposal }),
        )
        .await;
    assert_eq!(code(&again), "CONFLICT", "{again}");
    let actions: Vec<String> = audit_of(&app, demo.as_str().unwrap())
        .await
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(actions, ["stage.archive"]);

    // A stage without open deals needs no target.
    app.ok(
        &admin.access,
        ARCHIVE_STAGE,
        json!({ "id": stage_id(&default, "Negotiation") }),
    )
    .await;
}

#[tokio::test]
async fn each_pipeline_rule_refuses_with_its_code_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let renewals = create_renewals(&app, &admin).await;
    let id = renewals["id"].clone();
    let open = stage_id(&renewals, "Up for renewal").clone();
    let won = stage_id(&renewals, "Renewed").clone();
    let lost = stage_id(&renewals, "Churned").clone();
    let before = pipelines(&app, &admin, true).await;
    let audit_rows = async || {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::audit_log::Entity::find()
            .count(&app.db)
            .await
            .unwrap()
    };
    let rows_before = audit_rows().await;

    let stage = |name: &str, probability: i64, won: bool, lost: bool| json!({ "name": name, "probability": probability, "isWon": won, "isLost": lost });
    let huge = "x".repeat(100_000);
    let cases: Vec<(&str, &str, Value)> = vec![
        // Creating.
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": "P", "stages": [stage("A", 101, false, false)] } }),
        ),
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": "P", "stages": [stage("A", -1, false, false)] } }),
        ),
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": "P", "stages": [stage("A", 50, false, false), stage("B", 100, true, true)] } }),
        ),
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": "P", "stages": [stage("Won", 100, true, false), stage("Lost", 0, false, true)] } }),
        ),
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": "P", "stages": [] } }),
        ),
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": " ", "stages": [stage("A", 5, false, false)] } }),
        ),
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": huge, "stages": [stage("A", 5, false, false)] } }),
        ),
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": "P\u{0}", "stages": [stage("A", 5, false, false)] } }),
        ),
        (
            "BAD_USER_INPUT",
            CREATE,
            json!({ "input": { "name": "P", "stages": [stage(&huge, 5, false, false)] } }),
        ),
        (
            "CONFLICT",
            CREATE,
            json!({ "input": { "name": "new BUSINESS", "stages": [stage("A", 5, false, false)] } }),
        ),
        (
            "CONFLICT",
            CREATE,
            json!({ "input": { "name": "P", "stages": [stage("A", 5, false, false), stage("a", 5, false, false)] } }),
        ),
        // Adding and changing stages.
        (
            "CONFLICT",
            ADD_STAGE,
            json!({ "p": id, "input": stage("renewed", 100, false, false) }),
        ),
        (
            "BAD_USER_INPUT",
            ADD_STAGE,
            json!({ "p": id, "input": stage("B", 200, false, false) }),
        ),
        (
            "BAD_USER_INPUT",
            ADD_STAGE,
            json!({ "p": id, "input": stage("B\u{0}", 20, false, false) }),
        ),
        (
            "NOT_FOUND",
            ADD_STAGE,
            json!({ "p": uuid::Uuid::now_v7(), "input": stage("B", 20, false, false) }),
        ),
        (
            "BAD_USER_INPUT",
            ADD_STAGE,
            json!({ "p": "not-an-id", "input": stage("B", 20, false, false) }),
        ),
        (
            "BAD_USER_INPUT",
            UPDATE_STAGE,
            json!({ "id": won, "input": { "isLost": true } }),
        ),
        (
            "BAD_USER_INPUT",
            UPDATE_STAGE,
            json!({ "id": open, "input": { "probability": 101 } }),
        ),
        (
            "BAD_USER_INPUT",
            UPDATE_STAGE,
            json!({ "id": open, "input": { "name": huge } }),
        ),
        (
            "CONFLICT",
            UPDATE_STAGE,
            json!({ "id": open, "input": { "name": "CHURNED" } }),
        ),
        (
            "CONFLICT",
            UPDATE_STAGE,
            json!({ "id": open, "input": { "isWon": true } }),
        ),
        (
            "NOT_FOUND",
            UPDATE_STAGE,
            json!({ "id": uuid::Uuid::now_v7(), "input": { "probability": 5 } }),
        ),
        // The last open stage stays.
        ("CONFLICT", ARCHIVE_STAGE, json!({ "id": open })),
        (
            "NOT_FOUND",
            ARCHIVE_STAGE,
            json!({ "id": uuid::Uuid::now_v7() }),
        ),
        // Reordering takes each live stage once, nothing else.
        (
            "BAD_USER_INPUT",
            REORDER,
            json!({ "p": id, "ids": [won, open] }),
        ),
        (
            "BAD_USER_INPUT",
            REORDER,
            json!({ "p": id, "ids": [won, open, lost, lost] }),
        ),
        (
            "BAD_USER_INPUT",
            REORDER,
            json!({ "p": id, "ids": [won, open, lost, uuid::Uuid::now_v7()] }),
        ),
        ("BAD_USER_INPUT", REORDER, json!({ "p": id, "ids": [] })),
        (
            "NOT_FOUND",
            REORDER,
            json!({ "p": uuid::Uuid::now_v7(), "ids": [won, open, lost] }),
        ),
    ];
    for (want, query, variables) in cases {
        let body = app.gql(Some(&admin.access), query, variables.clone()).await;
        let shown = body.to_string();
        assert_eq!(
            error_code(&body),
            Some(want),
            "{}",
            &shown[..shown.len().min(400)]
        );
    }

    // Pipelines: names unique, one live pipeline always, none archived with open deals in it.
    let rename = "mutation($id: ID!, $n: String!) { renamePipeline(id: $id, name: $n) { pipeline { name } } }";
    let archive = "mutation($id: ID!) { archivePipeline(id: $id) { pipeline { archivedAt } } }";
    let body = app
        .gql(
            Some(&admin.access),
            rename,
            json!({ "id": id, "n": "New Business" }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    let default = before[0]["id"].clone();
    deal(&app, &admin, json!({ "pipelineId": id })).await;
    let rows_with_deal = audit_rows().await;
    let body = app
        .gql(Some(&admin.access), archive, json!({ "id": id }))
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    assert_eq!(
        pipelines(&app, &admin, true).await.len(),
        2,
        "nothing was archived"
    );
    assert_eq!(audit_rows().await, rows_with_deal);
    assert_eq!(rows_with_deal, rows_before + 1, "only the deal was written");
    let before = pipelines(&app, &admin, true).await;
    assert_eq!(before.len(), 2);
    assert_eq!(before[1]["stages"].as_array().unwrap().len(), 3);

    // The default pipeline goes once another is live; the last live one stays.
    app.ok(&admin.access, archive, json!({ "id": default }))
        .await;
    for last in [&id, &default] {
        let body = app
            .gql(Some(&admin.access), archive, json!({ "id": last }))
            .await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
    }
    let refused = app
        .gql(
            Some(&admin.access),
            DEAL,
            json!({ "input": { "name": "X", "amount": { "amount": "1", "currency": "USD" },
                               "stageId": stage_id(&before[0], "Demo") } }),
        )
        .await;
    assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
    // New deals now start in the pipeline that is left.
    let started = deal(&app, &admin, json!({})).await;
    assert_eq!(started["pipeline"]["name"], "Renewals");
}

#[tokio::test]
async fn only_admins_edit_pipelines_and_whoever_reads_deals_reads_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let renewals = create_renewals(&app, &admin).await;
    let id = renewals["id"].clone();
    let open = stage_id(&renewals, "Up for renewal").clone();
    let manager = app.user(&admin, "m@example.com", "MANAGER", None).await;
    let rep = app.user(&admin, "r@example.com", "SALES", None).await;
    let marketing = app.user(&admin, "mk@example.com", "MARKETING", None).await;
    let support = app.user(&admin, "s@example.com", "SUPPORT", None).await;
    for who in [&manager, &rep, &marketing, &support] {
        let writes = [
            (CREATE, json!({ "input": renewals_named("Upsell") })),
            (
                ADD_STAGE,
                json!({ "p": id, "input": { "name": "B", "probability": 5 } }),
            ),
            (
                UPDATE_STAGE,
                json!({ "id": open, "input": { "probability": 5 } }),
            ),
            (REORDER, json!({ "p": id, "ids": [open] })),
            (ARCHIVE_STAGE, json!({ "id": open })),
            (
                "mutation($id: ID!) { archivePipeline(id: $id) { pipeline { id } } }",
                json!({ "id": id }),
            ),
            (
                "mutation($id: ID!) { renamePipeline(id: $id, name: \"Mine\") { pipeline { id } } }",
                json!({ "id": id }),
            ),
        ];
        for (query, variables) in writes {
            let body = app.gql(Some(&who.access), query, variables).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
        }
    }
    for who in [&manager, &rep, &marketing] {
        assert_eq!(pipelines(&app, who, false).await.len(), 2);
    }
    let body = app
        .gql(Some(&support.access), PIPELINES, json!({ "all": false }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let actions = audit_of(&app, id.as_str().unwrap()).await;
    assert_eq!(actions.len(), 1, "only the creation");
}

fn renewals_named(name: &str) -> Value {
    let mut input = renewals();
    input["name"] = json!(name);
    input
}
