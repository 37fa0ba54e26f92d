//! The mailer: triggered by the table's stream, it sends every new outbox
//! mail. For each mail: claim it (a conditional write that only one
//! delivery wins, with a lease), read the recipient's address, render, send,
//! record the message id. A redelivered record finds the mail claimed or
//! sent and sends nothing. A transient failure releases the claim and
//! reports the record as failed, so Lambda retries from it (and after the
//! retries, the DLQ).
//!
//! A delivery that dies holding a claim (a crash, a timeout) leaves the mail
//! `sending`: the claim puts it on the `by_due_date` index until its lease
//! ends, and the mailer's schedule takes up every expired lease and sends
//! the mail. So every mail is sent at least once; it is sent twice only if
//! the delivery died after SES accepted it and before the send was recorded.

use std::{sync::Arc, time::Duration};

use aws_lambda_events::event::{
    dynamodb::{Event, EventRecord},
    streams::DynamoDbEventResponse,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use shared::{
    email::EmailAddress,
    mail::{Mailer, OutboxMail, OutboxStatus, SendError, SesConfigurationSets},
    store::{
        Key, Store, StoreError, due_items,
        keys::{OUTBOX_PREFIX, index},
    },
    stream::{in_order, text},
};
use tokio::sync::Mutex;

/// Mails per second one environment sends at most (SES quotas are per account;
/// the event source mapping bounds how many environments run).
pub const DEFAULT_RATE_PER_SECOND: u32 = 10;
/// A claim lasts longer than the function's timeout, so that a crashed
/// delivery's mail is claimable again later but never by two at once.
const LEASE_SECONDS: i64 = 300;

pub struct Delivery {
    pub store: Store,
    mailer: Mailer,
    pacer: Arc<Mutex<tokio::time::Interval>>,
}

impl Delivery {
    pub fn new(store: Store, mailer: Mailer, rate_per_second: u32) -> Self {
        let period = Duration::from_secs(1) / rate_per_second.max(1);
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            store,
            mailer,
            pacer: Arc::new(Mutex::new(interval)),
        }
    }
}

/// Whether a stream record is a new outbox mail (the event source mapping
/// filters the same way; this guards local runs and replays).
pub fn is_new_outbox_mail(record: &EventRecord) -> bool {
    record.event_name == "INSERT"
        && text(&record.change.new_image, "sk").is_some_and(|sk| sk.starts_with(OUTBOX_PREFIX))
}

/// The function's start: configuration, the SES client, a warm connection.
pub async fn start() -> Result<Delivery, Error> {
    let shared::aws::Start {
        sdk,
        mut env,
        store,
    } = shared::aws::start_function().await;
    let from = env.required("MAIL_FROM");
    let sets = SesConfigurationSets {
        transactional: env.required("SES_CONFIGURATION_SET_TRANSACTIONAL"),
        newsletter: env.required("SES_CONFIGURATION_SET_NEWSLETTER"),
    };
    let rate = env.parsed_or("MAIL_RATE_PER_SECOND", DEFAULT_RATE_PER_SECOND);
    let (store, sets, rate) = env.finish(|| (store, sets, rate))?;
    let mailer = Mailer::ses(aws_sdk_sesv2::Client::new(&sdk), &from, sets)?;
    let delivery = Delivery::new(store, mailer, rate);
    delivery.store.warm_up().await;
    Ok(delivery)
}

/// A batch of the table's stream, or the schedule that takes up expired leases.
pub async fn handle(delivery: &Delivery, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let event = event.payload;
    if event.get("Records").is_some() {
        let batch: Event = serde_json::from_value(event)?;
        return Ok(serde_json::to_value(deliver(delivery, &batch).await)?);
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let resent = expired_leases(delivery, Utc::now()).await?;
        return Ok(json!({ "expired_leases": resent }));
    }
    Err("unexpected event: neither a stream batch nor the lease schedule".into())
}

/// Sends the mails whose delivery died holding them (lease ended by `now`).
#[tracing::instrument(skip_all)]
pub async fn expired_leases(delivery: &Delivery, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let until = lease_due(now.timestamp());
    let due = due_items(&delivery.store, index::mail_lease_due_partitions(), &until).await?;
    let mut resent = 0;
    for item in due {
        let mail: OutboxMail = match serde_dynamo::from_item(item) {
            Ok(mail) => mail,
            Err(error) => {
                tracing::error!(%error, "unreadable leased mail skipped");
                continue;
            }
        };
        match send(delivery, &mail, now.timestamp()).await {
            Ok(()) => resent += 1,
            // Left on the index: the next run tries again.
            Err(error) => tracing::warn!(%error, mail = mail.id, "leased mail will be retried"),
        }
    }
    tracing::info!(resent, "expired mail leases taken up");
    Ok(resent)
}

/// A lease end as a due key: fixed width, so that text order is time order.
fn lease_due(epoch_seconds: i64) -> String {
    format!("{epoch_seconds:010}")
}

/// Delivers a batch in order and stops at the first transient failure: Lambda
/// retries a stream batch from the lowest failed sequence number, so the
/// records after it will come again.
pub async fn deliver(delivery: &Delivery, event: &Event) -> DynamoDbEventResponse {
    in_order(event, |record| async move {
        if is_new_outbox_mail(record) {
            deliver_one(delivery, record).await
        } else {
            Ok(())
        }
    })
    .await
}

#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Send(SendError),
    #[error("malformed outbox record: {0}")]
    Malformed(String),
}

#[tracing::instrument(skip_all, fields(sequence = record.change.sequence_number))]
async fn deliver_one(delivery: &Delivery, record: &EventRecord) -> Result<(), DeliveryError> {
    let mail: OutboxMail = serde_dynamo::from_item(record.change.new_image.clone())
        .map_err(|e| DeliveryError::Malformed(e.to_string()))?;
    send(delivery, &mail, Utc::now().timestamp()).await
}

/// Claims `mail` (queued, or held by a delivery whose lease ended by `now`)
/// and sends it.
async fn send(delivery: &Delivery, mail: &OutboxMail, now: i64) -> Result<(), DeliveryError> {
    let lease = now + LEASE_SECONDS;
    let Some(mail) = claim(&delivery.store, &mail.key(), now, lease).await? else {
        tracing::info!(mail = mail.id, "mail already claimed or sent");
        return Ok(());
    };
    let address = match recipient(&delivery.store, &mail.recipient).await? {
        Recipient::Reachable(address) => address,
        Recipient::Gone => {
            finish(&delivery.store, &mail, lease, OutboxStatus::Dropped, None).await?;
            tracing::info!(mail = mail.id, "mail dropped: recipient gone");
            return Ok(());
        }
        Recipient::Unreachable => {
            finish(
                &delivery.store,
                &mail,
                lease,
                OutboxStatus::Suppressed,
                None,
            )
            .await?;
            tracing::info!(
                mail = mail.id,
                "mail suppressed: the address bounced or complained"
            );
            return Ok(());
        }
    };
    let rendered = match mail.mail.render() {
        Ok(rendered) => rendered,
        Err(error) => {
            finish(&delivery.store, &mail, lease, OutboxStatus::Failed, None).await?;
            tracing::error!(mail = mail.id, %error, "mail could not be rendered");
            return Ok(());
        }
    };
    delivery.pacer.lock().await.tick().await;
    match delivery.mailer.send(&mail.id, &address, &rendered).await {
        Ok(message_id) => {
            finish(
                &delivery.store,
                &mail,
                lease,
                OutboxStatus::Sent,
                Some(&message_id),
            )
            .await?;
            tracing::info!(mail = mail.id, message_id, "mail sent");
            Ok(())
        }
        Err(SendError::Permanent(error)) => {
            finish(&delivery.store, &mail, lease, OutboxStatus::Failed, None).await?;
            tracing::error!(mail = mail.id, %error, "mail refused by the mail service");
            Ok(())
        }
        Err(error) => {
            release(&delivery.store, &mail, lease).await?;
            Err(DeliveryError::Send(error))
        }
    }
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn status(value: OutboxStatus) -> AttributeValue {
    serde_dynamo::to_attribute_value(value).expect("a unit variant serializes")
}

/// Takes the mail for this delivery: queued, or claimed by one whose lease ran out.
#[tracing::instrument(skip_all)]
async fn claim(
    store: &Store,
    key: &Key,
    now: i64,
    lease: i64,
) -> Result<Option<OutboxMail>, StoreError> {
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(key.attributes()))
        .update_expression(
            "SET #status = :sending, lease_until = :lease, due_pk = :due_pk, due_sk = :due_sk",
        )
        .condition_expression("#status = :queued OR (#status = :sending AND lease_until < :now)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":due_pk", AttributeValue::S(index::mail_lease_due(&key.sk)))
        .expression_attribute_values(":due_sk", AttributeValue::S(lease_due(lease)))
        .expression_attribute_values(":sending", status(OutboxStatus::Sending))
        .expression_attribute_values(":queued", status(OutboxStatus::Queued))
        .expression_attribute_values(":lease", number(lease))
        .expression_attribute_values(":now", number(now))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(output) => Ok(Some(serde_dynamo::from_item(
            output.attributes.unwrap_or_default(),
        )?)),
        Err(error) if shared::store::condition_failed(&error) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

enum Recipient {
    Reachable(EmailAddress),
    /// Erased or unsubscribed: no address left.
    Gone,
    /// Marked unreachable by the mail events (hard bounce, complaint).
    Unreachable,
}

/// The recipient's address, read at send time.
#[tracing::instrument(skip_all)]
async fn recipient(store: &Store, recipient: &Key) -> Result<Recipient, StoreError> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(recipient.attributes()))
        .projection_expression("email, unreachable")
        .consistent_read(true)
        .send()
        .await?;
    let item = output.item.unwrap_or_default();
    if item.contains_key("unreachable") {
        return Ok(Recipient::Unreachable);
    }
    Ok(item
        .get("email")
        .and_then(|email| email.as_s().ok())
        .and_then(|email| EmailAddress::parse(email).ok())
        .map_or(Recipient::Gone, Recipient::Reachable))
}

/// Records the outcome, only while this delivery still holds the claim. The
/// parameters (which hold the links' tokens) are not kept after the send.
#[tracing::instrument(skip_all)]
async fn finish(
    store: &Store,
    mail: &OutboxMail,
    lease: i64,
    outcome: OutboxStatus,
    message_id: Option<&str>,
) -> Result<(), StoreError> {
    let mut update = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(mail.key().attributes()))
        .update_expression("SET #status = :outcome, finished_at = :now, message_id = :message_id REMOVE lease_until, due_pk, due_sk, #mail.params")
        .condition_expression("#status = :sending AND lease_until = :lease")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#mail", "mail")
        .expression_attribute_values(":outcome", status(outcome))
        .expression_attribute_values(":sending", status(OutboxStatus::Sending))
        .expression_attribute_values(":lease", number(lease))
        .expression_attribute_values(":now", number(Utc::now().timestamp()));
    update = match message_id {
        Some(id) => {
            update.expression_attribute_values(":message_id", AttributeValue::S(id.to_owned()))
        }
        None => update.expression_attribute_values(":message_id", AttributeValue::Null(true)),
    };
    update.send().await?;
    Ok(())
}

/// Gives the mail back after a transient failure, for the retry: queued,
/// and due at once on the lease index. A stream delivery retries its
/// record; the lease schedule, whose failed send no record brings back,
/// finds it there at its next run (whichever claims it first sends it).
#[tracing::instrument(skip_all)]
async fn release(store: &Store, mail: &OutboxMail, lease: i64) -> Result<(), StoreError> {
    store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(mail.key().attributes()))
        .update_expression("SET #status = :queued, due_sk = :due REMOVE lease_until")
        .condition_expression("#status = :sending AND lease_until = :lease")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":queued", status(OutboxStatus::Queued))
        .expression_attribute_values(":sending", status(OutboxStatus::Sending))
        .expression_attribute_values(":lease", number(lease))
        .expression_attribute_values(":due", AttributeValue::S(lease_due(Utc::now().timestamp())))
        .send()
        .await?;
    Ok(())
}
