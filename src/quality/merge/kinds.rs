//! What merging means for each record type: the rows elsewhere that point at a record and move
//! to the survivor, the columns that are computed rather than chosen, the columns that go
//! together, and the unique columns a tombstone gives up.

use entity::{account, contact, enums::CustomFieldRecordType, lead, opportunity};

use crate::services::records::Record;

/// Rows of `table` whose `column` points at a record: they follow it into the survivor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation {
    /// What the API calls these rows (`touchpoints`, `child accounts`).
    pub name: &'static str,
    pub table: &'static str,
    pub column: &'static str,
}

const fn relation(name: &'static str, table: &'static str, column: &'static str) -> Relation {
    Relation {
        name,
        table,
        column,
    }
}

/// Columns taken from one record together, so a deal's stage keeps its close date and an
/// amount keeps its currency.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub columns: &'static [&'static str],
    pub pick: Pick,
}

/// Which record a group comes from when the caller does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The survivor's, or else the first merged record's that has its first column filled.
    Filled,
    /// The record whose first column (a timestamp) is earliest: a person's first touch.
    Earliest,
    /// The record whose first column is latest: a person's latest touch.
    Latest,
}

/// Columns no merge chooses on any type: identity, bookkeeping, and the tombstone itself.
pub const BOOKKEEPING: &[&str] = &[
    "id",
    "search_text",
    "archived_at",
    "merged_into_id",
    "created_at",
    "updated_at",
];

/// The custom field object: merged key by key rather than taken whole.
pub const CUSTOM_FIELDS: &str = "custom_fields";

/// A record type that merges.
pub trait Mergeable: Record {
    const RECORD_TYPE: CustomFieldRecordType;
    /// The rows elsewhere that point at a record of this type.
    const RELATIONS: &'static [Relation];
    /// Columns computed from other data (scores, RFM figures), kept as the survivor has them
    /// and recomputed where the merge changes what they are computed from.
    const DERIVED: &'static [&'static str];
    /// Columns chosen together; every other column is a group of its own, picked `Filled`.
    const GROUPS: &'static [Group] = &[];
    /// Columns whose value no two records share: a tombstone gives its value up when the
    /// survivor takes it.
    const UNIQUE: &'static [&'static str] = &[];
    /// Columns pointing at records of this same type, which may not end up naming a merged one.
    const SELF_REFERENCES: &'static [&'static str] = &[];
    /// Money columns, hidden from and not chosen by a role that may not see amounts.
    const MONEY: &'static [&'static str] = &[];
}

/// The record type's own earlier tombstones, pointed at the new survivor so no chain forms.
const fn tombstones(table: &'static str) -> Relation {
    relation("tombstones", table, "merged_into_id")
}

const RFM: &[&str] = &[
    "rfm_recency_days",
    "rfm_frequency",
    "rfm_monetary_minor",
    "rfm_currency",
    "rfm_recency_score",
    "rfm_frequency_score",
    "rfm_monetary_score",
    "rfm_segment",
];

impl Mergeable for lead::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Lead;
    const RELATIONS: &'static [Relation] = &[
        relation("touchpoints", "touchpoints", "lead_id"),
        relation("activities", "activities", "lead_id"),
        relation("opportunities", "opportunities", "lead_id"),
        relation("contact points", "contact_points", "lead_id"),
        tombstones("leads"),
    ];
    const DERIVED: &'static [&'static str] = &[
        "fit_score",
        "engagement_score",
        "score",
        "grade",
        "scored_at",
        "score_version",
    ];
    const GROUPS: &'static [Group] = &[
        Group {
            columns: &[
                "first_touch_at",
                "first_source",
                "first_medium",
                "first_campaign",
                "first_source_category",
            ],
            pick: Pick::Earliest,
        },
        Group {
            columns: &[
                "latest_touch_at",
                "latest_source",
                "latest_medium",
                "latest_campaign",
                "latest_source_category",
            ],
            pick: Pick::Latest,
        },
        Group {
            columns: &["budget_minor", "budget_currency"],
            pick: Pick::Filled,
        },
        Group {
            columns: &[
                "converted_at",
                "converted_contact_id",
                "converted_account_id",
                "converted_opportunity_id",
            ],
            pick: Pick::Filled,
        },
    ];
    const UNIQUE: &'static [&'static str] = &["email"];
    const MONEY: &'static [&'static str] = &["budget_minor", "budget_currency"];
}

impl Mergeable for contact::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Contact;
    const RELATIONS: &'static [Relation] = &[
        relation("touchpoints", "touchpoints", "contact_id"),
        relation("activities", "activities", "contact_id"),
        relation("opportunities", "opportunities", "contact_id"),
        relation("contact points", "contact_points", "contact_id"),
        relation("converted leads", "leads", "converted_contact_id"),
        tombstones("contacts"),
    ];
    const DERIVED: &'static [&'static str] = RFM;
    const UNIQUE: &'static [&'static str] = &["email"];
    const MONEY: &'static [&'static str] = &["rfm_monetary_minor", "rfm_currency"];
}

impl Mergeable for account::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Account;
    const RELATIONS: &'static [Relation] = &[
        relation("contacts", "contacts", "account_id"),
        relation("child accounts", "accounts", "parent_id"),
        relation("opportunities", "opportunities", "account_id"),
        relation("touchpoints", "touchpoints", "account_id"),
        relation("activities", "activities", "account_id"),
        relation("converted leads", "leads", "converted_account_id"),
        tombstones("accounts"),
    ];
    const DERIVED: &'static [&'static str] = RFM;
    const GROUPS: &'static [Group] = &[Group {
        columns: &["domain", "canonical_domain"],
        pick: Pick::Filled,
    }];
    const UNIQUE: &'static [&'static str] = &["canonical_domain"];
    const SELF_REFERENCES: &'static [&'static str] = &["parent_id"];
    const MONEY: &'static [&'static str] = &["rfm_monetary_minor", "rfm_currency"];
}

impl Mergeable for opportunity::Entity {
    const RECORD_TYPE: CustomFieldRecordType = CustomFieldRecordType::Opportunity;
    const RELATIONS: &'static [Relation] = &[
        relation("activities", "activities", "opportunity_id"),
        relation("converted leads", "leads", "converted_opportunity_id"),
        tombstones("opportunities"),
    ];
    const DERIVED: &'static [&'static str] = &[];
    const GROUPS: &'static [Group] = &[
        Group {
            columns: &["stage_id", "closed_at", "lost_reason"],
            pick: Pick::Filled,
        },
        Group {
            columns: &["amount_minor", "currency"],
            pick: Pick::Filled,
        },
    ];
    const MONEY: &'static [&'static str] = &["amount_minor", "currency"];
}
