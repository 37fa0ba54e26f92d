//! The daily sweep (schedule trigger). It reads the routing work that is due
//! (`by_due_date`, every shard) and:
//! - reminds an association of the requests it has not acknowledged after
//!   `sla_days` (one mail per association);
//! - after twice `sla_days`, routes the request to the next best association
//!   (cause `sla_expired`);
//! - tries the waiting requests again and lists those still waiting in a
//!   digest to the network admins;
//! - sends the daily digest of the associations that chose one.
//!
//! Every write is conditioned on what was read (a reminder on its absence, a
//! digest on the previous digest's date), so a second run the same day finds
//! nothing due and sends nothing.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, Update};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use shared::{
    directory::{Listed, Notify, month_of},
    mail::{MailContent, OutboxMail, RequestSummary},
    people::ProfileStatus,
    store::{
        Key, StoreError, cancellation_reasons, due_items, first_condition_failed,
        is_condition_failure,
        keys::{counters, index},
        query_all, timestamp, transact_update,
    },
};

use crate::{
    Routing,
    request::{Cause, RequestItem},
    route::{Outcome, Reader, route, summary},
};

/// A waiting request tried today is due again at tomorrow's sweep, not at a
/// second run today.
const RETRY_AFTER: Duration = Duration::hours(20);

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub reminders: usize,
    pub rerouted: usize,
    pub retried: usize,
    pub still_waiting: usize,
    pub association_digests: usize,
    pub admin_digest: bool,
}

/// Every request whose routing deadline is at or before `now`.
async fn due_requests(app: &Routing, now: DateTime<Utc>) -> Result<Vec<RequestItem>, StoreError> {
    let items = due_items(&app.store, index::routing_due_partitions(), &timestamp(now)).await?;
    Ok(items
        .into_iter()
        .filter_map(
            |item| match serde_dynamo::from_item::<_, RequestItem>(item) {
                Ok(request) => Some(request),
                Err(error) => {
                    tracing::error!(%error, "unreadable due request skipped");
                    None
                }
            },
        )
        .collect())
}

#[tracing::instrument(skip_all, fields(%now))]
pub async fn sweep(app: &Routing, now: DateTime<Utc>) -> Result<SweepReport, StoreError> {
    // Decide on today's directory, not a cached one.
    app.directory.clear().await;
    let directory = app.directory.snapshot(&app.store, &month_of(now)).await?;
    let mut report = SweepReport::default();
    let mut reminders: BTreeMap<String, Vec<RequestItem>> = BTreeMap::new();
    let mut still_waiting = Vec::new();

    for request in due_requests(app, now).await? {
        let Some(routing) = request.routing.clone() else {
            continue;
        };
        match request.status {
            ProfileStatus::Routed => {
                let Some(listed) = routing
                    .association
                    .as_deref()
                    .and_then(|s| directory.get(s))
                else {
                    continue;
                };
                let sla = Duration::days(i64::from(listed.record.sla_days));
                if now >= routing.decided_at + sla * 2 {
                    if route(app, &request, Cause::SlaExpired, None, None, now).await?
                        != Outcome::Unchanged
                    {
                        report.rerouted += 1;
                    }
                } else if now >= routing.decided_at + sla && routing.reminded_at.is_none() {
                    reminders
                        .entry(listed.record.slug.clone())
                        .or_default()
                        .push(request);
                }
            }
            ProfileStatus::Waiting => {
                report.retried += 1;
                if route(app, &request, Cause::Retry, None, None, now).await? == Outcome::Waiting {
                    // Read again: the retry moved its attempt on.
                    if let Some(request) = crate::route::read_request(app, &request.id).await? {
                        still_waiting.push(request);
                    }
                }
            }
            _ => {}
        }
    }

    for (slug, requests) in reminders {
        if let Some(listed) = directory.get(&slug) {
            report.reminders += remind(app, listed, requests, now).await?;
        }
    }
    report.still_waiting = still_waiting.len();
    if !still_waiting.is_empty() {
        report.admin_digest = admin_digest(app, &still_waiting, now).await?;
        for request in &still_waiting {
            postpone(app, request, now).await?;
        }
    }
    for listed in directory
        .associations
        .iter()
        .filter(|a| a.record.notify == Notify::DailyDigest)
    {
        if association_digest(app, listed, now).await? {
            report.association_digests += 1;
        }
    }
    tracing::info!(?report, "daily sweep done");
    Ok(report)
}

/// One reminder mail per association for its overdue requests, each request
/// marked reminded in the same transaction (so never reminded twice).
async fn remind(
    app: &Routing,
    listed: &Listed,
    mut requests: Vec<RequestItem>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let sla = Duration::days(i64::from(listed.record.sla_days));
    let mut reminded = 0;
    // A transaction holds 100 writes: 99 requests and the mail.
    while !requests.is_empty() {
        let chunk: Vec<RequestItem> = requests.drain(..requests.len().min(99)).collect();
        let mut pending = chunk;
        while !pending.is_empty() {
            let mut writes = Vec::new();
            for request in &pending {
                let routing = request.routing.as_ref().expect("due requests were routed");
                let update = Update::builder()
                    .table_name(&app.store.table)
                    .set_key(Some(Key::person_profile(&request.id).attributes()))
                    .update_expression("SET #routing.reminded_at = :now, due_sk = :expiry")
                    .condition_expression(
                        "#status = :routed AND #routing.attempt = :attempt AND attribute_not_exists(#routing.reminded_at)",
                    )
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#routing", "routing")
                    .expression_attribute_values(":now", AttributeValue::S(timestamp(now)))
                    .expression_attribute_values(
                        ":expiry",
                        AttributeValue::S(timestamp(routing.decided_at + sla * 2)),
                    )
                    .expression_attribute_values(
                        ":routed",
                        AttributeValue::S(ProfileStatus::Routed.as_str().into()),
                    )
                    .expression_attribute_values(
                        ":attempt",
                        AttributeValue::N(routing.attempt.to_string()),
                    );
                writes.push(transact_update(update)?);
            }
            let summaries: Vec<RequestSummary> = pending
                .iter()
                .map(|r| {
                    let since = r.routing.as_ref().map_or(now, |p| p.decided_at);
                    summary(app, r, since, Reader::Association)
                })
                .collect();
            writes.push(
                OutboxMail::new(
                    Key::association(&listed.record.slug),
                    MailContent::AssociationRequests {
                        association_name: listed.record.name.clone(),
                        requests: summaries,
                        reminder_after_days: Some(listed.record.sla_days),
                    },
                    now,
                )
                .transact_put(&app.store.table)?,
            );
            match app.store.transact(writes).await {
                Ok(_) => {
                    reminded += pending.len();
                    break;
                }
                Err(error) => {
                    let Some(reasons) = cancellation_reasons(&error) else {
                        return Err(error.into());
                    };
                    // Leave out the requests that moved on since they were read.
                    let before = pending.len();
                    pending = pending
                        .into_iter()
                        .zip(reasons)
                        .filter(|(_, reason)| !is_condition_failure(reason))
                        .map(|(request, _)| request)
                        .collect();
                    if pending.len() == before {
                        return Err(error.into());
                    }
                }
            }
        }
    }
    Ok(reminded)
}

/// The still-waiting requests are due again at tomorrow's sweep.
async fn postpone(
    app: &Routing,
    request: &RequestItem,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(routing) = &request.routing else {
        return Ok(());
    };
    let result = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_profile(&request.id).attributes()))
        .update_expression("SET due_sk = :next")
        .condition_expression("#status = :waiting AND #routing.attempt = :attempt")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#routing", "routing")
        .expression_attribute_values(":next", AttributeValue::S(timestamp(now + RETRY_AFTER)))
        .expression_attribute_values(
            ":waiting",
            AttributeValue::S(ProfileStatus::Waiting.as_str().into()),
        )
        .expression_attribute_values(":attempt", AttributeValue::N(routing.attempt.to_string()))
        .send()
        .await;
    match result {
        Err(error) if shared::store::condition_failed(&error) => Ok(()),
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

/// The network admins' list of requests no association could take today;
/// at most one a day (the date of the last one is kept with their address).
async fn admin_digest(
    app: &Routing,
    waiting: &[RequestItem],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(admin_email) = &app.network_admin_email else {
        tracing::warn!(
            waiting = waiting.len(),
            "no network admin address: waiting requests not reported"
        );
        return Ok(false);
    };
    let today = now.format("%Y-%m-%d").to_string();
    let requests = waiting
        .iter()
        .map(|r| {
            let since = r
                .routing
                .as_ref()
                .and_then(|p| p.waiting_since)
                .unwrap_or(now);
            summary(app, r, since, Reader::Network)
        })
        .collect();
    let mark = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(Key::network_admins().attributes()))
        .update_expression("SET email = :email, last_digest_on = :today")
        .condition_expression("attribute_not_exists(last_digest_on) OR last_digest_on < :today")
        .expression_attribute_values(":email", AttributeValue::S(admin_email.clone()))
        .expression_attribute_values(":today", AttributeValue::S(today));
    let mail = OutboxMail::new(
        Key::network_admins(),
        MailContent::WaitingDigest { requests },
        now,
    );
    sent_once(
        app,
        vec![transact_update(mark)?, mail.transact_put(&app.store.table)?],
    )
    .await
}

/// An association's daily digest: its requests routed since the last one.
async fn association_digest(
    app: &Routing,
    listed: &Listed,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let slug = &listed.record.slug;
    let status = ProfileStatus::Routed.as_str();
    // After every request of the last digest's second (`~` sorts after ids).
    let from = match &listed.last_digest_at {
        Some(last) => index::association_request_sort(status, last, "~"),
        None => index::association_request_status(status),
    };
    let to = index::association_request_sort(status, &timestamp(now), "~");
    let items = query_all(
        app.store
            .client
            .query()
            .table_name(&app.store.table)
            .index_name(index::BY_ASSOCIATION)
            .key_condition_expression("assoc_pk = :pk AND assoc_sk BETWEEN :from AND :to")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(index::association_requests(slug)),
            )
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(to)),
    )
    .await?;
    let requests: Vec<RequestSummary> = items
        .into_iter()
        .filter_map(|item| serde_dynamo::from_item::<_, RequestItem>(item).ok())
        .map(|request| {
            let since = request.routing.as_ref().map_or(now, |p| p.decided_at);
            summary(app, &request, since, Reader::Association)
        })
        .collect();
    if requests.is_empty() {
        return Ok(false);
    }
    let mut mark = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(Key::association(slug).attributes()))
        .update_expression("SET #last = :now")
        .expression_attribute_names("#last", counters::LAST_DIGEST_AT)
        .expression_attribute_values(":now", AttributeValue::S(timestamp(now)));
    mark = match &listed.last_digest_at {
        None => mark.condition_expression("attribute_not_exists(#last)"),
        Some(last) => mark
            .condition_expression("#last = :previous")
            .expression_attribute_values(":previous", AttributeValue::S(last.clone())),
    };
    let mail = OutboxMail::new(
        Key::association(slug),
        MailContent::AssociationRequests {
            association_name: listed.record.name.clone(),
            requests,
            reminder_after_days: None,
        },
        now,
    );
    sent_once(
        app,
        vec![transact_update(mark)?, mail.transact_put(&app.store.table)?],
    )
    .await
}

/// Writes a mark and its mail together; `false` when the mark shows it was already sent.
async fn sent_once(
    app: &Routing,
    writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<bool, StoreError> {
    match app.store.transact(writes).await {
        Ok(_) => Ok(true),
        Err(error) if first_condition_failed(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}
