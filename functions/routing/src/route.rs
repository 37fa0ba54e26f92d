//! Routes one request, in one transaction: the request's new status and
//! decision, the chosen association's counter (a conditional increment that
//! never passes `monthly_capacity`), the counter given back by the
//! association it leaves, and the mails. Every write is conditioned on the
//! request's status and routing attempt as read, so a redelivered change
//! finds it moved and does nothing.
//!
//! A refused counter (the association filled up meanwhile) marks it full and
//! the next candidate is tried; a transaction conflict (a burst on the same
//! association) is retried by the store after a short, jittered pause.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update, builders::UpdateBuilder};
use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::{
    directory::{
        CounterChange, DIRECTORY_TTL, Intake, Listed, Notify, Snapshot, counters_update, month_of,
    },
    mail::{MailContent, OutboxMail, RequestSummary},
    people::{PriorityGroup, ProfileStatus, Role, SensitiveData},
    store::{
        Key, StoreError, cancellation_reasons, is_condition_failure, keys::index, timestamp,
        transact_update,
    },
};

use crate::{
    Routing,
    request::{Cause, Handover, RequestItem, RoutingState},
    rules::{self, Decision},
};

/// How recent a directory read must be to tell someone that no association can take them.
pub const WAITING_RECHECK: Duration = Duration::from_secs(5);

/// How a routing call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Routed {
        association: String,
    },
    Waiting,
    /// The request had already moved on (a redelivery, a concurrent
    /// decision, an erasure): nothing was written.
    Unchanged,
}

pub(crate) fn value<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    Ok(serde_dynamo::to_attribute_value(value)?)
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// What routing a request to an association adds to its counters (a
/// mentee: this month's count and the pool; a mentor: their free places).
fn counted(request: &RequestItem, month: &str) -> CounterChange {
    match request.role {
        Role::Mentee => CounterChange {
            routed: Some((month.to_owned(), 1)),
            waiting_mentees: 1,
            ..CounterChange::default()
        },
        Role::Mentor => CounterChange {
            free_mentor_places: i64::from(request.free_places()),
            ..CounterChange::default()
        },
    }
}
fn text(s: impl Into<String>) -> AttributeValue {
    AttributeValue::S(s.into())
}

/// Who reads a mail listing requests, hence which page its links open.
#[derive(Debug, Clone, Copy)]
pub enum Reader {
    /// The association's staff: the request's page in their space.
    Association,
    /// The network admins: the request's routing decision, in their pages.
    Network,
}

/// The summary of a request in mails to associations and admins, linking
/// to the page of it that `reader` can open.
pub fn summary(
    app: &Routing,
    request: &RequestItem,
    since: DateTime<Utc>,
    reader: Reader,
) -> RequestSummary {
    let pages = match reader {
        Reader::Association => "/association/demandes",
        Reader::Network => "/admin/demandes",
    };
    RequestSummary {
        role: request.role,
        departement: request.departement.to_string(),
        since: since.format("%d/%m/%Y").to_string(),
        url: app.links.site(&format!("{pages}/{}", request.id)),
        unreachable: request.unreachable.is_some(),
    }
}

/// The request's groups kept apart as special-category data, read only when
/// it declared some (they decide reserved associations and specialities).
#[tracing::instrument(skip_all, fields(request = request.id))]
async fn sensitive_groups(
    app: &Routing,
    request: &RequestItem,
) -> Result<Vec<PriorityGroup>, StoreError> {
    if request.role != Role::Mentee || !request.has_sensitive_data {
        return Ok(Vec::new());
    }
    let item = app
        .store
        .client
        .get_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_sensitive_data(&request.id).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(match item {
        Some(item) => serde_dynamo::from_item::<_, SensitiveData>(item)?.priority_groups,
        None => Vec::new(),
    })
}

fn decide(
    app: &Routing,
    snapshot: &Snapshot,
    request: &RequestItem,
    sensitive: &[PriorityGroup],
    declined_by: &[String],
    now: DateTime<Utc>,
) -> Decision {
    let directory: Vec<rules::Association> = snapshot
        .associations
        .iter()
        .map(rules::Association::from)
        .collect();
    match request.role {
        Role::Mentee => {
            let mut case = request.mentee_case(sensitive, now.date_naive());
            case.declined_by = declined_by;
            rules::route_mentee(&directory, &case, &app.weights)
        }
        Role::Mentor => {
            let mut case = request.mentor_case();
            case.declined_by = declined_by;
            rules::route_mentor(&directory, &case)
        }
    }
}

/// Routes `request` (as read, with its status and routing attempt) for
/// `cause`; `reason` is the association's word when it declined, and
/// `journal` its journal entry, written in the same transaction.
#[tracing::instrument(skip_all, fields(request = request.id, ?cause))]
pub async fn route(
    app: &Routing,
    request: &RequestItem,
    cause: Cause,
    reason: Option<&str>,
    journal: Option<TransactWriteItem>,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let month = month_of(now);
    let sensitive = sensitive_groups(app, request).await?;
    let previous = request.routing.as_ref();
    // The association it leaves, which is never chosen again.
    let leaving = previous
        .filter(|_| matches!(cause, Cause::Declined | Cause::SlaExpired))
        .and_then(|p| p.association.clone());
    let mut declined_by = request.declined_by().to_vec();
    declined_by.extend(leaving.clone());

    let mut max_age = DIRECTORY_TTL;
    loop {
        let snapshot = app
            .directory
            .snapshot_within(&app.store, &month, max_age)
            .await?;
        let decision = decide(app, &snapshot, request, &sensitive, &declined_by, now);
        let chosen = decision.chosen().and_then(|slug| snapshot.get(slug));
        if chosen.is_none() && max_age > WAITING_RECHECK {
            // A full or missing association may be a minute-old view: look
            // again (at most every few seconds) before telling someone that
            // nobody can take them.
            max_age = WAITING_RECHECK;
            continue;
        }
        let state = RoutingState {
            attempt: previous.map_or(1, |p| p.attempt + 1),
            association: chosen.map(|c| c.record.slug.clone()),
            decision: decision.clone(),
            cause,
            decided_at: now,
            counted_month: chosen
                .filter(|_| request.role == Role::Mentee)
                .map(|_| month.clone()),
            waiting_since: match chosen {
                Some(_) => None,
                None => previous.and_then(|p| p.waiting_since).or(Some(now)),
            },
            reminded_at: None,
            acknowledged_at: None,
            declined_by: declined_by.clone(),
            history: history(previous, leaving.as_deref(), cause, reason, now),
        };
        let mut writes = transaction(app, request, chosen, &state, leaving.as_deref())?;
        // Last: the request's update stays first, which tells a moved request apart.
        writes.extend(journal.clone());
        match app.store.transact(writes).await {
            Ok(_) => {
                return Ok(match chosen {
                    Some(listed) => {
                        let slug = listed.record.slug.clone();
                        let places = request.free_places();
                        app.directory
                            .adjust(&slug, |a| match request.role {
                                Role::Mentee => {
                                    a.counters.routed_this_month += 1;
                                    a.counters.waiting_mentees += 1;
                                }
                                Role::Mentor => a.counters.free_mentor_places += places,
                            })
                            .await;
                        tracing::info!(
                            request = request.id,
                            association = slug,
                            ?cause,
                            "request routed"
                        );
                        Outcome::Routed { association: slug }
                    }
                    None => {
                        tracing::info!(request = request.id, ?cause, "request waiting");
                        Outcome::Waiting
                    }
                });
            }
            Err(error) => {
                let Some(reasons) = cancellation_reasons(&error) else {
                    return Err(error.into());
                };
                if reasons.first().is_some_and(is_condition_failure) {
                    tracing::info!(request = request.id, "request already moved on");
                    return Ok(Outcome::Unchanged);
                }
                if let Some(listed) = chosen
                    && reasons.get(1).is_some_and(is_condition_failure)
                {
                    // Filled up (or closed) since the directory was read.
                    app.directory
                        .adjust(&listed.record.slug, |a| match request.role {
                            Role::Mentee => {
                                a.counters.routed_this_month = a.record.monthly_capacity
                            }
                            Role::Mentor => a.record.mentor_intake = Intake::Closed,
                        })
                        .await;
                    continue;
                }
                // Conflicts were retried by the store already: let the caller retry.
                return Err(error.into());
            }
        }
    }
}

fn history(
    previous: Option<&RoutingState>,
    leaving: Option<&str>,
    cause: Cause,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Handover> {
    let mut history = previous.map(|p| p.history.clone()).unwrap_or_default();
    if let (Some(previous), Some(association)) = (previous, leaving) {
        history.push(Handover {
            association: association.to_owned(),
            routed_at: previous.decided_at,
            ended_at: now,
            outcome: cause,
            reason: reason.map(str::to_owned),
            acknowledged_at: previous.acknowledged_at,
            reminded_at: previous.reminded_at,
        });
    }
    history
}

/// The condition every routing write carries: the request is as it was read.
fn unchanged_since_read(update: UpdateBuilder, request: &RequestItem) -> UpdateBuilder {
    let update = update
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#routing", "routing")
        .expression_attribute_values(":expected", text(request.status.as_str()));
    match &request.routing {
        None => {
            update.condition_expression("#status = :expected AND attribute_not_exists(#routing)")
        }
        Some(previous) => update
            .condition_expression("#status = :expected AND #routing.attempt = :attempt")
            .expression_attribute_values(":attempt", number(i64::from(previous.attempt))),
    }
}

fn transaction(
    app: &Routing,
    request: &RequestItem,
    chosen: Option<&Listed>,
    state: &RoutingState,
    leaving: Option<&str>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let table = &app.store.table;
    let profile = Key::person_profile(&request.id);
    let now = state.decided_at;
    let mut writes = Vec::new();

    // 0: the request.
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(profile.attributes()))
        .expression_attribute_values(":routing", value(state)?)
        .expression_attribute_values(":due_pk", text(index::routing_due(&request.id)));
    update = unchanged_since_read(update, request);
    update = match chosen {
        Some(listed) => update
            .update_expression(
                "SET #status = :status, #routing = :routing, assoc_pk = :assoc_pk, assoc_sk = :assoc_sk, due_pk = :due_pk, due_sk = :due_sk",
            )
            .expression_attribute_values(":status", text(ProfileStatus::Routed.as_str()))
            .expression_attribute_values(
                ":assoc_pk",
                text(index::association_requests(&listed.record.slug)),
            )
            .expression_attribute_values(
                ":assoc_sk",
                text(index::association_request_sort(
                    ProfileStatus::Routed.as_str(),
                    &timestamp(now),
                    &request.id,
                )),
            )
            .expression_attribute_values(
                ":due_sk",
                text(timestamp(now + chrono::Duration::days(i64::from(listed.record.sla_days)))),
            ),
        // Due at once: the next daily sweep tries again.
        None => update
            .update_expression(
                "SET #status = :status, #routing = :routing, due_pk = :due_pk, due_sk = :due_sk REMOVE assoc_pk, assoc_sk",
            )
            .expression_attribute_values(":status", text(ProfileStatus::Waiting.as_str()))
            .expression_attribute_values(":due_sk", text(timestamp(now))),
    };
    writes.push(transact_update(update)?);

    // 1: the chosen association's counters, within its capacity.
    let month = month_of(now);
    if let Some(listed) = chosen {
        let update = counters_update(table, &listed.record.slug, &counted(request, &month))
            .expression_attribute_values(":true", AttributeValue::Bool(true));
        let update = match request.role {
            Role::Mentee => update.condition_expression(
                "active = :true AND (attribute_not_exists(#month) OR #month < monthly_capacity)",
            ),
            Role::Mentor => update
                .condition_expression("active = :true AND mentor_intake = :open")
                .expression_attribute_values(":open", text("open")),
        };
        writes.push(transact_update(update)?);
    }

    // The association it leaves gets its counters back.
    if let Some(slug) = leaving {
        let counted_month = request
            .routing
            .as_ref()
            .and_then(|p| p.counted_month.as_deref());
        let given_back = match (request.role, counted_month) {
            (Role::Mentee, Some(counted)) => CounterChange {
                routed: Some((counted.to_owned(), -1)),
                waiting_mentees: -1,
                ..CounterChange::default()
            },
            (Role::Mentee, None) => CounterChange {
                waiting_mentees: -1,
                ..CounterChange::default()
            },
            (Role::Mentor, _) => CounterChange {
                free_mentor_places: -i64::from(request.free_places()),
                ..CounterChange::default()
            },
        };
        if !given_back.is_empty() {
            writes.push(transact_update(counters_update(table, slug, &given_back))?);
        }
    }

    // The mails.
    match chosen {
        Some(listed) => {
            writes.push(
                OutboxMail::new(
                    profile.clone(),
                    MailContent::RequestForwarded {
                        role: request.role,
                        first_name: request.first_name.clone(),
                        association_name: listed.record.name.clone(),
                        sla_days: listed.record.sla_days,
                    },
                    now,
                )
                .transact_put(table)?,
            );
            if listed.record.notify == Notify::Immediate {
                writes.push(
                    OutboxMail::new(
                        Key::association(&listed.record.slug),
                        MailContent::AssociationRequests {
                            association_name: listed.record.name.clone(),
                            requests: vec![summary(app, request, now, Reader::Association)],
                            reminder_after_days: None,
                        },
                        now,
                    )
                    .transact_put(table)?,
                );
            }
        }
        // Told once; the daily retries stay silent until something changes.
        None if request.status != ProfileStatus::Waiting => {
            writes.push(
                OutboxMail::new(
                    profile,
                    MailContent::RequestWaiting {
                        role: request.role,
                        first_name: request.first_name.clone(),
                    },
                    now,
                )
                .transact_put(table)?,
            );
        }
        None => {}
    }
    Ok(writes)
}

/// Reads a request's profile item (consistent), or `None` if it is gone.
#[tracing::instrument(skip_all, fields(request = person_id))]
pub async fn read_request(
    app: &Routing,
    person_id: &str,
) -> Result<Option<RequestItem>, StoreError> {
    let item = app
        .store
        .client
        .get_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::person_profile(person_id).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(item.map(serde_dynamo::from_item).transpose()?)
}
