//! Every move of a lead's status and stage, a contact's stage and a deal's pipeline stage is
//! kept with when and by whom, on both stores: the history the funnel and velocity reports read.

use serde_json::{Value, json};

use crate::{
    helpers::{error_code, spawn_app},
    hub::{connector, deliver, settled_deliveries},
};

const LEAD_HISTORY: &str = "query($id: ID!) { lead(id: $id) {
    statusHistory { from to at by { id } cause }
    stageHistory { from to by { id } } } }";

fn moves(history: &Value) -> Vec<(Value, Value)> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|change| (change["from"].clone(), change["to"].clone()))
        .collect()
}

#[tokio::test]
async fn a_lead_keeps_every_status_and_stage_it_moved_through_and_who_moved_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let lead = app
        .lead(&rep.access, json!({ "email": "ada@acme.com" }))
        .await;
    let update = "mutation($id: ID!, $input: LeadInput!) { updateLead(id: $id, input: $input) { lead { id } } }";
    for input in [
        json!({ "status": "CONTACTED" }),
        // Not a move: the same status again, and another field.
        json!({ "status": "CONTACTED", "title": "CTO" }),
        json!({ "status": "HOT", "lifecycleStage": "MQL" }),
    ] {
        app.ok(&rep.access, update, json!({ "id": lead, "input": input }))
            .await;
    }
    app.ok(
        &admin.access,
        "mutation($id: ID!) { convertLead(id: $id) { lead { id } } }",
        json!({ "id": lead }),
    )
    .await;

    let data = app
        .ok(&rep.access, LEAD_HISTORY, json!({ "id": lead }))
        .await;
    let statuses = &data["lead"]["statusHistory"];
    assert_eq!(
        moves(statuses),
        [
            (Value::Null, json!("NOT_CONTACTED")),
            (json!("NOT_CONTACTED"), json!("CONTACTED")),
            (json!("CONTACTED"), json!("HOT")),
            (json!("HOT"), json!("CONVERTED")),
        ]
    );
    let by: Vec<&Value> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["by"]["id"])
        .collect();
    let (rep_id, admin_id) = (json!(rep.user_id), json!(admin.user_id));
    assert_eq!(by, [&rep_id, &rep_id, &rep_id, &admin_id]);
    assert!(statuses[1]["at"].as_str() <= statuses[2]["at"].as_str());
    assert_eq!(
        moves(&data["lead"]["stageHistory"]),
        [(Value::Null, json!("LEAD")), (json!("LEAD"), json!("MQL"))]
    );

    // The history is the lead's: a rep who cannot see the lead cannot read it.
    let other = app.user(&admin, "other@example.com", "SALES", None).await;
    let hidden = app
        .gql(Some(&other.access), LEAD_HISTORY, json!({ "id": lead }))
        .await;
    assert_eq!(error_code(&hidden), Some("NOT_FOUND"), "{hidden}");
}

#[tokio::test]
async fn a_deal_keeps_its_pipeline_stages_and_a_lead_the_hub_made_has_no_person_behind_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let stages = app
        .ok(&admin.access, "{ pipelineStages { id name } }", json!({}))
        .await;
    let (first, second) = (&stages["pipelineStages"][0], &stages["pipelineStages"][1]);
    let deal = app
        .ok(
            &admin.access,
            "mutation { createOpportunity(input: { name: \"Deal\", amount: { amount: \"10\", currency: \"EUR\" } }) { opportunity { id } } }",
            json!({}),
        )
        .await["createOpportunity"]["opportunity"]["id"]
        .clone();
    app.ok(
        &admin.access,
        "mutation($id: ID!, $stage: ID!) { updateOpportunity(id: $id, input: { stageId: $stage }) { opportunity { id } } }",
        json!({ "id": deal, "stage": second["id"] }),
    )
    .await;
    let data = app
        .ok(
            &admin.access,
            "query($id: ID!) { opportunity(id: $id) { stageHistory { from { name } to { name } by { id } } } }",
            json!({ "id": deal }),
        )
        .await;
    let history = &data["opportunity"]["stageHistory"];
    assert_eq!(
        moves(history),
        [
            (Value::Null, json!({ "name": first["name"] })),
            (
                json!({ "name": first["name"] }),
                json!({ "name": second["name"] })
            ),
        ]
    );

    let (form, _) = connector(&app, &admin, "WEB_FORM", None, json!({})).await;
    let (status, answer) = deliver(
        &app,
        &form,
        "application/x-www-form-urlencoded",
        &[],
        "email=grace%40example.com&last_name=Hopper",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    settled_deliveries(&app, &admin, &form, 1).await;
    let leads = app
        .ok(
            &admin.access,
            "{ leads(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let lead = &leads["leads"]["edges"][0]["node"]["id"];
    let data = app
        .ok(&admin.access, LEAD_HISTORY, json!({ "id": lead }))
        .await;
    let first_status = &data["lead"]["statusHistory"][0];
    assert_eq!(first_status["to"], "NOT_CONTACTED");
    assert!(first_status["by"].is_null(), "{first_status}");
}
