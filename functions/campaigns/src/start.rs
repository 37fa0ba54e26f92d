//! Starting an issue's sending: its stream record (status now `sending`,
//! a new generation) has the confirmed subscribers read from their sharded
//! index and queued in batches. A retried record queues them again, which
//! sends nothing twice: each reader's send is a conditional record.

use aws_lambda_events::event::{dynamodb::Event, streams::DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use shared::{
    campaign::{BATCH_SIZE, CampaignStatus, SendBatch},
    campaign_store::{self, CampaignItem},
    store::{self, Key, StoreError, keys::index, query_all},
    stream::{in_order, text},
};

use crate::Campaigns;

#[derive(Debug)]
pub enum StartError {
    Store(StoreError),
    Queue(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Store(error) => write!(f, "{error}"),
            StartError::Queue(error) => write!(f, "queue: {error}"),
        }
    }
}

impl From<StoreError> for StartError {
    fn from(error: StoreError) -> Self {
        StartError::Store(error)
    }
}

/// The (campaign, generation) a stream record starts, if it starts one.
fn started(record: &aws_lambda_events::event::dynamodb::EventRecord) -> Option<(String, u32)> {
    let new = &record.change.new_image;
    let old = &record.change.old_image;
    let generation = |image: &serde_dynamo::Item| match image.get("generation") {
        Some(serde_dynamo::AttributeValue::N(n)) => n.parse::<u32>().ok(),
        _ => None,
    };
    let is_start = text(new, "sk") == Some(shared::store::keys::sort::CAMPAIGN)
        && text(new, "status") == Some(CampaignStatus::Sending.as_str())
        && generation(new) != generation(old);
    is_start.then(|| Some((text(new, "id")?.to_owned(), generation(new)?)))?
}

pub async fn deliver(app: &Campaigns, batch: &Event) -> DynamoDbEventResponse {
    in_order(batch, |record| async move {
        match started(record) {
            Some((campaign, generation)) => enqueue(app, &campaign, generation).await.map(drop),
            None => Ok(()),
        }
    })
    .await
}

/// Queues every confirmed subscriber of the campaign's `generation`;
/// returns how many. Nothing when the campaign moved on (paused, resumed
/// again, cancelled) since the record was written.
#[tracing::instrument(skip(app))]
pub async fn enqueue(app: &Campaigns, campaign: &str, generation: u32) -> Result<u64, StartError> {
    let Some(item) = campaign_store::load(&app.store, campaign).await? else {
        return Ok(0);
    };
    if item.status != CampaignStatus::Sending || item.generation != generation {
        tracing::info!(campaign, generation, "superseded start skipped");
        return Ok(0);
    }
    let shards = index::subscribers_list_partitions().map(|shard| readers(app, shard));
    let readers: Vec<String> = try_join_all(shards).await?.concat();
    let total = readers.len() as u64;
    match item.recipients {
        None => record_recipients(app, campaign, total, true).await?,
        // A resume: who has an outcome keeps it; who left the list while it
        // was paused will not be sent to, so the audience is counted again.
        Some(_) => {
            let settled = campaign_store::counts(&app.store, &item).await?.settled();
            let open = unsettled(app, campaign, &readers).await?;
            record_recipients(app, campaign, settled + open, false).await?;
        }
    }
    let batches: Vec<SendBatch> = readers
        .chunks(BATCH_SIZE)
        .map(|chunk| SendBatch {
            campaign: campaign.to_owned(),
            generation,
            subscribers: chunk.to_vec(),
        })
        .collect();
    app.queue.send(batches).await.map_err(StartError::Queue)?;
    tracing::info!(campaign, generation, readers = total, "campaign queued");
    crate::send::finish_if_done(app, campaign).await?;
    Ok(total)
}

/// The confirmed subscribers of one shard of the list.
async fn readers(app: &Campaigns, shard: String) -> Result<Vec<String>, StartError> {
    let query = app
        .store
        .client
        .query()
        .table_name(&app.store.table)
        .index_name(index::BY_LIST)
        .key_condition_expression("list_pk = :shard")
        .expression_attribute_values(":shard", AttributeValue::S(shard))
        .projection_expression("list_sk");
    Ok(query_all(query)
        .await?
        .into_iter()
        .filter_map(|item| item.get("list_sk")?.as_s().ok().cloned())
        .collect())
}

/// How many of `readers` have no outcome for the campaign yet.
async fn unsettled(app: &Campaigns, campaign: &str, readers: &[String]) -> Result<u64, StoreError> {
    let records: Vec<Key> = readers
        .iter()
        .map(|reader| Key::campaign_send(reader, campaign))
        .collect();
    let settled = app
        .store
        .batch_get(&records, "#status")
        .await?
        .iter()
        .filter(|record| {
            record
                .get("status")
                .and_then(|s| s.as_s().ok())
                .is_some_and(|s| matches!(s.as_str(), "sent" | "failed" | "suppressed"))
        })
        .count() as u64;
    Ok(readers.len() as u64 - settled)
}

/// The campaign's audience: written at its first start (`first`: only if
/// none is yet, so that a retried start changes nothing), counted again at
/// each resume.
async fn record_recipients(
    app: &Campaigns,
    campaign: &str,
    total: u64,
    first: bool,
) -> Result<(), StoreError> {
    let condition = if first {
        "attribute_exists(pk) AND attribute_not_exists(recipients)"
    } else {
        "attribute_exists(pk)"
    };
    let result = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::campaign(campaign).attributes()))
        .update_expression("SET recipients = :total")
        .condition_expression(condition)
        .expression_attribute_values(":total", AttributeValue::N(total.to_string()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(error) if store::condition_failed(&error) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The schedule: every issue whose sending time has come starts (its
/// stream record then queues it). Returns how many started.
#[tracing::instrument(skip(app))]
pub async fn scheduled(app: &Campaigns, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let due = query_all(
        app.store
            .due(index::CAMPAIGNS_DUE.into(), &store::timestamp(now)),
    )
    .await?;
    let mut started = 0;
    for item in due {
        let listed: CampaignItem = serde_dynamo::from_item(item)?;
        // The index lags: a time moved later just now is read afresh.
        let Some(campaign) = campaign_store::load(&app.store, &listed.id).await? else {
            continue;
        };
        let time_has_come = campaign.send_at.is_none_or(|at| at <= now);
        if campaign.status == CampaignStatus::Scheduled
            && time_has_come
            && campaign_store::transition(&app.store, &campaign, CampaignStatus::Sending, None, now)
                .await?
        {
            tracing::info!(campaign = campaign.id, "scheduled campaign started");
            started += 1;
        }
    }
    Ok(started)
}
