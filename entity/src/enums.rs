//! Enumerations stored as lowercase text, so both SQLite and PostgreSQL hold readable values
//! and adding a variant needs no type migration.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[sea_orm(string_value = $value)] $variant,)+
        }

        impl $name {
            /// The stored text of this value.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $value,)+ }
            }
        }
    };
}

text_enum!(
    /// What a user may do; row and field rules follow from it.
    Role { Admin = "admin", Manager = "manager", Sales = "sales", Marketing = "marketing", Support = "support" }
);

text_enum!(
    /// A lead's fit band (A best, C worst) and engagement band (1 most engaged, 3 least).
    LeadGrade {
        A1 = "a1", A2 = "a2", A3 = "a3",
        B1 = "b1", B2 = "b2", B3 = "b3",
        C1 = "c1", C2 = "c2", C3 = "c3",
    }
);

text_enum!(
    /// Where a sales rep stands with a lead.
    LeadStatus {
        NotContacted = "not_contacted",
        AttemptedContact = "attempted_contact",
        Contacted = "contacted",
        ContactInFuture = "contact_in_future",
        Warm = "warm",
        Hot = "hot",
        PreQualified = "pre_qualified",
        Qualified = "qualified",
        NotInterested = "not_interested",
        Junk = "junk",
        Lost = "lost",
        Converted = "converted",
    }
);

text_enum!(
    /// The marketing-to-sales lifecycle of a person.
    LifecycleStage {
        Subscriber = "subscriber",
        Lead = "lead",
        Mql = "mql",
        Sql = "sql",
        Opportunity = "opportunity",
        Customer = "customer",
        Evangelist = "evangelist",
        Other = "other",
    }
);

text_enum!(
    /// Commercial status of an account.
    AccountStatus { Prospect = "prospect", ActiveCustomer = "active_customer", InactiveCustomer = "inactive_customer" }
);

text_enum!(
    /// The kind of a logged or planned activity.
    ActivityKind { Call = "call", Meeting = "meeting", Email = "email", Visit = "visit", Task = "task", Note = "note" }
);

text_enum!(
    /// Lifecycle of a marketing campaign.
    CampaignStatus { Planned = "planned", Active = "active", Completed = "completed", Cancelled = "cancelled" }
);

text_enum!(
    /// The medium a touchpoint came through.
    TouchpointChannel {
        Email = "email",
        Call = "call",
        Sms = "sms",
        WebForm = "web_form",
        Billing = "billing",
        Meeting = "meeting",
        Web = "web",
        Other = "other",
    }
);

/// What a touchpoint that has not been read says; see `touchpoint::Model`'s `Default`.
impl Default for TouchpointChannel {
    fn default() -> Self {
        Self::Other
    }
}

text_enum!(
    /// Whether the customer or we started the exchange.
    Direction { Inbound = "inbound", Outbound = "outbound" }
);

text_enum!(
    /// Marketing source classification of a touch (first touch, latest touch).
    SourceCategory {
        OrganicSearch = "organic_search",
        PaidSearch = "paid_search",
        PaidSocial = "paid_social",
        OrganicSocial = "organic_social",
        Email = "email",
        Referral = "referral",
        Direct = "direct",
        Offline = "offline",
        OtherCampaign = "other_campaign",
    }
);

text_enum!(
    /// The provider a connector speaks to.
    ConnectorKind {
        Stripe = "stripe",
        Twilio = "twilio",
        SendgridEvents = "sendgrid_events",
        SendgridInbound = "sendgrid_inbound",
        Mailgun = "mailgun",
        Postmark = "postmark",
        WebForm = "web_form",
        Typeform = "typeform",
        Calendly = "calendly",
        StandardWebhooks = "standard_webhooks",
    }
);

text_enum!(
    /// Where a stored provider delivery stands: waiting for the worker, done, waiting to be
    /// tried again after a failure, or given up on (dead-lettered) until an admin replays it.
    DeliveryStatus { Pending = "pending", Processed = "processed", Retrying = "retrying", Dead = "dead" }
);

text_enum!(
    /// What a contact point is: an email address, a phone number or a provider's customer id.
    ContactPointKind { Email = "email", Phone = "phone", CustomerId = "customer_id" }
);

text_enum!(
    /// The standard RFM segments of a paying customer, tried in this order.
    RfmSegment {
        Champions = "champions",
        LoyalCustomers = "loyal_customers",
        PotentialLoyalist = "potential_loyalist",
        NewCustomers = "new_customers",
        Promising = "promising",
        NeedAttention = "need_attention",
        AboutToSleep = "about_to_sleep",
        AtRisk = "at_risk",
        CantLoseThem = "cant_lose_them",
        Hibernating = "hibernating",
        Lost = "lost",
    }
);

text_enum!(
    /// Where a background run stands.
    RunState { Running = "running", Done = "done", Failed = "failed" }
);

text_enum!(
    /// How an assignment rule picks the owner: one user, or a member of a team in turn, the
    /// member with the fewest open leads, or the member with the most room for their capacity.
    AssignmentStrategy {
        User = "user",
        RoundRobin = "round_robin",
        FewestOpen = "fewest_open",
        WeightedByCapacity = "weighted_by_capacity",
    }
);

text_enum!(
    /// The lead field an assignment condition reads.
    AssignmentField {
        Country = "country",
        Region = "region",
        Postcode = "postcode",
        Industry = "industry",
        Employees = "employees",
        LeadSource = "lead_source",
        SourceCategory = "source_category",
        Grade = "grade",
        CustomField = "custom_field",
    }
);

text_enum!(
    /// How an assignment condition compares the field with its values. Text compares without
    /// regard to case; every operator but `IsNotSet` needs the field to have a value.
    ConditionOperator {
        In = "in",
        NotIn = "not_in",
        Contains = "contains",
        StartsWith = "starts_with",
        Between = "between",
        AtLeast = "at_least",
        AtMost = "at_most",
        IsSet = "is_set",
        IsNotSet = "is_not_set",
    }
);

text_enum!(
    /// The record types that carry custom fields.
    CustomFieldRecordType { Lead = "lead", Contact = "contact", Account = "account", Opportunity = "opportunity" }
);

text_enum!(
    /// What a custom field holds, which decides how its values are checked and stored.
    CustomFieldType {
        Text = "text",
        Number = "number",
        Money = "money",
        Date = "date",
        Boolean = "boolean",
        SingleSelect = "single_select",
        MultiSelect = "multi_select",
        Url = "url",
        Email = "email",
        Phone = "phone",
    }
);

text_enum!(
    /// What a write does when a dedupe rule finds a likely duplicate.
    DedupeAction { Allow = "allow", Warn = "warn", Block = "block" }
);

text_enum!(
    /// Where a dedupe rule's weights came from.
    WeightsSource { Default = "default", Estimated = "estimated", Admin = "admin" }
);

text_enum!(
    /// Where a duplicate cluster stands in review.
    ClusterStatus { Open = "open", Dismissed = "dismissed", Merged = "merged" }
);

text_enum!(
    /// Where an import run stands: waiting for a worker, under way, finished (every row has an
    /// outcome), or stopped by an error that is not any one row's.
    ImportStatus { Pending = "pending", Running = "running", Done = "done", Failed = "failed" }
);

text_enum!(
    /// What became of one imported row.
    ImportOutcome {
        Created = "created",
        Updated = "updated",
        Merged = "merged",
        Skipped = "skipped",
        Refused = "refused",
    }
);
