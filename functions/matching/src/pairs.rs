//! The pair lifecycle in storage: proposed → active (both accepted) →
//! closed, or declined. What each event does is decided by the pure state
//! machine of `shared::pair`; this module applies it in one transaction
//! conditioned on the state it was decided from: a mentor's `pairs_held`
//! only grows while below their capacity, so no concurrency can give them
//! more proposed and active pairs than that; a pair of two people exists
//! once (its id is a hash of both ids), so a redelivered run or a retried
//! request proposes nothing twice. The association's counters (mentees
//! waiting, free mentor places) change in the same transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::{
    directory::counters_update,
    mail::{MailContent, OutboxMail},
    outcome::{Context, Outcome, OutcomeAnswers},
    pair::{self, CheckInAnswer, CloseReason, Pair, PairEvent, PairStatus, Party, Transition},
    pair_store::{Sides, answer_url, not_going_ahead, people_moves},
    people::{ProfileStatus, Role},
    store::{
        Key, Store, StoreError, cancellation_reasons, first_condition_failed, is_condition_failure,
        keys::{index, sort},
        timestamp, transact_update,
    },
};

use crate::{Matching, algorithm::Points, pool::Member};

/// The two people of `pair` as its transitions need them, from `people` as read.
fn sides<'a>(pair: &'a Pair, people: &HashMap<String, Member>) -> Sides<'a> {
    Sides {
        association: &pair.association,
        mentee_id: &pair.mentee_id,
        mentor_id: &pair.mentor_id,
        mentor_present: people.contains_key(&pair.mentor_id),
        mentee_status: people.get(&pair.mentee_id).map(|m| m.status),
    }
}

/// A reference to a pair in one person's partition: exported with their
/// data; its deletion at erasure takes them out of the pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairReference {
    pub pk: String,
    pub sk: String,
    pub pair_id: String,
    pub role: Role,
    pub association: String,
    pub proposed_at: String,
}

/// The one id of a pair of two people.
pub fn pair_id(mentee_id: &str, mentor_id: &str) -> String {
    hex::encode(&Sha256::digest(format!("pair:{mentee_id}:{mentor_id}"))[..16])
}

fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Why a proposal could not be made.
#[derive(Debug)]
pub enum Refused {
    /// These two were already proposed to each other.
    AlreadyTried,
    /// The mentor holds as many pairs as their capacity.
    MentorFull,
    /// The mentee is no longer waiting in the pool.
    MenteeUnavailable,
    /// A write given with the proposal (`Proposal::also`) found its item changed.
    Decided,
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// What a proposal needs of the association.
pub struct Proposer<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub programme_months: u32,
}

/// A pair to propose, with its points and reasons; `run_id` when a run
/// proposes it; `also`: writes that must happen with it or not at all (a
/// draft's approval and its journal entry).
pub struct Proposal<'a> {
    pub mentee: &'a Member,
    pub mentor: &'a Member,
    pub points: Points,
    pub reasons: Vec<String>,
    pub run_id: Option<&'a str>,
    pub also: Vec<TransactWriteItem>,
}

/// Proposes `mentee` to `mentor` in one transaction: the pair, the mentor's
/// place (never above capacity), the mentee out of the pool, both mails.
pub async fn propose(
    app: &Matching,
    association: &Proposer<'_>,
    proposal: Proposal<'_>,
    now: DateTime<Utc>,
) -> Result<Pair, Refused> {
    let Proposal {
        mentee,
        mentor,
        points,
        reasons,
        run_id,
        also,
    } = proposal;
    let id = pair_id(&mentee.id, &mentor.id);
    let proposed = Pair::proposed(
        &id,
        association.slug,
        (
            Party {
                id: &mentee.id,
                first_name: &mentee.first_name,
            },
            Party {
                id: &mentor.id,
                first_name: &mentor.first_name,
            },
        ),
        points,
        reasons.clone(),
        run_id,
        now,
    );
    let pair = Pair {
        programme_months: association.programme_months,
        departement: Some(mentee.departement.as_str().to_owned()),
        ..proposed
    };
    let transition = pair::propose();
    let table = &app.store.table;
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(
            serde_dynamo::to_item(&pair).map_err(StoreError::from)?,
        ))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(StoreError::from)?;
    let held_by = |update: aws_sdk_dynamodb::types::builders::UpdateBuilder| {
        update
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#routing", "routing")
            .expression_attribute_values(":slug", text(association.slug))
            .expression_attribute_values(":active_at", text(timestamp(now)))
            .expression_attribute_values(":routed", text(ProfileStatus::Routed.as_str()))
            .expression_attribute_values(
                ":acknowledged",
                text(ProfileStatus::Acknowledged.as_str()),
            )
    };
    let in_pool = "#routing.association = :slug AND #status IN (:routed, :acknowledged)";
    let mentor_place = held_by(
        Update::builder()
            .table_name(table)
            .set_key(Some(Key::person_profile(&mentor.id).attributes()))
            .update_expression("SET last_active_at = :active_at ADD pairs_held :one")
            .condition_expression(format!(
                "{in_pool} AND (attribute_not_exists(pairs_held) OR pairs_held < #capacity)"
            ))
            .expression_attribute_names("#capacity", "capacity")
            .expression_attribute_values(":one", AttributeValue::N("1".into())),
    );
    let mentee_out = held_by(
        Update::builder()
            .table_name(table)
            .set_key(Some(Key::person_profile(&mentee.id).attributes()))
            .update_expression(
                "SET #status = :proposed, assoc_sk = :assoc_sk, last_active_at = :active_at REMOVE due_pk, due_sk",
            )
            .condition_expression(in_pool)
            .expression_attribute_values(":proposed", text(ProfileStatus::Proposed.as_str()))
            .expression_attribute_values(
                ":assoc_sk",
                text(index::association_request_sort(
                    ProfileStatus::Proposed.as_str(),
                    &timestamp(now),
                    &mentee.id,
                )),
            ),
    );
    let today = now.date_naive();
    let mail = |to: &Member, other: &Member| {
        OutboxMail::new(
            Key::person_profile(&to.id),
            MailContent::PairProposed {
                role: to.role,
                first_name: to.first_name.clone(),
                association_name: association.name.to_owned(),
                about_other: other.about(today),
                reasons: reasons.clone(),
                answer_url: answer_url(&app.keyring, &app.links, &id, to.role, now),
            },
            now,
        )
        .transact_put(table)
    };
    let reference = |person: &Member| -> Result<TransactWriteItem, StoreError> {
        let key = Key::person_pair(&person.id, &id);
        let reference = PairReference {
            pk: key.pk,
            sk: key.sk,
            pair_id: id.clone(),
            role: person.role,
            association: association.slug.to_owned(),
            proposed_at: timestamp(now),
        };
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(serde_dynamo::to_item(&reference)?))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    };
    // Rejected in a review: never proposed, by a run or by hand.
    let not_rejected = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(
            Key::rejected_pair(&mentee.id, &mentor.id).attributes(),
        ))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(StoreError::from)?;
    // The write order matters: the cancellation reasons of the first three
    // and the ninth say which guard refused; what comes after is `also`.
    let mut writes = vec![
        TransactWriteItem::builder().put(put).build(),
        transact_update(mentor_place)?,
        transact_update(mentee_out)?,
        mail(mentee, mentor)?,
        mail(mentor, mentee)?,
        reference(mentee)?,
        reference(mentor)?,
        transact_update(counters_update(
            table,
            association.slug,
            &transition.counters(),
        ))?,
        TransactWriteItem::builder()
            .condition_check(not_rejected)
            .build(),
    ];
    writes.extend(also);
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(pair = id, association = association.slug, "pair proposed");
            Ok(pair)
        }
        Err(error) => match cancellation_reasons(&error) {
            Some(reasons) if reasons.first().is_some_and(is_condition_failure) => {
                Err(Refused::AlreadyTried)
            }
            Some(reasons) if reasons.get(1).is_some_and(is_condition_failure) => {
                Err(Refused::MentorFull)
            }
            Some(reasons) if reasons.get(2).is_some_and(is_condition_failure) => {
                Err(Refused::MenteeUnavailable)
            }
            Some(reasons) if reasons.get(8).is_some_and(is_condition_failure) => {
                Err(Refused::AlreadyTried)
            }
            Some(reasons) if reasons.iter().skip(9).any(is_condition_failure) => {
                Err(Refused::Decided)
            }
            _ => Err(Refused::Store(error.into())),
        },
    }
}

/// Reads a pair (consistent).
#[tracing::instrument(skip_all, fields(pair = pair_id))]
pub async fn read(store: &Store, pair_id: &str) -> Result<Option<Pair>, StoreError> {
    let item = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::pair(pair_id).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(item.map(serde_dynamo::from_item).transpose()?)
}

/// Reads profiles by id (consistent); the erased ones are missing.
#[tracing::instrument(skip_all, fields(profiles = ids.len()))]
pub async fn profiles(store: &Store, ids: &[&str]) -> Result<HashMap<String, Member>, StoreError> {
    let mut found = HashMap::new();
    for id in ids {
        let item = store
            .client
            .get_item()
            .table_name(&store.table)
            .set_key(Some(Key::person_profile(id).attributes()))
            .consistent_read(true)
            .send()
            .await?
            .item;
        if let Some(item) = item {
            found.insert((*id).to_owned(), serde_dynamo::from_item(item)?);
        }
    }
    Ok(found)
}

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// Accepted; the other side has not answered yet.
    Waiting,
    /// Both accepted: the pair is active, contact details sent.
    Started,
    Declined,
    /// The pair had already moved on (declined, closed, active).
    Closed(PairStatus),
}

impl Answered {
    /// The answer to give for a pair that stands at `status` already.
    fn standing(status: PairStatus) -> Self {
        match status {
            PairStatus::Active => Answered::Started,
            PairStatus::Declined => Answered::Declined,
            PairStatus::Proposed => Answered::Waiting,
            PairStatus::Closed => Answered::Closed(PairStatus::Closed),
        }
    }
}

fn accepted_attribute(role: Role) -> &'static str {
    match role {
        Role::Mentee => "mentee_accepted_at",
        Role::Mentor => "mentor_accepted_at",
    }
}

/// Answers are retried on a fresh read at most this often when the pair
/// moved between the read and the write (the other side answered meanwhile).
const ANSWER_ATTEMPTS: usize = 3;

/// One side accepts. The second acceptance starts the pair.
#[tracing::instrument(skip_all, fields(pair = pair_id, ?side))]
pub async fn accept(
    app: &Matching,
    pair_id: &str,
    side: Role,
    now: DateTime<Utc>,
) -> Result<Answered, StoreError> {
    for _ in 0..ANSWER_ATTEMPTS {
        let Some(pair) = read(&app.store, pair_id).await? else {
            return Ok(Answered::Closed(PairStatus::Closed));
        };
        let transition = match pair::apply(pair.state(), PairEvent::Accept(side)) {
            Ok(transition) => transition,
            Err(_) => return Ok(Answered::Closed(pair.status)),
        };
        if !transition.changes() {
            return Ok(Answered::standing(pair.status));
        }
        let written = if transition.exchange_contacts {
            start(app, &pair, side, &transition, now).await?
        } else {
            record_acceptance(app, &pair, side, now).await?
        };
        if let Some(answered) = written {
            return Ok(answered);
        }
    }
    Ok(Answered::standing(
        read(&app.store, pair_id)
            .await?
            .map_or(PairStatus::Closed, |p| p.status),
    ))
}

/// The condition of an answer's write: the pair is proposed and this side
/// has not answered yet.
fn unanswered(side: Role) -> String {
    format!(
        "#status = :proposed AND attribute_not_exists({})",
        accepted_attribute(side)
    )
}

/// The first acceptance; `None` when the pair moved meanwhile.
async fn record_acceptance(
    app: &Matching,
    pair: &Pair,
    side: Role,
    now: DateTime<Utc>,
) -> Result<Option<Answered>, StoreError> {
    let result = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .update_expression(format!("SET {} = :now", accepted_attribute(side)))
        .condition_expression(format!(
            "{} AND attribute_not_exists({})",
            unanswered(side),
            accepted_attribute(other(side))
        ))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":now", text(timestamp(now)))
        .expression_attribute_values(":proposed", text(PairStatus::Proposed.as_str()))
        .send()
        .await;
    match result {
        Ok(_) => {
            tracing::info!(pair = pair.id, ?side, "pair accepted by one side");
            Ok(Some(Answered::Waiting))
        }
        Err(error) if shared::store::condition_failed(&error) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn other(side: Role) -> Role {
    match side {
        Role::Mentee => Role::Mentor,
        Role::Mentor => Role::Mentee,
    }
}

/// The second acceptance: the pair becomes active, the mentee leaves the
/// pool for good, and each receives the other's contact details, all in
/// one transaction; `None` when the pair moved meanwhile.
async fn start(
    app: &Matching,
    pair: &Pair,
    side: Role,
    transition: &Transition,
    now: DateTime<Utc>,
) -> Result<Option<Answered>, StoreError> {
    let people = profiles(&app.store, &[&pair.mentee_id, &pair.mentor_id]).await?;
    let (Some(mentee), Some(mentor)) = (people.get(&pair.mentee_id), people.get(&pair.mentor_id))
    else {
        return Ok(Some(Answered::Closed(PairStatus::Closed)));
    };
    let check_in = now + pair::FIRST_CHECK_IN_AFTER;
    let table = &app.store.table;
    let activate = Update::builder()
        .table_name(table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .update_expression(format!(
            "SET #status = :active, {} = :now, started_at = :now, first_check_in = :check_in, due_pk = :due_pk, due_sk = :due_sk",
            accepted_attribute(side)
        ))
        .condition_expression(format!(
            "{} AND attribute_exists({})",
            unanswered(side),
            accepted_attribute(other(side))
        ))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":active", text(transition.to.status.as_str()))
        .expression_attribute_values(":proposed", text(PairStatus::Proposed.as_str()))
        .expression_attribute_values(":now", text(timestamp(now)))
        .expression_attribute_values(":check_in", text(check_in.format("%Y-%m-%d").to_string()))
        .expression_attribute_values(":due_pk", text(index::follow_up_due(&pair.id)))
        .expression_attribute_values(":due_sk", text(timestamp(check_in)));
    let started = |to: &Member, other: &Member| {
        OutboxMail::new(
            Key::person_profile(&to.id),
            MailContent::PairStarted {
                role: to.role,
                first_name: to.first_name.clone(),
                other_name: format!("{} {}", other.first_name, other.last_name),
                other_email: other.email.clone(),
                other_phone: other.phone.as_ref().map(|p| p.as_str().to_owned()),
                first_check_in: check_in.format("%d/%m/%Y").to_string(),
            },
            now,
        )
        .transact_put(table)
    };
    let mut writes = vec![transact_update(activate)?];
    writes.extend(people_moves(table, sides(pair, &people), transition, now)?);
    writes.push(started(mentee, mentor)?);
    writes.push(started(mentor, mentee)?);
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(pair = pair.id, "pair started");
            Ok(Some(Answered::Started))
        }
        Err(error) if first_condition_failed(&error) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// What a transition writes to the people and the mail to the side it tells.
fn moves_and_news(
    table: &str,
    pair: &Pair,
    people: &HashMap<String, Member>,
    transition: &Transition,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut writes = people_moves(table, sides(pair, people), transition, now)?;
    if let Some(other) = told(pair, people, transition) {
        writes.push(not_going_ahead(
            table,
            &other.id,
            other.role,
            &other.first_name,
            now,
        )?);
    }
    Ok(writes)
}

/// The side a transition tells, if they are still there.
fn told<'a>(
    pair: &Pair,
    people: &'a HashMap<String, Member>,
    transition: &Transition,
) -> Option<&'a Member> {
    people.get(pair.id_of(transition.tell_other_side?))
}

/// One side declines: the pair is closed, the mentor's place freed, the
/// mentee back in the pool, and the other side told.
#[tracing::instrument(skip_all, fields(pair = pair_id, ?side))]
pub async fn decline(
    app: &Matching,
    pair_id: &str,
    side: Role,
    now: DateTime<Utc>,
) -> Result<Answered, StoreError> {
    let Some(pair) = read(&app.store, pair_id).await? else {
        return Ok(Answered::Closed(PairStatus::Closed));
    };
    let transition = match pair::apply(pair.state(), PairEvent::Decline(side)) {
        Ok(transition) if transition.changes() => transition,
        _ => return Ok(Answered::standing(pair.status)),
    };
    let people = profiles(&app.store, &[&pair.mentee_id, &pair.mentor_id]).await?;
    let table = &app.store.table;
    let mut writes = vec![transact_update(
        Update::builder()
            .table_name(table)
            .set_key(Some(Key::pair(&pair.id).attributes()))
            .update_expression(
                "SET #status = :declined, declined_by = :side, ended_at = :now, due_sk = :now",
            )
            .condition_expression("#status = :proposed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":declined", text(transition.to.status.as_str()))
            .expression_attribute_values(":proposed", text(PairStatus::Proposed.as_str()))
            .expression_attribute_values(":side", text(side.as_str()))
            .expression_attribute_values(":now", text(timestamp(now))),
    )?];
    writes.extend(moves_and_news(table, &pair, &people, &transition, now)?);
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(pair = pair.id, ?side, "pair declined");
            Ok(Answered::Declined)
        }
        Err(error) if first_condition_failed(&error) => {
            // Moved meanwhile: answer with where it stands now.
            Ok(read(&app.store, pair_id)
                .await?
                .map_or(Answered::Closed(PairStatus::Closed), |p| {
                    Answered::standing(p.status)
                }))
        }
        Err(error) => Err(error.into()),
    }
}

/// The association closes a pair (active or still proposed): the duration
/// is recorded, the mentor's place freed, both people told (and `journal`
/// written) in the same transaction. A mentee who never heard from the
/// mentor goes back to the pool. A pair already over is left as it is.
#[tracing::instrument(skip_all, fields(pair = pair.id, ?reason))]
pub async fn close(
    app: &Matching,
    pair: &Pair,
    reason: CloseReason,
    association_name: &str,
    journal: Option<aws_sdk_dynamodb::types::TransactWriteItem>,
    now: DateTime<Utc>,
) -> Result<Pair, StoreError> {
    let transition = match pair::apply(pair.state(), PairEvent::Close(reason)) {
        Ok(transition) if transition.changes() => transition,
        _ => return Ok(pair.clone()),
    };
    let people = profiles(&app.store, &[&pair.mentee_id, &pair.mentor_id]).await?;
    let since = pair
        .started_at
        .as_deref()
        .unwrap_or(&pair.proposed_at)
        .parse::<DateTime<Utc>>()
        .unwrap_or(now);
    let duration_days = (now - since).num_days();
    let table = &app.store.table;
    let mut writes = vec![transact_update(
        Update::builder()
            .table_name(table)
            .set_key(Some(Key::pair(&pair.id).attributes()))
            .update_expression(
                "SET #status = :closed, close_reason = :reason, ended_at = :now, duration_days = :days, due_sk = :now",
            )
            .condition_expression("#status = :was")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed", text(transition.to.status.as_str()))
            .expression_attribute_values(":was", text(pair.status.as_str()))
            .expression_attribute_values(":reason", text(reason.as_str()))
            .expression_attribute_values(":now", text(timestamp(now)))
            .expression_attribute_values(":days", AttributeValue::N(duration_days.to_string())),
    )?];
    writes.extend(people_moves(table, sides(pair, &people), &transition, now)?);
    // Both are told, in the transaction that closes it.
    for (role, id) in [
        (Role::Mentee, &pair.mentee_id),
        (Role::Mentor, &pair.mentor_id),
    ] {
        let Some(person) = people.get(id) else {
            continue;
        };
        let mail = OutboxMail::new(
            Key::person_profile(id),
            MailContent::PairClosed {
                role,
                first_name: person.first_name.clone(),
                association_name: association_name.to_owned(),
                paired_again: transition.mentee == pair::MenteeMove::BackToPool,
                new_request_url: app.links.site("/demande"),
            },
            now,
        );
        writes.push(mail.transact_put(table)?);
    }
    writes.extend(journal);
    app.store.transact(writes).await?;
    tracing::info!(pair = pair.id, ?reason, "pair closed");
    Ok(Pair {
        status: transition.to.status,
        close_reason: Some(reason),
        ended_at: Some(timestamp(now)),
        duration_days: Some(duration_days),
        ..pair.clone()
    })
}

/// A person of the pair erased their data: the pair keeps no trace of them
/// (their id and the reasons go), ends if it was still going, and the other
/// side gets their place back or returns to the pool. Idempotent: a pair
/// that no longer names the person is left alone.
#[tracing::instrument(skip_all, fields(pair = pair_id))]
pub async fn forget(
    app: &Matching,
    pair_id: &str,
    person_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(pair) = read(&app.store, pair_id).await? else {
        return Ok(());
    };
    let (side, attribute, name) = if pair.mentee_id == person_id {
        (Role::Mentee, "mentee_id", "mentee_first_name")
    } else if pair.mentor_id == person_id {
        (Role::Mentor, "mentor_id", "mentor_first_name")
    } else {
        return Ok(());
    };
    let Ok(transition) = pair::apply(pair.state(), PairEvent::Erase(side)) else {
        return Ok(());
    };
    let table = &app.store.table;
    let mut anonymise = Update::builder()
        .table_name(table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .condition_expression("#side = :person")
        .expression_attribute_names("#side", attribute)
        .expression_attribute_names("#name", name)
        .expression_attribute_values(":person", text(person_id))
        .expression_attribute_values(":erased", text(pair::ERASED_SIDE))
        .expression_attribute_values(":assoc_sk", text(index::erased_pair_sort(&pair.id)));
    anonymise = if transition.changes() {
        anonymise
            .update_expression(
                "SET #side = :erased, assoc_sk = :assoc_sk, #status = :closed, close_reason = :reason, ended_at = :now, due_sk = :now REMOVE reasons, #name",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed", text(transition.to.status.as_str()))
            .expression_attribute_values(":reason", text(CloseReason::Erased.as_str()))
            .expression_attribute_values(":now", text(timestamp(now)))
    } else {
        anonymise
            .update_expression("SET #side = :erased, assoc_sk = :assoc_sk REMOVE reasons, #name")
    };
    let mut writes = vec![transact_update(anonymise)?];
    if transition.changes() {
        let people = profiles(&app.store, &[&pair.mentee_id, &pair.mentor_id]).await?;
        writes.extend(moves_and_news(table, &pair, &people, &transition, now)?);
    }
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(pair = pair.id, "erased person taken out of the pair");
            Ok(())
        }
        Err(error) if first_condition_failed(&error) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Every pair the association proposed (one Query of its pairs' index).
#[tracing::instrument(skip_all, fields(association = slug))]
pub async fn of_association(store: &Store, slug: &str) -> Result<Vec<Pair>, StoreError> {
    let items =
        shared::store::query_all(store.by_association(index::association_pairs(slug), None))
            .await?;
    // The index also lists the pairs rejected in review (not pairs: never shown).
    Ok(items
        .into_iter()
        .filter(|item| {
            item.get("sk")
                .and_then(|sk| sk.as_s().ok())
                .map(String::as_str)
                == Some(sort::PAIR)
        })
        .filter_map(|item| serde_dynamo::from_item(item).ok())
        .collect())
}

/// One side's answer to one check-in, as its link names it.
#[derive(Debug, Clone)]
pub struct CheckIn {
    pub pair_id: String,
    pub side: Role,
    pub round: u32,
    pub answer: CheckInAnswer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInRecorded {
    Recorded,
    /// This side had answered this check-in already: the first answer stays.
    AlreadyAnswered,
    PairOver,
}

/// Records an answer on its check-in; the pair becomes at risk when the
/// answers say so (`shared::pair::risk`).
#[tracing::instrument(skip_all, fields(pair = check_in.pair_id, round = check_in.round))]
pub async fn answer_check_in(
    app: &Matching,
    check_in: &CheckIn,
    now: DateTime<Utc>,
) -> Result<CheckInRecorded, StoreError> {
    let Some(pair) = read(&app.store, &check_in.pair_id).await? else {
        return Ok(CheckInRecorded::PairOver);
    };
    if pair.status != PairStatus::Active {
        return Ok(CheckInRecorded::PairOver);
    }
    let Some(index) = pair
        .check_ins
        .iter()
        .position(|round| round.round == check_in.round)
    else {
        return Ok(CheckInRecorded::PairOver);
    };
    let side = check_in.side.as_str();
    let answered = pair::Answered {
        answer: check_in.answer,
        at: now,
    };
    let mut rounds = pair.check_ins.clone();
    let slot = match check_in.side {
        Role::Mentee => &mut rounds[index].mentee,
        Role::Mentor => &mut rounds[index].mentor,
    };
    if slot.is_some() {
        return Ok(CheckInRecorded::AlreadyAnswered);
    }
    *slot = Some(answered);
    let path = format!("check_ins[{index}].{side}");
    let mut sets = format!("{path} = :answer");
    let mut update = app
        .store
        .client
        .update_item()
        .table_name(&app.store.table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .condition_expression(format!(
            "#status = :active AND attribute_not_exists({path})"
        ))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":active", text(PairStatus::Active.as_str()))
        .expression_attribute_values(":answer", serde_dynamo::to_attribute_value(answered)?);
    if pair.risk.is_none()
        && let Some(reason) = pair::risk(&rounds)
    {
        sets.push_str(", risk = :risk");
        update = update.expression_attribute_values(
            ":risk",
            serde_dynamo::to_attribute_value(pair::Risk { reason, since: now })?,
        );
    }
    match update.update_expression(format!("SET {sets}")).send().await {
        Ok(_) => {
            tracing::info!(
                pair = pair.id,
                answer = check_in.answer.as_str(),
                "check-in answered"
            );
            Ok(CheckInRecorded::Recorded)
        }
        Err(error) if shared::store::condition_failed(&error) => {
            Ok(CheckInRecorded::AlreadyAnswered)
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeRecorded {
    Recorded,
    /// This side had answered already: the first answers stay.
    AlreadyAnswered,
    /// No survey for this pair (erased, or never sent).
    Gone,
}

/// Records one side's survey answers apart from any person (see
/// `shared::outcome`), and on the pair that this side answered.
#[tracing::instrument(skip_all, fields(pair = pair_id, ?side))]
pub async fn answer_outcome(
    app: &Matching,
    pair_id: &str,
    side: Role,
    answers: OutcomeAnswers,
    now: DateTime<Utc>,
) -> Result<OutcomeRecorded, StoreError> {
    let Some(pair) = read(&app.store, pair_id).await? else {
        return Ok(OutcomeRecorded::Gone);
    };
    if pair.outcome_sent_at.is_none() {
        return Ok(OutcomeRecorded::Gone);
    }
    let answered = match side {
        Role::Mentee => &pair.mentee_outcome_at,
        Role::Mentor => &pair.mentor_outcome_at,
    };
    if answered.is_some() {
        return Ok(OutcomeRecorded::AlreadyAnswered);
    }
    let mentee = profiles(&app.store, &[&pair.mentee_id])
        .await?
        .remove(&pair.mentee_id);
    let started = pair
        .started_at
        .as_deref()
        .and_then(|at| at.parse::<DateTime<Utc>>().ok())
        .unwrap_or(now);
    let context = Context {
        association: pair.association.clone(),
        departement: mentee.as_ref().map(|m| m.departement.clone()),
        situation_at_signup: mentee.as_ref().and_then(|m| m.situation),
        age: mentee
            .as_ref()
            .and_then(|m| m.birth_date)
            .and_then(|birth| now.date_naive().years_since(birth)),
        months_paired: ((now - started).num_days() / 30).max(0) as u32,
    };
    let outcome = Outcome::new(side, context, answers, now.date_naive());
    let attribute = format!("{}_outcome_at", side.as_str());
    let table = &app.store.table;
    let mark = Update::builder()
        .table_name(table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .update_expression(format!("SET {attribute} = :now"))
        .condition_expression(format!(
            "attribute_exists(outcome_sent_at) AND attribute_not_exists({attribute})"
        ))
        .expression_attribute_values(":now", text(timestamp(now)));
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(serde_dynamo::to_item(&outcome)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    let writes = vec![
        transact_update(mark)?,
        TransactWriteItem::builder().put(put).build(),
    ];
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(pair = pair.id, ?side, "outcome recorded");
            Ok(OutcomeRecorded::Recorded)
        }
        Err(error) if first_condition_failed(&error) => Ok(OutcomeRecorded::AlreadyAnswered),
        Err(error) => Err(error.into()),
    }
}
