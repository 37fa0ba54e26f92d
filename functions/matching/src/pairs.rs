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

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::{
    directory::{CounterChange, counters_update, read_association},
    mail::{MailContent, OutboxMail},
    pair::{self, CloseReason, MenteeMove, PairEvent, PairState, PairStatus, Transition},
    people::{ProfileStatus, Role},
    store::{
        Key, Store, StoreError, cancellation_reasons, due_items, first_condition_failed,
        is_condition_failure, keys::index, timestamp, transact_update,
    },
    tokens::Purpose,
};

use crate::{Matching, algorithm::Points, pool::Member};

/// How long the answer links of a proposal work.
pub const ANSWER_WINDOW: Duration = Duration::days(14);
/// When the first check-in comes after both accepted.
pub const FIRST_CHECK_IN: Duration = Duration::days(21);

/// A pair as stored (`PAIR#<id>` / `PAIR`), listed under its association.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub association: String,
    pub mentee_id: String,
    pub mentor_id: String,
    pub status: PairStatus,
    pub points: Points,
    pub score: u32,
    /// Removed when one of the two is erased.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The run that proposed it; `None` for a manual proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub proposed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentee_accepted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentor_accepted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_check_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_by: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<i64>,
    pub assoc_pk: String,
    pub assoc_sk: String,
}

impl Pair {
    /// Where it stands, as the state machine sees it.
    pub fn state(&self) -> PairState {
        PairState {
            status: self.status,
            mentee_accepted: self.mentee_accepted_at.is_some(),
            mentor_accepted: self.mentor_accepted_at.is_some(),
        }
    }

    fn id_of(&self, side: Role) -> &str {
        match side {
            Role::Mentee => &self.mentee_id,
            Role::Mentor => &self.mentor_id,
        }
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
}

/// A pair to propose, with its points and reasons; `run_id` when a run proposes it.
pub struct Proposal<'a> {
    pub mentee: &'a Member,
    pub mentor: &'a Member,
    pub points: Points,
    pub reasons: Vec<String>,
    pub run_id: Option<&'a str>,
}

/// The answer link of one side of a pair.
fn answer_url(app: &Matching, pair_id: &str, role: Role, now: DateTime<Utc>) -> String {
    let token = app.keyring.tokens.issue(
        Purpose::PairAnswer,
        &format!("{pair_id}:{}", role.as_str()),
        now,
        ANSWER_WINDOW,
    );
    app.links.api(&format!("/v1/pairs/answer?token={token}"))
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
    } = proposal;
    let id = pair_id(&mentee.id, &mentor.id);
    let key = Key::pair(&id);
    let pair = Pair {
        pk: key.pk,
        sk: key.sk,
        id: id.clone(),
        association: association.slug.to_owned(),
        mentee_id: mentee.id.clone(),
        mentor_id: mentor.id.clone(),
        status: PairStatus::Proposed,
        points,
        score: points.total(),
        reasons: reasons.clone(),
        run_id: run_id.map(str::to_owned),
        proposed_at: timestamp(now),
        mentee_accepted_at: None,
        mentor_accepted_at: None,
        started_at: None,
        first_check_in: None,
        declined_by: None,
        ended_at: None,
        close_reason: None,
        duration_days: None,
        assoc_pk: index::association_pairs(association.slug),
        assoc_sk: index::association_pair_sort(&mentee.id, &mentor.id),
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
            .update_expression("ADD pairs_held :one")
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
                "SET #status = :proposed, assoc_sk = :assoc_sk REMOVE due_pk, due_sk",
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
                answer_url: answer_url(app, &id, to.role, now),
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
    // The write order matters: the cancellation reasons of the first three
    // say which guard refused.
    let writes = vec![
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
    ];
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
    let check_in = now + FIRST_CHECK_IN;
    let table = &app.store.table;
    let activate = Update::builder()
        .table_name(table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .update_expression(format!(
            "SET #status = :active, {} = :now, started_at = :now, first_check_in = :check_in, due_pk = :due_pk, due_sk = :check_in",
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
        .expression_attribute_values(":due_pk", text(index::check_in_due(&pair.id)));
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
    writes.extend(people_moves(table, pair, &people, transition, now)?);
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

/// The writes a transition makes to the two people and to their
/// association's counters, for the people still there (an erased one is
/// left alone, and so are the counters they would have moved).
fn people_moves(
    table: &str,
    pair: &Pair,
    people: &HashMap<String, Member>,
    transition: &Transition,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut writes = Vec::new();
    let mut counted = CounterChange::default();
    let change = transition.counters();
    if transition.mentor_places != 0 && people.contains_key(&pair.mentor_id) {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(Key::person_profile(&pair.mentor_id).attributes()))
            .update_expression("ADD pairs_held :change")
            .expression_attribute_values(
                ":change",
                AttributeValue::N(transition.mentor_places.to_string()),
            );
        let update = if transition.mentor_places < 0 {
            update
                .condition_expression("pairs_held > :zero")
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
        } else {
            update
        };
        writes.push(transact_update(update)?);
        counted.free_mentor_places = change.free_mentor_places;
    }
    let mentee_becomes = match transition.mentee {
        MenteeMove::Stays | MenteeMove::Proposed => None,
        MenteeMove::Paired => Some(ProfileStatus::Paired),
        MenteeMove::BackToPool => Some(ProfileStatus::Acknowledged),
        MenteeMove::Done => Some(ProfileStatus::Closed),
    };
    if let (Some(becomes), Some(mentee)) = (mentee_becomes, people.get(&pair.mentee_id))
        && matches!(
            mentee.status,
            ProfileStatus::Proposed | ProfileStatus::Paired
        )
    {
        writes.push(transact_update(
            Update::builder()
                .table_name(table)
                .set_key(Some(Key::person_profile(&pair.mentee_id).attributes()))
                .update_expression("SET #status = :next, assoc_sk = :assoc_sk")
                .condition_expression("#status = :was")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":next", text(becomes.as_str()))
                .expression_attribute_values(":was", text(mentee.status.as_str()))
                .expression_attribute_values(
                    ":assoc_sk",
                    text(index::association_request_sort(
                        becomes.as_str(),
                        &timestamp(now),
                        &pair.mentee_id,
                    )),
                ),
        )?);
        counted.waiting_mentees = change.waiting_mentees;
    }
    if !counted.is_empty() {
        writes.push(transact_update(counters_update(
            table,
            &pair.association,
            &counted,
        ))?);
    }
    Ok(writes)
}

/// The mail telling `other` that their proposal will not go ahead.
fn not_going_ahead(
    table: &str,
    other: &Member,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, StoreError> {
    OutboxMail::new(
        Key::person_profile(&other.id),
        MailContent::PairNotGoingAhead {
            role: other.role,
            first_name: other.first_name.clone(),
        },
        now,
    )
    .transact_put(table)
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
            .update_expression("SET #status = :declined, declined_by = :side, ended_at = :now")
            .condition_expression("#status = :proposed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":declined", text(transition.to.status.as_str()))
            .expression_attribute_values(":proposed", text(PairStatus::Proposed.as_str()))
            .expression_attribute_values(":side", text(side.as_str()))
            .expression_attribute_values(":now", text(timestamp(now))),
    )?];
    writes.extend(people_moves(table, &pair, &people, &transition, now)?);
    if let Some(other) = told(&pair, &people, &transition) {
        writes.push(not_going_ahead(table, other, now)?);
    }
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
/// is recorded and the mentor's place freed. A mentee who never heard from
/// the mentor goes back to the pool. A pair already over is left as it is.
#[tracing::instrument(skip_all, fields(pair = pair.id, ?reason))]
pub async fn close(
    app: &Matching,
    pair: &Pair,
    reason: CloseReason,
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
                "SET #status = :closed, close_reason = :reason, ended_at = :now, duration_days = :days",
            )
            .condition_expression("#status = :was")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed", text(transition.to.status.as_str()))
            .expression_attribute_values(":was", text(pair.status.as_str()))
            .expression_attribute_values(":reason", text(reason.as_str()))
            .expression_attribute_values(":now", text(timestamp(now)))
            .expression_attribute_values(":days", AttributeValue::N(duration_days.to_string())),
    )?];
    writes.extend(people_moves(table, pair, &people, &transition, now)?);
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
    let (side, attribute) = if pair.mentee_id == person_id {
        (Role::Mentee, "mentee_id")
    } else if pair.mentor_id == person_id {
        (Role::Mentor, "mentor_id")
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
        .expression_attribute_values(":person", text(person_id))
        .expression_attribute_values(":erased", text("erased"))
        .expression_attribute_values(":assoc_sk", text(index::erased_pair_sort(&pair.id)));
    anonymise = if transition.changes() {
        anonymise
            .update_expression(
                "SET #side = :erased, assoc_sk = :assoc_sk, #status = :closed, close_reason = :reason, ended_at = :now REMOVE reasons",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed", text(transition.to.status.as_str()))
            .expression_attribute_values(":reason", text(CloseReason::Erased.as_str()))
            .expression_attribute_values(":now", text(timestamp(now)))
    } else {
        anonymise.update_expression("SET #side = :erased, assoc_sk = :assoc_sk REMOVE reasons")
    };
    let mut writes = vec![transact_update(anonymise)?];
    if transition.changes() {
        let people = profiles(&app.store, &[&pair.mentee_id, &pair.mentor_id]).await?;
        writes.extend(people_moves(table, &pair, &people, &transition, now)?);
        if let Some(other) = told(&pair, &people, &transition) {
            writes.push(not_going_ahead(table, other, now)?);
        }
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

/// The nightly check-ins: each active pair whose first check-in date has
/// come gets one mail per person; the date is cleared in the same
/// transaction, so a second run the same night sends nothing.
#[tracing::instrument(skip_all)]
pub async fn check_ins(app: &Matching, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let today = now.format("%Y-%m-%d").to_string();
    let mut sent = 0;
    for item in due_items(&app.store, index::check_in_due_partitions(), &today).await? {
        let pair: Pair = serde_dynamo::from_item(item)?;
        if check_in(app, &pair, now).await? {
            sent += 1;
        }
    }
    tracing::info!(pairs = sent, "check-ins sent");
    Ok(sent)
}

async fn check_in(app: &Matching, pair: &Pair, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let people = profiles(&app.store, &[&pair.mentee_id, &pair.mentor_id]).await?;
    let association = read_association(&app.store, &pair.association)
        .await?
        .map(|record| record.name)
        .unwrap_or_default();
    let table = &app.store.table;
    let mut writes = vec![transact_update(
        Update::builder()
            .table_name(table)
            .set_key(Some(Key::pair(&pair.id).attributes()))
            .update_expression("SET checked_in_at = :now REMOVE due_pk, due_sk")
            .condition_expression("#status = :active AND attribute_exists(due_pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", text(PairStatus::Active.as_str()))
            .expression_attribute_values(":now", text(timestamp(now))),
    )?];
    if pair.status == PairStatus::Active {
        for person in [&pair.mentee_id, &pair.mentor_id]
            .iter()
            .filter_map(|id| people.get(*id))
        {
            writes.push(
                OutboxMail::new(
                    Key::person_profile(&person.id),
                    MailContent::PairCheckIn {
                        role: person.role,
                        first_name: person.first_name.clone(),
                        association_name: association.clone(),
                    },
                    now,
                )
                .transact_put(table)?,
            );
        }
    }
    match app.store.transact(writes).await {
        Ok(_) => Ok(pair.status == PairStatus::Active),
        Err(error) if first_condition_failed(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}
