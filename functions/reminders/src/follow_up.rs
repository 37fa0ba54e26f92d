//! A pair's follow-up, one due item at a time: what `shared::pair` says is
//! next (an answer reminder, the expiry of a proposal, a monthly check-in,
//! the outcome survey, the programme's end, the deletion of a closed pair
//! past the retention period), done in one transaction with its mails, the pair's
//! next due date set in the same write. Every write is conditioned on the
//! due date as read: a second run finds it moved and does nothing.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, TransactWriteItem, Update, builders::UpdateBuilder,
};
use chrono::{DateTime, Utc};
use shared::{
    directory::month_of,
    mail::{MailContent, OutboxMail},
    pair::{
        self, CheckInRound, CloseReason, FollowUp, Pair, PairEvent, ProgrammeEndQuestion, Risk,
        next_follow_up,
    },
    pair_store::{
        Sides, answer_url, check_in_links, not_going_ahead, people_moves, programme_end_links,
        survey_url,
    },
    people::{ProfileStatus, Role},
    store::{Item, Key, StoreError, first_condition_failed, timestamp, transact_update},
};

use crate::Reminders;

fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Does the due item `item` (a pair); `false` when there was nothing to do
/// (done already, or moved on since the query).
#[tracing::instrument(skip_all)]
pub async fn due(app: &Reminders, item: &Item, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let pair: Pair = serde_dynamo::from_item(item.clone())?;
    let Some(was) = pair.due_sk.clone() else {
        return Ok(false);
    };
    let Some((at, follow_up)) = next_follow_up(&pair.progress(app.retention.inactive_for)) else {
        // Over: it leaves the index.
        let update = on_time(app, &pair, &was).update_expression("REMOVE due_pk, due_sk");
        return apply(app, vec![transact_update(update)?]).await;
    };
    if at > now {
        // Its date moved later than the index says: put it right.
        let update = on_time(app, &pair, &was)
            .update_expression("SET due_sk = :next")
            .expression_attribute_values(":next", text(timestamp(at)));
        apply(app, vec![transact_update(update)?]).await?;
        return Ok(false);
    }
    if follow_up == FollowUp::Purge {
        let done = apply(app, purge(app, &pair, &was)?).await?;
        if done {
            tracing::info!(
                pair = pair.id,
                "closed pair deleted past the retention period"
            );
        }
        return Ok(done);
    }
    let association = association_name(app, &pair, now).await?;
    let writes = match follow_up {
        FollowUp::AnswerReminder => answer_reminder(app, &pair, &association, now)?,
        FollowUp::Expiry => expiry(app, &pair, &was, &association, now).await?,
        FollowUp::CheckIn(round) => check_in(app, &pair, &was, &association, round, now)?,
        FollowUp::Outcome => outcome(app, &pair, &association, now)?,
        FollowUp::ProgrammeEnd => programme_end(app, &pair, &was, &association, now)?,
        FollowUp::Purge => unreachable!("done above: a purge mails nobody"),
    };
    let done = apply(app, writes).await?;
    if done {
        tracing::info!(pair = pair.id, ?follow_up, "follow-up done");
    }
    Ok(done)
}

/// The pair's update, conditioned on its due date as read and its status.
fn on_time(app: &Reminders, pair: &Pair, was: &str) -> UpdateBuilder {
    Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .condition_expression("due_sk = :was AND #status = :status")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":was", text(was))
        .expression_attribute_values(":status", text(pair.status.as_str()))
}

/// Writes a follow-up; `false` when the pair moved since it was read.
pub(crate) async fn apply(
    app: &Reminders,
    writes: Vec<TransactWriteItem>,
) -> Result<bool, StoreError> {
    match app.store.transact(writes).await {
        Ok(_) => Ok(true),
        Err(error) if first_condition_failed(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

async fn association_name(
    app: &Reminders,
    pair: &Pair,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let directory = app.directory.snapshot(&app.store, &month_of(now)).await?;
    Ok(directory
        .get(&pair.association)
        .map(|listed| listed.record.name.clone())
        .unwrap_or_default())
}

/// The due date after this follow-up, on the pair as it will be.
fn next_due(app: &Reminders, pair: &Pair) -> Option<String> {
    next_follow_up(&pair.progress(app.retention.inactive_for)).map(|(at, _)| timestamp(at))
}

/// Sets the pair's next due date, or takes it off the index.
fn moved_on(update: UpdateBuilder, sets: &str, next: Option<String>) -> UpdateBuilder {
    match next {
        Some(next) => update
            .update_expression(format!("SET {sets}, due_sk = :next"))
            .expression_attribute_values(":next", text(next)),
        None => update.update_expression(format!("SET {sets} REMOVE due_pk, due_sk")),
    }
}

fn mail(
    to: Key,
    content: MailContent,
    now: DateTime<Utc>,
    table: &str,
) -> Result<TransactWriteItem, StoreError> {
    OutboxMail::new(to, content, now).transact_put(table)
}

/// The pair's update that records `attribute` = now and moves its due
/// date on (from its due date as read), and one mail to each of `roles`.
fn marked_and_mailed(
    app: &Reminders,
    pair: &Pair,
    attribute: &str,
    marked: &Pair,
    roles: &[Role],
    content: impl Fn(Role) -> MailContent,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let was = pair.due_sk.as_deref().unwrap_or_default();
    let update = moved_on(
        on_time(app, pair, was).expression_attribute_values(":now", text(timestamp(now))),
        &format!("{attribute} = :now"),
        next_due(app, marked),
    );
    let mut writes = vec![transact_update(update)?];
    for role in roles {
        writes.push(mail(
            Key::person_profile(pair.id_of(*role)),
            content(*role),
            now,
            &app.store.table,
        )?);
    }
    Ok(writes)
}

/// Five days without an answer: the side that has not accepted is reminded.
fn answer_reminder(
    app: &Reminders,
    pair: &Pair,
    association: &str,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let reminded = Pair {
        answer_reminded_at: Some(timestamp(now)),
        ..pair.clone()
    };
    let silent: Vec<Role> = [Role::Mentee, Role::Mentor]
        .into_iter()
        .filter(|role| match role {
            Role::Mentee => pair.mentee_accepted_at.is_none(),
            Role::Mentor => pair.mentor_accepted_at.is_none(),
        })
        .collect();
    marked_and_mailed(
        app,
        pair,
        "answer_reminded_at",
        &reminded,
        &silent,
        |role| MailContent::PairAnswerReminder {
            role,
            first_name: pair.first_name_of(role).to_owned(),
            association_name: association.to_owned(),
            answer_url: answer_url(&app.keyring, &app.links, &pair.id, role, now),
        },
        now,
    )
}

/// Fourteen days without both answers: the proposal ends, the mentor's
/// place is freed, the mentee goes back to the pool; both and the
/// association are told.
async fn expiry(
    app: &Reminders,
    pair: &Pair,
    was: &str,
    association: &str,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let Ok(transition) = pair::apply(pair.state(), PairEvent::Expire) else {
        return Ok(Vec::new());
    };
    let table = &app.store.table;
    let people = statuses(app, pair).await?;
    let update = on_time(app, pair, was)
        .update_expression(
            "SET #status = :closed, close_reason = :reason, ended_at = :now, due_sk = :purge",
        )
        .expression_attribute_values(":closed", text(transition.to.status.as_str()))
        .expression_attribute_values(":reason", text(CloseReason::Expired.as_str()))
        .expression_attribute_values(":now", text(timestamp(now)))
        .expression_attribute_values(":purge", text(timestamp(now + app.retention.inactive_for)));
    let mut writes = vec![transact_update(update)?];
    let sides = Sides {
        association: &pair.association,
        mentee_id: &pair.mentee_id,
        mentor_id: &pair.mentor_id,
        mentor_present: people.contains_key(&pair.mentor_id),
        mentee_status: people.get(&pair.mentee_id).copied(),
    };
    writes.extend(people_moves(table, sides, &transition, now)?);
    for role in [Role::Mentee, Role::Mentor] {
        if people.contains_key(pair.id_of(role)) {
            writes.push(not_going_ahead(
                table,
                pair.id_of(role),
                role,
                pair.first_name_of(role),
                now,
            )?);
        }
    }
    writes.push(mail(
        Key::association(&pair.association),
        MailContent::ProposalExpired {
            association_name: association.to_owned(),
            pair_id: pair.id.clone(),
        },
        now,
        table,
    )?);
    Ok(writes)
}

/// The statuses of the pair's two people (one read); the erased are missing.
async fn statuses(
    app: &Reminders,
    pair: &Pair,
) -> Result<HashMap<String, ProfileStatus>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Status {
        id: String,
        status: ProfileStatus,
    }
    let keys = [&pair.mentee_id, &pair.mentor_id].map(|id| Key::person_profile(id));
    let items = app.store.batch_get(&keys, "id, #status").await?;
    Ok(items
        .into_iter()
        .filter_map(|item| serde_dynamo::from_item::<_, Status>(item).ok())
        .map(|person| (person.id, person.status))
        .collect())
}

/// The monthly check-in: both are asked where they stand, with four
/// one-click answers; two check-ins without any answer put the pair at risk.
fn check_in(
    app: &Reminders,
    pair: &Pair,
    was: &str,
    association: &str,
    round: u32,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let table = &app.store.table;
    let sent = CheckInRound {
        round,
        sent_at: now,
        mentee: None,
        mentor: None,
    };
    let mut checked = pair.clone();
    checked.check_ins.push(sent.clone());
    let mut sets = "check_ins = list_append(if_not_exists(check_ins, :none), :round)".to_owned();
    let mut update = on_time(app, pair, was)
        .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
        .expression_attribute_values(
            ":round",
            AttributeValue::L(vec![serde_dynamo::to_attribute_value(&sent)?]),
        );
    if pair.risk.is_none()
        && let Some(reason) = pair::risk(&checked.check_ins)
    {
        sets.push_str(", risk = :risk");
        update = update.expression_attribute_values(
            ":risk",
            serde_dynamo::to_attribute_value(Risk { reason, since: now })?,
        );
    }
    let mut writes = vec![transact_update(moved_on(
        update,
        &sets,
        next_due(app, &checked),
    ))?];
    for role in [Role::Mentee, Role::Mentor] {
        writes.push(mail(
            Key::person_profile(pair.id_of(role)),
            MailContent::PairCheckIn {
                role,
                first_name: pair.first_name_of(role).to_owned(),
                association_name: association.to_owned(),
                round,
                answers: check_in_links(&app.keyring, &app.links, &pair.id, role, round, now),
            },
            now,
            table,
        )?);
    }
    Ok(writes)
}

/// Six months in: both are asked what the mentoring led to.
fn outcome(
    app: &Reminders,
    pair: &Pair,
    association: &str,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let surveyed = Pair {
        outcome_sent_at: Some(timestamp(now)),
        ..pair.clone()
    };
    marked_and_mailed(
        app,
        pair,
        "outcome_sent_at",
        &surveyed,
        &[Role::Mentee, Role::Mentor],
        |role| MailContent::OutcomeSurvey {
            role,
            first_name: pair.first_name_of(role).to_owned(),
            association_name: association.to_owned(),
            survey_url: survey_url(&app.keyring, &app.links, &pair.id, role, now),
        },
        now,
    )
}

/// Two weeks before the programme ends: both are asked whether they go on,
/// and the association is told that it closes or extends the pair.
fn programme_end(
    app: &Reminders,
    pair: &Pair,
    was: &str,
    association: &str,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let table = &app.store.table;
    let Some(ends) = pair.programme_ends_at() else {
        return Ok(Vec::new());
    };
    let question = ProgrammeEndQuestion {
        months: pair.programme_months,
        asked_at: now,
        ends_on: ends.date_naive(),
        mentee: None,
        mentor: None,
    };
    let asked = Pair {
        programme_end: Some(question.clone()),
        ..pair.clone()
    };
    let update = moved_on(
        on_time(app, pair, was)
            .expression_attribute_values(":question", serde_dynamo::to_attribute_value(&question)?),
        "programme_end = :question",
        next_due(app, &asked),
    );
    let mut writes = vec![transact_update(update)?];
    if ends <= now {
        // A pair from before programme lengths were kept, past its end: its
        // association decides without a question dated in the past.
        return Ok(writes);
    }
    let ends_on = ends.format("%d/%m/%Y").to_string();
    for role in [Role::Mentee, Role::Mentor] {
        writes.push(mail(
            Key::person_profile(pair.id_of(role)),
            MailContent::ProgrammeEnding {
                role,
                first_name: pair.first_name_of(role).to_owned(),
                association_name: association.to_owned(),
                ends_on: ends_on.clone(),
                answers: programme_end_links(
                    &app.keyring,
                    &app.links,
                    &pair.id,
                    role,
                    pair.programme_months,
                    now,
                ),
            },
            now,
            table,
        )?);
    }
    writes.push(mail(
        Key::association(&pair.association),
        MailContent::ProgrammeEndingAssociation {
            association_name: association.to_owned(),
            pair_id: pair.id.clone(),
            ends_on,
        },
        now,
        table,
    )?);
    Ok(writes)
}

/// A closed pair past the retention period: the pair and the references in
/// its people's partitions go (its outcome, kept apart, stays).
fn purge(app: &Reminders, pair: &Pair, was: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
    let table = &app.store.table;
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(Key::pair(&pair.id).attributes()))
        .condition_expression("due_sk = :was AND #status = :status")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":was", text(was))
        .expression_attribute_values(":status", text(pair.status.as_str()))
        .build()?;
    let mut writes = vec![TransactWriteItem::builder().delete(delete).build()];
    for person in [&pair.mentee_id, &pair.mentor_id] {
        if person != shared::pair::ERASED_SIDE {
            let reference = Delete::builder()
                .table_name(table)
                .set_key(Some(Key::person_pair(person, &pair.id).attributes()))
                .build()?;
            writes.push(TransactWriteItem::builder().delete(reference).build());
        }
    }
    Ok(writes)
}
