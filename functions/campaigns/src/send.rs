//! Sending one batch of readers. For each reader, in their own partition, a
//! record of this issue's send taken with a conditional write (a lease while
//! the mail is on its way), then the mail, then the outcome counted in the
//! same transaction that records it. So a batch delivered twice, a retried
//! invocation or a resumed campaign mails nobody twice; a send that keeps
//! failing is recorded as failed with its reason, never skipped.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::{
    operation::update_item::UpdateItemError,
    types::{
        AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
        Update,
    },
};
use chrono::Utc;
use shared::{
    campaign::{self, CampaignStatus, MAX_ATTEMPTS, SendBatch},
    campaign_store::{self, CampaignItem},
    email::EmailAddress,
    keyring::AddressId,
    mail::{IssueMail, SendError},
    store::{self, Key, StoreError},
    tokens::Purpose,
};

use crate::Campaigns;

/// Mails between two looks at the campaign's status.
const RECHECK_EVERY: usize = 20;
/// How long a send record is kept (who got which issue), then expired.
const SEND_RECORD_RETENTION: chrono::Duration = shared::mail::OUTBOX_RETENTION;

#[derive(Debug)]
pub enum BatchError {
    Store(StoreError),
    Malformed(String),
    /// Some sends failed for now; they are tried again with the batch.
    Retry(usize),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Store(error) => write!(f, "{error}"),
            BatchError::Malformed(error) => write!(f, "malformed batch: {error}"),
            BatchError::Retry(n) => write!(f, "{n} sends will be retried"),
        }
    }
}

impl From<StoreError> for BatchError {
    fn from(error: StoreError) -> Self {
        BatchError::Store(error)
    }
}

/// Every message of the queue's batch; the failed ones are reported, and
/// come back after the queue's visibility timeout.
pub async fn deliver(app: &Campaigns, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        if let Err(error) = deliver_one(app, &message).await {
            tracing::warn!(%error, message = message.message_id, "batch will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[tracing::instrument(skip_all, fields(message = message.message_id))]
async fn deliver_one(app: &Campaigns, message: &SqsMessage) -> Result<(), BatchError> {
    let batch: SendBatch = serde_json::from_str(message.body.as_deref().unwrap_or_default())
        .map_err(|e| BatchError::Malformed(e.to_string()))?;
    send_batch(app, &batch).await
}

/// What one reader's send came to.
enum Outcome {
    Done,
    Retry,
}

/// Sends one batch. A batch of a paused or cancelled campaign, or of an
/// earlier start, is dropped: a resume queues what is left afresh.
pub async fn send_batch(app: &Campaigns, batch: &SendBatch) -> Result<(), BatchError> {
    let Some(item) = campaign_store::load(&app.store, &batch.campaign).await? else {
        return Ok(());
    };
    if !is_current(&item, batch) {
        tracing::info!(
            campaign = item.id,
            status = item.status.as_str(),
            "batch dropped"
        );
        return Ok(());
    }
    let body = campaign::render(&item.body_markdown);
    let readers = addresses(app, &batch.subscribers).await?;
    let mut retries = 0;
    for (n, subscriber) in batch.subscribers.iter().enumerate() {
        // A pause or a cancel takes effect within a few mails.
        if n > 0 && n % RECHECK_EVERY == 0 && !still_current(app, batch).await? {
            tracing::info!(
                campaign = item.id,
                "batch stopped: the campaign was paused or cancelled"
            );
            return Ok(());
        }
        let address = readers.get(subscriber);
        if let Outcome::Retry = send_to(app, &item, &body, subscriber, address).await? {
            retries += 1;
        }
    }
    finish_if_done(app, &item.id).await?;
    if retries > 0 {
        Err(BatchError::Retry(retries))
    } else {
        Ok(())
    }
}

/// Whether the batch belongs to the campaign's sending as it is now.
fn is_current(item: &CampaignItem, batch: &SendBatch) -> bool {
    matches!(item.status, CampaignStatus::Sending | CampaignStatus::Sent)
        && item.generation == batch.generation
}

async fn still_current(app: &Campaigns, batch: &SendBatch) -> Result<bool, StoreError> {
    Ok(campaign_store::load(&app.store, &batch.campaign)
        .await?
        .is_some_and(|item| is_current(&item, batch)))
}

/// The addresses of the batch's confirmed readers, read consistently at
/// send time: someone who unsubscribed since the batch was made is absent.
async fn addresses(
    app: &Campaigns,
    subscribers: &[String],
) -> Result<HashMap<String, EmailAddress>, StoreError> {
    let keys: Vec<Key> = subscribers
        .iter()
        .map(|id| Key::newsletter_subscriber(&AddressId::from_trusted(id.clone())))
        .collect();
    let mut found = HashMap::new();
    for item in app.store.batch_get(&keys, "pk, email, #status").await? {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
        let confirmed = text("status").is_some_and(|s| s == "confirmed");
        let id = text("pk").and_then(|pk| Key::newsletter_subscriber_of(pk));
        let email = text("email").and_then(|e| EmailAddress::parse(e).ok());
        if let (true, Some(id), Some(email)) = (confirmed, id, email) {
            found.insert(id.to_owned(), email);
        }
    }
    Ok(found)
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A reader's send record as first written, with `extra` attributes.
fn send_record<const N: usize>(
    record: &Key,
    campaign: &str,
    status: &str,
    extra: [(&str, AttributeValue); N],
) -> HashMap<String, AttributeValue> {
    let ttl = (Utc::now() + SEND_RECORD_RETENTION).timestamp();
    [
        ("pk", text(&record.pk)),
        ("sk", text(&record.sk)),
        ("campaign", text(campaign)),
        ("status", text(status)),
        ("ttl", number(ttl)),
    ]
    .into_iter()
    .chain(extra)
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// What a claim on a reader's send found.
enum Claim {
    /// This invocation holds the send: its attempt number.
    Taken(u32),
    /// The send has its outcome (sent, failed, suppressed).
    Settled,
    /// Another invocation holds it, its lease still running: the batch comes
    /// back later, so that the reader is not lost if that one fails.
    HeldElsewhere,
}

async fn claim(
    app: &Campaigns,
    record: &Key,
    campaign: &str,
    shard: u32,
    lease: i64,
    now: i64,
) -> Result<Claim, StoreError> {
    let put = Put::builder()
        .table_name(&app.store.table)
        .set_item(Some(send_record(
            record,
            campaign,
            "sending",
            [("attempts", number(1)), ("lease_until", number(lease))],
        )))
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    let first = app
        .store
        .transact(vec![
            TransactWriteItem::builder().put(put).build(),
            campaign_store::count(&app.store.table, campaign, shard, "queued")?,
        ])
        .await;
    match first {
        Ok(_) => return Ok(Claim::Taken(1)),
        Err(error) if store::first_condition_failed(&error) => {}
        Err(error) => return Err(error.into()),
    }
    // Released after a failure, or held by an invocation that died.
    let again = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(record.attributes()))
        .update_expression("SET #status = :sending, lease_until = :lease ADD attempts :one")
        .condition_expression("#status = :retry OR (#status = :sending AND lease_until < :now)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":sending", text("sending"))
        .expression_attribute_values(":retry", text("retry"))
        .expression_attribute_values(":lease", number(lease))
        .expression_attribute_values(":now", number(now))
        .expression_attribute_values(":one", number(1))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match again {
        Ok(output) => Ok(Claim::Taken(
            output
                .attributes
                .as_ref()
                .and_then(|item| item.get("attempts"))
                .and_then(|n| n.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(MAX_ATTEMPTS),
        )),
        Err(error) if store::condition_failed(&error) => {
            let held = error
                .as_service_error()
                .and_then(|e| match e {
                    UpdateItemError::ConditionalCheckFailedException(failed) => failed.item(),
                    _ => None,
                })
                .and_then(|old| old.get("status"))
                .and_then(|status| status.as_s().ok())
                .is_some_and(|status| status == "sending");
            Ok(if held {
                Claim::HeldElsewhere
            } else {
                Claim::Settled
            })
        }
        Err(error) => Err(error.into()),
    }
}

/// A reader no longer confirmed (or whose address was suppressed) gets a
/// record that says so, counted once; a send in progress is left alone.
async fn suppress(
    app: &Campaigns,
    record: &Key,
    campaign: &str,
    shard: u32,
    now: i64,
) -> Result<(), StoreError> {
    let put = Put::builder()
        .table_name(&app.store.table)
        .set_item(Some(send_record(record, campaign, "suppressed", [])))
        .condition_expression(
            "attribute_not_exists(pk) OR #status = :retry OR (#status = :sending AND lease_until < :now)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":retry", text("retry"))
        .expression_attribute_values(":sending", text("sending"))
        .expression_attribute_values(":now", number(now))
        .build()?;
    let result = app
        .store
        .transact(vec![
            TransactWriteItem::builder().put(put).build(),
            campaign_store::count(&app.store.table, campaign, shard, "suppressed")?,
        ])
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(error) if store::first_condition_failed(&error) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Records the send's outcome and counts it, while this invocation holds it.
async fn settle(
    app: &Campaigns,
    record: &Key,
    campaign: &str,
    shard: u32,
    lease: i64,
    outcome: &'static str,
    (detail, value): (&'static str, String),
) -> Result<(), StoreError> {
    let update = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(record.attributes()))
        .condition_expression("#status = :sending AND lease_until = :lease")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":sending", text("sending"))
        .expression_attribute_values(":lease", number(lease))
        .expression_attribute_values(":outcome", text(outcome))
        .expression_attribute_values(":at", number(Utc::now().timestamp()))
        .update_expression(format!(
            "SET #status = :outcome, finished_at = :at, {detail} = :detail REMOVE lease_until"
        ))
        .expression_attribute_values(":detail", text(&value));
    let counter = match outcome {
        "sent" => "sent",
        "retry" => "retried",
        _ => "failed",
    };
    let result = app
        .store
        .transact(vec![
            TransactWriteItem::builder().update(update.build()?).build(),
            campaign_store::count(&app.store.table, campaign, shard, counter)?,
        ])
        .await;
    match result {
        Ok(_) => Ok(()),
        // The lease ran out and another invocation took the send over.
        Err(error) if store::first_condition_failed(&error) => {
            tracing::warn!(campaign, "send taken over after its lease ended");
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

async fn send_to(
    app: &Campaigns,
    campaign: &CampaignItem,
    body: &campaign::Body,
    subscriber: &str,
    address: Option<&EmailAddress>,
) -> Result<Outcome, StoreError> {
    let record = Key::campaign_send(subscriber, &campaign.id);
    let shard = campaign_store::shard_of(subscriber);
    let now = Utc::now();
    let Some(address) = address else {
        suppress(app, &record, &campaign.id, shard, now.timestamp()).await?;
        return Ok(Outcome::Done);
    };
    let lease = now.timestamp() + app.lease.as_secs() as i64;
    let attempt = match claim(app, &record, &campaign.id, shard, lease, now.timestamp()).await? {
        Claim::Taken(attempt) => attempt,
        Claim::Settled => return Ok(Outcome::Done),
        Claim::HeldElsewhere => return Ok(Outcome::Retry),
    };
    let token = app.keyring.tokens.issue(
        Purpose::NewsletterUnsubscribe,
        subscriber,
        now,
        campaign::UNSUBSCRIBE_LINK_LIFETIME,
    );
    let unsubscribe = campaign::unsubscribe_url(&app.links, &token, Some(&campaign.id));
    let mail = IssueMail {
        campaign: &campaign.id,
        subject: &campaign.subject,
        preheader: campaign.preheader.as_deref(),
        web_url: &campaign::web_url(&app.links, &campaign.slug),
        unsubscribe_url: Some(&unsubscribe),
    }
    .render(body);
    let mail = match mail {
        Ok(mail) => mail,
        Err(error) => {
            let reason = format!("rendering: {error}");
            settle(
                app,
                &record,
                &campaign.id,
                shard,
                lease,
                "failed",
                ("reason", reason),
            )
            .await?;
            return Ok(Outcome::Done);
        }
    };
    if let Some(pacer) = &app.pacer {
        pacer.lock().await.tick().await;
    }
    // The message id names the issue and the reader (by address id): a
    // resend after a crash is recognisable as the same mail.
    let mail_id = format!("{}.{subscriber}", campaign.id);
    let (outcome, detail, next) = match app.mailer.send(&mail_id, address, &mail).await {
        Ok(message_id) => ("sent", ("message_id", message_id), Outcome::Done),
        Err(SendError::Permanent(reason)) => ("failed", ("reason", reason), Outcome::Done),
        Err(SendError::Transient(reason)) if attempt >= MAX_ATTEMPTS => {
            let reason = format!("after {attempt} attempts: {reason}");
            ("failed", ("reason", reason), Outcome::Done)
        }
        Err(SendError::Transient(reason)) => ("retry", ("reason", reason), Outcome::Retry),
    };
    settle(app, &record, &campaign.id, shard, lease, outcome, detail).await?;
    Ok(next)
}

/// Marks the campaign sent once every reader of its audience has an outcome.
pub async fn finish_if_done(app: &Campaigns, campaign: &str) -> Result<(), StoreError> {
    let Some(item) = campaign_store::load(&app.store, campaign).await? else {
        return Ok(());
    };
    let Some(recipients) = item.recipients else {
        return Ok(());
    };
    if item.status != CampaignStatus::Sending {
        return Ok(());
    }
    let counts = campaign_store::counts(&app.store, &item).await?;
    if counts.settled() >= recipients
        && campaign_store::transition(&app.store, &item, CampaignStatus::Sent, None, Utc::now())
            .await?
    {
        tracing::info!(
            campaign,
            sent = counts.sent,
            failed = counts.failed,
            "campaign sent"
        );
    }
    Ok(())
}
