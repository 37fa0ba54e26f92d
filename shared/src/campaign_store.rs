//! Newsletter issues in the table: the campaign item, its sharded counters,
//! and the updates that count on them inside a caller's transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    campaign::{CampaignStatus, Counts},
    store::{Key, Store, StoreError, keys::index},
};

/// Counter shards per campaign: a campaign at 200 mails/s writes each about
/// 50 times a second, far under a partition's limit.
pub const COUNT_SHARDS: u32 = 8;

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignItem {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub slug: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preheader: Option<String>,
    pub body_markdown: String,
    pub status: CampaignStatus,
    /// How many times its sending started (send, then each resume).
    #[serde(default)]
    pub generation: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Confirmed subscribers when its sending first started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_sk: Option<String>,
}

impl CampaignItem {
    /// A new draft, nothing sent.
    pub fn draft(id: &str, draft: crate::campaign::Draft, now: DateTime<Utc>) -> Self {
        let key = Key::campaign(id);
        Self {
            pk: key.pk,
            sk: key.sk,
            id: id.to_owned(),
            slug: crate::campaign::slug(&draft.subject, id),
            subject: draft.subject,
            preheader: draft.preheader,
            body_markdown: draft.body_markdown,
            status: CampaignStatus::Draft,
            generation: 0,
            created_at: now,
            updated_at: now,
            send_at: None,
            started_at: None,
            finished_at: None,
            recipients: None,
            list_pk: None,
            list_sk: None,
            due_pk: None,
            due_sk: None,
        }
    }
}

/// The campaign, read consistently; `None` when there is none with this id.
#[tracing::instrument(skip(store))]
pub async fn load(store: &Store, campaign_id: &str) -> Result<Option<CampaignItem>, StoreError> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::campaign(campaign_id).attributes()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(match output.item {
        Some(item) => Some(serde_dynamo::from_item(item)?),
        None => None,
    })
}

/// The shard a recipient's events count on.
pub fn shard_of(subscriber: &str) -> u32 {
    subscriber.bytes().map(u32::from).sum::<u32>() % COUNT_SHARDS
}

/// `ADD counter :1` on one shard of a campaign's counters, for a transaction.
pub fn count(
    table: &str,
    campaign_id: &str,
    shard: u32,
    counter: &'static str,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::campaign_counts(campaign_id, shard).attributes()))
        .update_expression("ADD #counter :one")
        .expression_attribute_names("#counter", counter)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The campaign's figures: the counters of every shard added up.
#[tracing::instrument(skip(store))]
pub async fn counts(store: &Store, campaign: &CampaignItem) -> Result<Counts, StoreError> {
    let keys: Vec<Key> = (0..COUNT_SHARDS)
        .map(|shard| Key::campaign_counts(&campaign.id, shard))
        .collect();
    let mut totals = Counts {
        recipients: campaign.recipients.unwrap_or_default(),
        ..Counts::default()
    };
    for item in store.batch_get(&keys, &Counts::SHARDED.join(", ")).await? {
        add_shard(&mut totals, &item);
    }
    Ok(totals)
}

fn add_shard(totals: &mut Counts, item: &HashMap<String, AttributeValue>) {
    for counter in Counts::SHARDED {
        let value = item
            .get(counter)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        totals.add(counter, value);
    }
}

/// Moves the campaign from the status and generation it was read in to `to`.
/// `false` when it changed in between (another request, the sender): the
/// caller reads it again.
#[tracing::instrument(skip(store, campaign), fields(campaign = campaign.id))]
pub async fn transition(
    store: &Store,
    campaign: &CampaignItem,
    to: CampaignStatus,
    send_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let now_text = crate::store::timestamp(now);
    let mut update = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(Key::campaign(&campaign.id).attributes()))
        .condition_expression("#status = :from AND generation = :generation")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":from", status_value(campaign.status))
        .expression_attribute_values(":to", status_value(to))
        .expression_attribute_values(":generation", number(campaign.generation.into()))
        .expression_attribute_values(":now", AttributeValue::S(now_text.clone()));
    let expression = match to {
        CampaignStatus::Scheduled => {
            let at = crate::store::timestamp(send_at.unwrap_or(now));
            update = update
                .expression_attribute_values(":at", AttributeValue::S(at.clone()))
                .expression_attribute_values(
                    ":due_pk",
                    AttributeValue::S(index::CAMPAIGNS_DUE.into()),
                )
                .expression_attribute_values(":due_sk", AttributeValue::S(at));
            "SET #status = :to, send_at = :at, due_pk = :due_pk, due_sk = :due_sk, updated_at = :now"
        }
        CampaignStatus::Sending => {
            update = update
                .expression_attribute_values(":next", number(u64::from(campaign.generation) + 1))
                .expression_attribute_values(
                    ":list_pk",
                    AttributeValue::S(index::ISSUES_LIST.into()),
                )
                .expression_attribute_values(
                    ":list_sk",
                    AttributeValue::S(index::issue_list_sort(&now_text, &campaign.id)),
                );
            "SET #status = :to, generation = :next, started_at = if_not_exists(started_at, :now), \
             list_pk = :list_pk, list_sk = if_not_exists(list_sk, :list_sk), updated_at = :now \
             REMOVE due_pk, due_sk"
        }
        CampaignStatus::Cancelled => {
            "SET #status = :to, finished_at = :now, updated_at = :now REMOVE list_pk, list_sk, due_pk, due_sk"
        }
        CampaignStatus::Sent => "SET #status = :to, finished_at = :now, updated_at = :now",
        CampaignStatus::Draft | CampaignStatus::Paused => "SET #status = :to, updated_at = :now",
    };
    match update.update_expression(expression).send().await {
        Ok(_) => Ok(true),
        Err(error) if crate::store::condition_failed(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn status_value(status: CampaignStatus) -> AttributeValue {
    AttributeValue::S(status.as_str().into())
}
