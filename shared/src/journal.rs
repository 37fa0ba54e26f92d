//! An association's journal: who did what to which request, pair or team
//! member, and when. Written in the transaction of the change it records,
//! so that no change is without its entry; read by the association's
//! admins. It names requests and pairs by their random ids only: nothing
//! of the young person (not even a decline's reason) is copied here.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    staff::StaffAccount,
    store::{Item, Key, Store, StoreError},
};

/// How long an entry is kept.
pub const JOURNAL_RETENTION: Duration = Duration::days(365);

/// Who acted: a signed-in staff member, or a program holding the
/// association's API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "Qui a agi : un membre de l'équipe, ou un programme avec une clé d'API (`api_key`)."
)]
pub struct Actor {
    /// The staff member's account id; `api_key` for a program.
    pub id: String,
    /// Their name when they acted (kept if they leave the team).
    pub name: String,
}

impl Actor {
    pub fn staff(account: &StaffAccount) -> Self {
        Self {
            id: account.id.clone(),
            name: account.name.clone(),
        }
    }

    pub fn api_key() -> Self {
        Self {
            id: "api_key".into(),
            name: "Clé d'API".into(),
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "Ce qui a été fait ; `label` le dit en mots.")]
pub enum Action {
    RequestAcknowledged,
    RequestDeclined,
    HonorabilityRecorded,
    DraftApproved,
    DraftRejected,
    DraftSkipped,
    PairProposed,
    PairClosed,
    SettingsChanged,
    ApiKeyCreated,
    ApiKeyRevoked,
    MemberInvited,
    MemberRoleChanged,
    MemberRemoved,
}

impl Action {
    /// In the journal's words.
    pub fn label(self) -> &'static str {
        match self {
            Action::RequestAcknowledged => "Demande prise en charge",
            Action::RequestDeclined => "Demande déclinée",
            Action::HonorabilityRecorded => "Honorabilité vérifiée",
            Action::DraftApproved => "Binôme approuvé et proposé",
            Action::DraftRejected => "Binôme rejeté",
            Action::DraftSkipped => "Binôme approuvé, non proposé (personne plus disponible)",
            Action::PairProposed => "Binôme proposé à la main",
            Action::PairClosed => "Binôme clos",
            Action::SettingsChanged => "Réglages modifiés",
            Action::ApiKeyCreated => "Clé d'API créée",
            Action::ApiKeyRevoked => "Clé d'API révoquée",
            Action::MemberInvited => "Membre invité·e",
            Action::MemberRoleChanged => "Rôle modifié",
            Action::MemberRemoved => "Membre retiré·e",
        }
    }
}

/// One entry (`JOURNAL#<slug>` / `<instant>#<random id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: Action,
    /// The request's or pair's id, or the team member's account id.
    pub target: String,
    /// For a team change: the member's name and role (staff data, not a young person's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Entry {
    pub fn new(actor: Actor, action: Action, target: &str, at: DateTime<Utc>) -> Self {
        Self {
            at,
            actor,
            action,
            target: target.to_owned(),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The write that records it, in the transaction of what it records.
    pub fn transact_put(&self, table: &str, slug: &str) -> Result<TransactWriteItem, StoreError> {
        let mut item: Item = serde_dynamo::to_item(self)?;
        let key = Key::journal_entry(slug, self.at, &uuid::Uuid::new_v4().simple().to_string());
        for (name, value) in key.attributes() {
            item.insert(name, value);
        }
        item.insert(
            "ttl".into(),
            AttributeValue::N((self.at + JOURNAL_RETENTION).timestamp().to_string()),
        );
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// The association's latest entries, newest first.
#[tracing::instrument(skip_all, fields(association = slug))]
pub async fn latest(store: &Store, slug: &str, limit: i32) -> Result<Vec<Entry>, StoreError> {
    let page = store
        .client
        .query()
        .table_name(&store.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(Key::journal_partition(slug)))
        .scan_index_forward(false)
        .limit(limit)
        .send()
        .await?;
    // An entry this code cannot read (written by a newer version) is left
    // out, not the whole journal.
    Ok(page
        .items()
        .iter()
        .filter_map(|item| match serde_dynamo::from_item(item.clone()) {
            Ok(entry) => Some(entry),
            Err(error) => {
                tracing::warn!(%error, "unreadable journal entry skipped");
                None
            }
        })
        .collect())
}
