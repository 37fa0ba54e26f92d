//! The `mail-events` function: SES publishes every bounce, complaint and
//! delivery of both configuration sets to an SNS topic, which invokes it.
//!
//! - Each event is counted once (SNS delivers at least once): a marker item
//!   per (message, event, address) is written in the same transaction as
//!   the counters of the issue it belongs to (its `campaign` tag).
//! - A hard bounce, a complaint, or three soft bounces in a row (a delivery
//!   resets the run) suppress the address: the newsletter subscriber is
//!   unsubscribed with the reason, a mentee's or mentor's profile is marked
//!   `unreachable` (matching leaves them out, the association sees it, the
//!   mailer sends them nothing more).
//!
//! Addresses are only hashed into their address id: none is stored or logged.

use aws_lambda_events::event::sns::SnsEvent;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::{
    campaign, campaign_store,
    email::EmailAddress,
    keyring::{AddressId, Keyring},
    mail::CAMPAIGN_TAG,
    people::Role,
    store::{self, Key, Store, StoreError},
};

/// Soft bounces in a row that suppress an address.
pub const SOFT_BOUNCES_TO_SUPPRESS: u32 = 3;
/// How long an address's deliverability is kept after its last event.
const STANDING_LIFETIME: Duration = Duration::days(400);
/// How long an event's marker is kept: longer than SNS retries for.
const EVENT_MARKER_LIFETIME: Duration = Duration::days(30);

pub struct MailEvents {
    pub store: Store,
    keyring: Keyring,
}

impl MailEvents {
    pub fn new(store: Store, keyring: Keyring) -> Self {
        Self { store, keyring }
    }
}

/// The function's start: the table and the address key.
pub async fn start() -> Result<MailEvents, Error> {
    let start = shared::aws::start_signing(shared::aws::Secrets::Signing, |_| ()).await?;
    Ok(MailEvents::new(start.store, start.keyring))
}

/// What an SES event says happened to which addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    HardBounce,
    SoftBounce,
    Complaint,
    Delivery,
}

impl Happened {
    fn code(self) -> &'static str {
        match self {
            Happened::HardBounce => "hard_bounce",
            Happened::SoftBounce => "soft_bounce",
            Happened::Complaint => "complaint",
            Happened::Delivery => "delivery",
        }
    }

    fn counter(self) -> &'static str {
        match self {
            Happened::HardBounce | Happened::SoftBounce => "bounced",
            Happened::Complaint => "complained",
            Happened::Delivery => "delivered",
        }
    }
}

/// An SES event as published to SNS (event publishing's `eventType`, or
/// the identity notifications' `notificationType`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: SesMail,
    #[serde(default)]
    bounce: Option<SesBounce>,
    #[serde(default)]
    complaint: Option<SesComplaint>,
    #[serde(default)]
    delivery: Option<SesDelivery>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesMail {
    message_id: String,
    #[serde(default)]
    tags: std::collections::HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesBounce {
    bounce_type: String,
    bounced_recipients: Vec<SesRecipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesComplaint {
    complained_recipients: Vec<SesRecipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesDelivery {
    recipients: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesRecipient {
    email_address: String,
}

/// One thing that happened to one address.
#[derive(Debug)]
pub struct MailEvent {
    pub message_id: String,
    pub happened: Happened,
    pub address: EmailAddress,
    pub campaign: Option<String>,
}

/// The events an SES notification carries; the types we do not act on
/// (send, open, click…) give none.
fn events_of(message: &str) -> Result<Vec<MailEvent>, serde_json::Error> {
    let event: SesEvent = serde_json::from_str(message)?;
    let campaign = event
        .mail
        .tags
        .get(CAMPAIGN_TAG)
        .and_then(|values| values.first())
        .filter(|id| campaign::valid_id(id))
        .cloned();
    let addresses: Vec<(Happened, String)> = match event.event_type.as_str() {
        "Bounce" => {
            let bounce = event.bounce.unwrap_or(SesBounce {
                bounce_type: String::new(),
                bounced_recipients: Vec::new(),
            });
            // "Undetermined" bounces are treated as soft: they may pass.
            let happened = if bounce.bounce_type == "Permanent" {
                Happened::HardBounce
            } else {
                Happened::SoftBounce
            };
            bounce
                .bounced_recipients
                .into_iter()
                .map(|r| (happened, r.email_address))
                .collect()
        }
        "Complaint" => event
            .complaint
            .map(|c| c.complained_recipients)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (Happened::Complaint, r.email_address))
            .collect(),
        "Delivery" => event
            .delivery
            .map(|d| d.recipients)
            .unwrap_or_default()
            .into_iter()
            .map(|address| (Happened::Delivery, address))
            .collect(),
        _ => Vec::new(),
    };
    Ok(addresses
        .into_iter()
        .filter_map(|(happened, address)| {
            // SES may give "Name <address>"; keep the address.
            let bare = address
                .rsplit_once('<')
                .map_or(address.as_str(), |(_, rest)| rest.trim_end_matches('>'));
            Some(MailEvent {
                message_id: event.mail.message_id.clone(),
                happened,
                address: EmailAddress::parse(bare).ok()?,
                campaign: campaign.clone(),
            })
        })
        .collect())
}

/// An SNS batch (one record, as SNS invokes). A failure fails the
/// invocation: Lambda retries it, then hands it to the DLQ; redone work
/// counts nothing twice.
pub async fn handle(app: &MailEvents, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let batch: SnsEvent = serde_json::from_value(event.payload)?;
    let mut recorded = 0;
    for record in &batch.records {
        let events = match events_of(&record.sns.message) {
            Ok(events) => events,
            Err(error) => {
                // Not an SES event: retrying will not make it one.
                tracing::error!(%error, message = record.sns.message_id, "unreadable mail event skipped");
                continue;
            }
        };
        for event in &events {
            record_event(app, event, Utc::now()).await?;
            recorded += 1;
        }
    }
    Ok(json!({ "recorded": recorded }))
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// Counts the event once, then suppresses the address if it must be.
#[tracing::instrument(skip_all, fields(happened = event.happened.code(), campaign = event.campaign))]
pub async fn record_event(
    app: &MailEvents,
    event: &MailEvent,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let address = app.keyring.addresses.id_of(&event.address);
    let hash = hex::encode(
        &Sha256::digest(
            format!(
                "{}|{}|{}",
                event.message_id,
                event.happened.code(),
                address.as_str()
            )
            .as_bytes(),
        )[..16],
    );
    let marker = Key::mail_event(&hash);
    let put = Put::builder()
        .table_name(&app.store.table)
        .set_item(Some(
            [
                ("pk", text(&marker.pk)),
                ("sk", text(&marker.sk)),
                ("happened", text(event.happened.code())),
                ("at", text(&store::timestamp(now))),
                (
                    "ttl",
                    AttributeValue::N((now + EVENT_MARKER_LIFETIME).timestamp().to_string()),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        ))
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    let standing = Key::deliverability(&address);
    let mut update = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(standing.attributes()))
        // Kept while the address is in use, then expired: no history forever.
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(
            ":ttl",
            AttributeValue::N((now + STANDING_LIFETIME).timestamp().to_string()),
        );
    update = match event.happened {
        Happened::HardBounce | Happened::Complaint => update
            .update_expression("SET suppressed_reason = if_not_exists(suppressed_reason, :reason), suppressed_at = if_not_exists(suppressed_at, :now), #ttl = :ttl")
            .expression_attribute_values(":reason", text(event.happened.code()))
            .expression_attribute_values(":now", text(&store::timestamp(now))),
        Happened::SoftBounce => update
            .update_expression("SET #ttl = :ttl ADD soft_bounces :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into())),
        Happened::Delivery => update
            .update_expression("SET soft_bounces = :zero, #ttl = :ttl")
            .expression_attribute_values(":zero", AttributeValue::N("0".into())),
    };
    let mut writes = vec![
        TransactWriteItem::builder().put(put).build(),
        TransactWriteItem::builder().update(update.build()?).build(),
    ];
    if let Some(campaign) = &event.campaign {
        let shard = campaign_store::shard_of(address.as_str());
        writes.push(campaign_store::count(
            &app.store.table,
            campaign,
            shard,
            event.happened.counter(),
        )?);
    }
    match app.store.transact(writes).await {
        Ok(_) => tracing::info!("mail event recorded"),
        Err(error) if store::first_condition_failed(&error) => {
            tracing::info!("mail event already recorded");
        }
        Err(error) => return Err(error.into()),
    }
    // Also after a redelivery: a suppression cut short is finished.
    if let Some(reason) = suppression(app, &standing).await? {
        suppress(app, &address, &reason, now).await?;
    }
    Ok(())
}

/// Why the address is suppressed, if it is (or now must be).
async fn suppression(app: &MailEvents, standing: &Key) -> Result<Option<String>, StoreError> {
    let item = app
        .store
        .client
        .get_item()
        .table_name(&app.store.table)
        .set_key(Some(standing.attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item
        .unwrap_or_default();
    if let Some(reason) = item.get("suppressed_reason").and_then(|r| r.as_s().ok()) {
        return Ok(Some(reason.clone()));
    }
    let soft = item
        .get("soft_bounces")
        .and_then(|n| n.as_n().ok())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    Ok((soft >= SOFT_BOUNCES_TO_SUPPRESS).then(|| "soft_bounces".to_owned()))
}

/// Stops mail to the address wherever binome holds it. Each write is
/// conditional on not being done yet, so a repeat changes nothing.
async fn suppress(
    app: &MailEvents,
    address: &AddressId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = text(&store::timestamp(now));
    let unsubscribed = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::newsletter_subscriber(address).attributes()))
        .update_expression("SET #status = :unsubscribed, unsubscribed_at = :at, unsubscribe_reason = :reason REMOVE email, list_pk, list_sk, #ttl, confirmation_sent_at")
        .condition_expression("attribute_exists(pk) AND #status <> :unsubscribed")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":unsubscribed", text("unsubscribed"))
        .expression_attribute_values(":at", at.clone())
        .expression_attribute_values(":reason", text(reason))
        .send()
        .await;
    match unsubscribed {
        Ok(_) => tracing::info!(
            reason,
            "newsletter subscriber unsubscribed: address suppressed"
        ),
        Err(error) if store::condition_failed(&error) => {}
        Err(error) => return Err(error.into()),
    }
    for role in [Role::Mentee, Role::Mentor] {
        let guard = app
            .store
            .client
            .get_item()
            .table_name(&app.store.table)
            .set_key(Some(Key::email_guard(address, role).attributes()))
            .projection_expression("person_id")
            .consistent_read(true)
            .send()
            .await?;
        let Some(person) = guard
            .item
            .as_ref()
            .and_then(|item| item.get("person_id"))
            .and_then(|id| id.as_s().ok())
        else {
            continue;
        };
        let marked = app
            .store
            .client
            .update_item()
            .table_name(&app.store.table)
            .set_key(Some(Key::person_profile(person).attributes()))
            .update_expression("SET unreachable = :unreachable")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(unreachable)")
            .expression_attribute_values(
                ":unreachable",
                AttributeValue::M(
                    [
                        ("reason".to_owned(), text(reason)),
                        ("at".to_owned(), at.clone()),
                    ]
                    .into(),
                ),
            )
            .send()
            .await;
        match marked {
            Ok(_) => tracing::info!(person, reason, "profile marked unreachable"),
            Err(error) if store::condition_failed(&error) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounce_names_its_addresses_and_its_issue() {
        let events = events_of(
            r#"{"eventType":"Bounce","mail":{"messageId":"m1","tags":{"campaign":["0a1b2c3d4e5f"]}},
               "bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"Ana <ana@exemple.fr>"}]}}"#,
        )
        .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].happened, Happened::SoftBounce);
        assert_eq!(events[0].address.as_str(), "ana@exemple.fr");
        assert_eq!(events[0].campaign.as_deref(), Some("0a1b2c3d4e5f"));
    }

    #[test]
    fn events_we_do_not_act_on_give_nothing() {
        let events =
            events_of(r#"{"eventType":"Open","mail":{"messageId":"m1"},"open":{}}"#).unwrap();
        assert!(events.is_empty());
    }
}
