//! Write operations. Each record type has the same four: create, update, archive and restore,
//! answering a payload that holds the record as it now is.

use async_graphql::{Context, ID, Object, SimpleObject};
use entity::{account, activity, campaign, contact, lead, opportunity};

use crate::{
    error::Result,
    graphql::{
        ContextExt,
        changes::{
            AccountInput, ActivityInput, CampaignInput, ContactInput, LeadInput, NewUserInput,
            OpportunityInput, UserChangesInput, uuid,
        },
        dedupe::{self, DuplicateCandidate},
        types::{Account, Activity, Campaign, Contact, Lead, Opportunity, Team, User},
    },
    quality::dedupe::{check::Checked, writes},
    services::{activities, campaigns, records, sessions, users},
};

#[derive(Default)]
pub struct RecordsMutation;

/// A new session: a short-lived access token for `Authorization: Bearer`, and a single-use
/// refresh token for `refreshSession`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: User,
}

impl From<sessions::SessionTokens> for AuthPayload {
    fn from(s: sessions::SessionTokens) -> Self {
        AuthPayload {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_in: s.expires_in,
            user: User(s.user),
        }
    }
}

#[derive(SimpleObject)]
pub struct UserPayload {
    pub user: User,
}

#[derive(SimpleObject)]
pub struct TeamPayload {
    pub team: Team,
}

#[derive(SimpleObject)]
pub struct LeadPayload {
    pub lead: Lead,
    /// The likely duplicates a warning rule found on this write, surest first (those the
    /// caller may see); empty when none.
    pub duplicates: Vec<DuplicateCandidate>,
}

impl LeadPayload {
    fn of(lead: lead::Model) -> Self {
        LeadPayload {
            lead: Lead(lead),
            duplicates: Vec::new(),
        }
    }

    fn checked(written: Checked<lead::Model>) -> Self {
        LeadPayload {
            lead: Lead(written.model),
            duplicates: dedupe::candidates(written.duplicates),
        }
    }
}

#[derive(SimpleObject)]
pub struct ContactPayload {
    pub contact: Contact,
    /// The likely duplicates a warning rule found on this write, surest first (those the
    /// caller may see); empty when none.
    pub duplicates: Vec<DuplicateCandidate>,
}

impl ContactPayload {
    fn of(contact: contact::Model) -> Self {
        ContactPayload {
            contact: Contact(contact),
            duplicates: Vec::new(),
        }
    }

    fn checked(written: Checked<contact::Model>) -> Self {
        ContactPayload {
            contact: Contact(written.model),
            duplicates: dedupe::candidates(written.duplicates),
        }
    }
}

#[derive(SimpleObject)]
pub struct AccountPayload {
    pub account: Account,
    /// The likely duplicates a warning rule found on this write, surest first (those the
    /// caller may see); empty when none.
    pub duplicates: Vec<DuplicateCandidate>,
}

impl AccountPayload {
    fn of(account: account::Model) -> Self {
        AccountPayload {
            account: Account(account),
            duplicates: Vec::new(),
        }
    }

    fn checked(written: Checked<account::Model>) -> Self {
        AccountPayload {
            account: Account(written.model),
            duplicates: dedupe::candidates(written.duplicates),
        }
    }
}

#[derive(SimpleObject)]
pub struct OpportunityPayload {
    pub opportunity: Opportunity,
    /// The likely duplicates a warning rule found on this write, surest first (those the
    /// caller may see); empty when none.
    pub duplicates: Vec<DuplicateCandidate>,
}

impl OpportunityPayload {
    fn of(opportunity: opportunity::Model) -> Self {
        OpportunityPayload {
            opportunity: Opportunity(opportunity),
            duplicates: Vec::new(),
        }
    }

    fn checked(written: Checked<opportunity::Model>) -> Self {
        OpportunityPayload {
            opportunity: Opportunity(written.model),
            duplicates: dedupe::candidates(written.duplicates),
        }
    }
}

#[derive(SimpleObject)]
pub struct ActivityPayload {
    pub activity: Activity,
}

#[derive(SimpleObject)]
pub struct CampaignPayload {
    pub campaign: Campaign,
}

#[Object]
impl RecordsMutation {
    /// Signs in with email and password. Unknown email and wrong password answer alike.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<AuthPayload> {
        let ip = ctx.request().and_then(|r| r.ip);
        Ok(sessions::login(ctx.services(), &email, &password, ip)
            .await?
            .into())
    }

    /// Trades a refresh token for a new session; the presented token is spent. Presenting a
    /// spent token revokes its whole session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> Result<AuthPayload> {
        Ok(sessions::refresh(ctx.services(), &refresh_token)
            .await?
            .into())
    }

    /// Ends the current session: its refresh tokens stop working.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        sessions::logout(ctx.services(), ctx.actor()?).await?;
        Ok(true)
    }

    async fn create_user(&self, ctx: &Context<'_>, input: NewUserInput) -> Result<UserPayload> {
        let user = users::create(&ctx.services().db, ctx.actor()?, input.into_new()?).await?;
        Ok(UserPayload { user: User(user) })
    }

    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UserChangesInput,
    ) -> Result<UserPayload> {
        let user = users::update(
            ctx.services(),
            ctx.actor()?,
            uuid("id", &id)?,
            input.into_changes()?,
        )
        .await?;
        Ok(UserPayload { user: User(user) })
    }

    async fn create_team(&self, ctx: &Context<'_>, name: String) -> Result<TeamPayload> {
        let team = users::create_team(&ctx.services().db, ctx.actor()?, &name).await?;
        Ok(TeamPayload { team: Team(team) })
    }

    async fn create_lead(&self, ctx: &Context<'_>, input: LeadInput) -> Result<LeadPayload> {
        let changes = input.into_changes()?;
        let written = writes::create_lead(ctx.services(), ctx.actor()?, changes).await?;
        Ok(LeadPayload::checked(written))
    }

    async fn update_lead(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: LeadInput,
    ) -> Result<LeadPayload> {
        let written = writes::update_lead(
            ctx.services(),
            ctx.actor()?,
            uuid("id", &id)?,
            input.into_changes()?,
        )
        .await?;
        Ok(LeadPayload::checked(written))
    }

    /// Hides the lead from lists; it stays readable by id.
    async fn archive_lead(&self, ctx: &Context<'_>, id: ID) -> Result<LeadPayload> {
        let lead = records::archive::<lead::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
            .await?;
        Ok(LeadPayload::of(lead))
    }

    async fn restore_lead(&self, ctx: &Context<'_>, id: ID) -> Result<LeadPayload> {
        let lead = records::restore::<lead::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
            .await?;
        Ok(LeadPayload::of(lead))
    }

    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        input: ContactInput,
    ) -> Result<ContactPayload> {
        let written =
            writes::create_contact(ctx.services(), ctx.actor()?, input.into_changes()?).await?;
        Ok(ContactPayload::checked(written))
    }

    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ContactInput,
    ) -> Result<ContactPayload> {
        let written = writes::update_contact(
            ctx.services(),
            ctx.actor()?,
            uuid("id", &id)?,
            input.into_changes()?,
        )
        .await?;
        Ok(ContactPayload::checked(written))
    }

    /// Hides the contact from lists; it stays readable by id.
    async fn archive_contact(&self, ctx: &Context<'_>, id: ID) -> Result<ContactPayload> {
        let contact =
            records::archive::<contact::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(ContactPayload::of(contact))
    }

    async fn restore_contact(&self, ctx: &Context<'_>, id: ID) -> Result<ContactPayload> {
        let contact =
            records::restore::<contact::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(ContactPayload::of(contact))
    }

    async fn create_account(
        &self,
        ctx: &Context<'_>,
        input: AccountInput,
    ) -> Result<AccountPayload> {
        let written =
            writes::create_account(ctx.services(), ctx.actor()?, input.into_changes()?).await?;
        Ok(AccountPayload::checked(written))
    }

    async fn update_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: AccountInput,
    ) -> Result<AccountPayload> {
        let written = writes::update_account(
            ctx.services(),
            ctx.actor()?,
            uuid("id", &id)?,
            input.into_changes()?,
        )
        .await?;
        Ok(AccountPayload::checked(written))
    }

    /// Hides the account from lists; it stays readable by id.
    async fn archive_account(&self, ctx: &Context<'_>, id: ID) -> Result<AccountPayload> {
        let account =
            records::archive::<account::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(AccountPayload::of(account))
    }

    async fn restore_account(&self, ctx: &Context<'_>, id: ID) -> Result<AccountPayload> {
        let account =
            records::restore::<account::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(AccountPayload::of(account))
    }

    async fn create_opportunity(
        &self,
        ctx: &Context<'_>,
        input: OpportunityInput,
    ) -> Result<OpportunityPayload> {
        let written =
            writes::create_opportunity(ctx.services(), ctx.actor()?, input.into_changes()?).await?;
        Ok(OpportunityPayload::checked(written))
    }

    async fn update_opportunity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: OpportunityInput,
    ) -> Result<OpportunityPayload> {
        let written = writes::update_opportunity(
            ctx.services(),
            ctx.actor()?,
            uuid("id", &id)?,
            input.into_changes()?,
        )
        .await?;
        Ok(OpportunityPayload::checked(written))
    }

    /// Hides the opportunity from lists; it stays readable by id.
    async fn archive_opportunity(&self, ctx: &Context<'_>, id: ID) -> Result<OpportunityPayload> {
        let opportunity =
            records::archive::<opportunity::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(OpportunityPayload::of(opportunity))
    }

    async fn restore_opportunity(&self, ctx: &Context<'_>, id: ID) -> Result<OpportunityPayload> {
        let opportunity =
            records::restore::<opportunity::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(OpportunityPayload::of(opportunity))
    }

    async fn create_activity(
        &self,
        ctx: &Context<'_>,
        input: ActivityInput,
    ) -> Result<ActivityPayload> {
        let activity =
            activities::create(ctx.services(), ctx.actor()?, input.into_changes()?).await?;
        Ok(ActivityPayload {
            activity: Activity(activity),
        })
    }

    async fn update_activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ActivityInput,
    ) -> Result<ActivityPayload> {
        let activity = activities::update(
            ctx.services(),
            ctx.actor()?,
            uuid("id", &id)?,
            input.into_changes()?,
        )
        .await?;
        Ok(ActivityPayload {
            activity: Activity(activity),
        })
    }

    /// Hides the activity from lists; it stays readable by id.
    async fn archive_activity(&self, ctx: &Context<'_>, id: ID) -> Result<ActivityPayload> {
        let activity =
            records::archive::<activity::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(ActivityPayload {
            activity: Activity(activity),
        })
    }

    async fn restore_activity(&self, ctx: &Context<'_>, id: ID) -> Result<ActivityPayload> {
        let activity =
            records::restore::<activity::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(ActivityPayload {
            activity: Activity(activity),
        })
    }

    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        input: CampaignInput,
    ) -> Result<CampaignPayload> {
        let campaign =
            campaigns::create(ctx.services(), ctx.actor()?, input.into_changes()).await?;
        Ok(CampaignPayload {
            campaign: Campaign(campaign),
        })
    }

    async fn update_campaign(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: CampaignInput,
    ) -> Result<CampaignPayload> {
        let campaign = campaigns::update(
            ctx.services(),
            ctx.actor()?,
            uuid("id", &id)?,
            input.into_changes(),
        )
        .await?;
        Ok(CampaignPayload {
            campaign: Campaign(campaign),
        })
    }

    /// Hides the campaign from lists; it stays readable by id.
    async fn archive_campaign(&self, ctx: &Context<'_>, id: ID) -> Result<CampaignPayload> {
        let campaign =
            records::archive::<campaign::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(CampaignPayload {
            campaign: Campaign(campaign),
        })
    }

    async fn restore_campaign(&self, ctx: &Context<'_>, id: ID) -> Result<CampaignPayload> {
        let campaign =
            records::restore::<campaign::Entity>(ctx.services(), ctx.actor()?, uuid("id", &id)?)
                .await?;
        Ok(CampaignPayload {
            campaign: Campaign(campaign),
        })
    }
}
