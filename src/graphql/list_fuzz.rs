//! Fuzzes the decoders of list arguments: cursors (edited as JSON and as text, from
//! `fuzz/corpus/cursor/`) and record filters (edited from `fuzz/corpus/filters/`, coerced as
//! GraphQL coerces them, then translated and built into SQL for both stores). Each input is
//! decoded or refused; none may panic.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use fuzz::proptest::prelude::*;
use sea_orm::{
    DbBackend,
    sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder},
};

use crate::{
    graphql::filters::{
        AccountFilter, ActivityFilter, CampaignFilter, ContactFilter, FilterInput, LeadFilter,
        OpportunityFilter,
    },
    services::page::Cursor,
};

/// Cursors per CI run.
const CURSOR_CASES: u32 = 1_500;
/// Filters per CI run (each coerced as every record's filter, translated for both stores).
const FILTER_CASES: u32 = 600;

const CURSOR_KEYS: &[&str] = &["keys", "id", "order", "text", "int", "time"];

/// Every field name and operator of the lists' filters, read from the schema, so edits land on
/// something a filter reads and a new field is fuzzed as soon as it exists.
fn filter_keys() -> &'static [&'static str] {
    static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut registry = async_graphql::registry::Registry::default();
        <LeadFilter as async_graphql::InputType>::create_type_info(&mut registry);
        <ContactFilter as async_graphql::InputType>::create_type_info(&mut registry);
        <AccountFilter as async_graphql::InputType>::create_type_info(&mut registry);
        <OpportunityFilter as async_graphql::InputType>::create_type_info(&mut registry);
        <ActivityFilter as async_graphql::InputType>::create_type_info(&mut registry);
        <CampaignFilter as async_graphql::InputType>::create_type_info(&mut registry);
        let names: std::collections::BTreeSet<String> = registry
            .types
            .values()
            .filter_map(|ty| match ty {
                async_graphql::registry::MetaType::InputObject { input_fields, .. } => {
                    Some(input_fields.keys().cloned())
                }
                _ => None,
            })
            .flatten()
            .collect();
        // Built once per test process; the names live as long as it does.
        names
            .into_iter()
            .map(|name| &*Box::leak(name.into_boxed_str()))
            .collect()
    })
}

fn cursors() -> BoxedStrategy<String> {
    let seeds = fuzz::json_corpus("cursor");
    let as_text = seeds
        .iter()
        .map(|seed| URL_SAFE_NO_PAD.encode(seed.to_string()).into_bytes())
        .collect();
    prop_oneof![
        fuzz::mutated_json(seeds, CURSOR_KEYS)
            .prop_map(|value| URL_SAFE_NO_PAD.encode(value.to_string())),
        fuzz::mutated_text(as_text, &["=", "+", "/", "-", "_"]),
    ]
    .boxed()
}

/// A filter as GraphQL would hand it to a list: coerced from `value`, or refused.
fn coerced<F: async_graphql::InputType>(value: &serde_json::Value) -> Option<F> {
    let value = async_graphql::Value::from_json(value.clone()).ok()?;
    F::parse(Some(value)).ok()
}

/// Translates a filter coerced from `value` as the lists do, for each store, and builds the
/// statement.
fn translated<F: FilterInput + async_graphql::InputType>(value: &serde_json::Value) {
    let Some(Ok(filter)) = coerced::<F>(value).map(F::into_filter) else {
        return;
    };
    for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
        if let Ok(condition) = filter.condition(backend) {
            let statement = Query::select().cond_where(condition).to_owned();
            let _ = statement.build(SqliteQueryBuilder);
            let _ = statement.build(PostgresQueryBuilder);
        }
    }
}

proptest! {
    #![proptest_config(fuzz::config(CURSOR_CASES))]

    #[test]
    fn fuzz_cursors_decode_to_what_they_encode_or_are_refused(raw in cursors()) {
        if let Ok(cursor) = Cursor::decode("after", &raw) {
            prop_assert_eq!(Cursor::decode("after", &cursor.encode()).ok(), Some(cursor));
        }
    }
}

proptest! {
    #![proptest_config(fuzz::config(FILTER_CASES))]

    #[test]
    fn fuzz_filters_translate_or_are_refused(
        value in fuzz::mutated_json(fuzz::json_corpus("filters"), filter_keys()),
    ) {
        translated::<LeadFilter>(&value);
        translated::<ContactFilter>(&value);
        translated::<AccountFilter>(&value);
        translated::<OpportunityFilter>(&value);
        translated::<ActivityFilter>(&value);
        translated::<CampaignFilter>(&value);
    }
}
