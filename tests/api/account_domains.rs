//! Accounts are unique by the domain their website names, however it is typed; the typed text
//! stays on the account.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, error_code, spawn_app};

const CREATE: &str =
    "mutation($input: AccountInput!) { createAccount(input: $input) { account { id domain } } }";
const UPDATE: &str = "mutation($id: ID!, $input: AccountInput!) { updateAccount(id: $id, input: $input) { account { id domain } } }";

async fn create(app: &TestApp, token: &str, name: &str, domain: &str) -> Value {
    app.gql(
        Some(token),
        CREATE,
        json!({ "input": { "name": name, "domain": domain } }),
    )
    .await
}

async fn created_id(app: &TestApp, token: &str, name: &str, domain: &str) -> String {
    let body = create(app, token, name, domain).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["createAccount"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn canonical_of(app: &TestApp, id: &str) -> Option<String> {
    entity::account::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .canonical_domain
}

fn conflict_naming(body: &Value, id: &str) {
    assert_eq!(error_code(body), Some("CONFLICT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "domain", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(id), "{message:?} names {id}");
}

#[tokio::test]
async fn a_second_account_with_the_same_canonical_domain_is_a_conflict_naming_the_first() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let first = created_id(&app, token, "Acme", "https://www.Acme.com/about").await;
    assert_eq!(
        canonical_of(&app, &first).await.as_deref(),
        Some("acme.com")
    );

    for typed in [
        "acme.com",
        "ACME.COM",
        "http://acme.com:8080/x",
        "www.acme.com.",
    ] {
        let body = create(&app, token, "Acme Inc", typed).await;
        conflict_naming(&body, &first);
    }
    let count = entity::account::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1, "a refused account is not written");

    let data = app
        .ok(
            token,
            "query($id: ID!) { account(id: $id) { domain } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(
        data["account"]["domain"], "https://www.acme.com/about",
        "the typed website stays"
    );
}

#[tokio::test]
async fn an_update_onto_a_taken_domain_is_a_conflict_and_a_freed_domain_can_be_taken() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let first = created_id(&app, token, "Globex", "globex.io").await;
    let second = created_id(&app, token, "Globex Europe", "globex.eu").await;

    let body = app
        .gql(
            Some(token),
            UPDATE,
            json!({ "id": second, "input": { "domain": "https://WWW.GLOBEX.IO/" } }),
        )
        .await;
    conflict_naming(&body, &first);
    assert_eq!(
        canonical_of(&app, &second).await.as_deref(),
        Some("globex.eu")
    );

    // An account keeps its own domain when it is written again in another spelling.
    app.ok(
        token,
        UPDATE,
        json!({ "id": first, "input": { "domain": "http://globex.io/home" } }),
    )
    .await;
    assert_eq!(
        canonical_of(&app, &first).await.as_deref(),
        Some("globex.io")
    );

    app.ok(
        token,
        UPDATE,
        json!({ "id": first, "input": { "domain": null } }),
    )
    .await;
    assert_eq!(canonical_of(&app, &first).await, None);
    app.ok(
        token,
        UPDATE,
        json!({ "id": second, "input": { "domain": "globex.io" } }),
    )
    .await;
    assert_eq!(
        canonical_of(&app, &second).await.as_deref(),
        Some("globex.io")
    );
}

#[tokio::test]
async fn a_domain_held_by_an_account_the_rep_cannot_see_is_still_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rep = app.user(&admin, "rep@example.com", "SALES", None).await;
    let hidden = created_id(&app, &admin.access, "Initech", "initech.com").await;
    app.ok(
        &admin.access,
        UPDATE,
        json!({ "id": hidden, "input": { "ownerId": admin.user_id } }),
    )
    .await;
    let body = create(&app, &rep.access, "Initech", "https://initech.com").await;
    conflict_naming(&body, &hidden);
    // Text that names no domain is kept and claims none.
    let one = created_id(&app, &admin.access, "Local One", "intranet").await;
    let two = created_id(&app, &admin.access, "Local Two", "intranet").await;
    assert_eq!(canonical_of(&app, &one).await, None);
    assert_eq!(canonical_of(&app, &two).await, None);
}
