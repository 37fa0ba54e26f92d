//! Storage of what the pair state machine decides: the writes a transition
//! makes to the two people of a pair and to their association's counters.
//! Matching (answers, closing, erasure) and the reminders (expiry) apply
//! transitions through it.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};

use crate::{
    directory::{CounterChange, counters_update},
    keyring::Keyring,
    links::Links,
    mail::{AnswerLink, MailContent, OutboxMail},
    pair::{CheckInAnswer, GoingOn, MenteeMove, Transition},
    people::{ProfileStatus, Role},
    store::{Key, StoreError, keys::index, timestamp, transact_update},
    tokens::Purpose,
};

/// How long the answer links of a proposal work.
pub const ANSWER_WINDOW: Duration = Duration::days(14);
/// How long a check-in's answer links work: until the next one.
pub const CHECK_IN_ANSWER_WINDOW: Duration = Duration::days(30);

/// A signed link for one side of a pair: `path` with its token.
fn side_link(
    keyring: &Keyring,
    links: &Links,
    purpose: Purpose,
    path: &str,
    subject: &str,
    now: DateTime<Utc>,
    window: Duration,
) -> String {
    let token = keyring.tokens.issue(purpose, subject, now, window);
    links.api(&format!("{path}?token={token}"))
}

/// The link where one side of a proposal answers it.
pub fn answer_url(
    keyring: &Keyring,
    links: &Links,
    pair_id: &str,
    role: Role,
    now: DateTime<Utc>,
) -> String {
    let subject = format!("{pair_id}:{}", role.as_str());
    let (purpose, path) = (Purpose::PairAnswer, "/v1/pairs/answer");
    side_link(keyring, links, purpose, path, &subject, now, ANSWER_WINDOW)
}

/// The four links of one side's check-in: each opens the page that records it.
pub fn check_in_links(
    keyring: &Keyring,
    links: &Links,
    pair_id: &str,
    role: Role,
    round: u32,
    now: DateTime<Utc>,
) -> Vec<AnswerLink> {
    let subject = format!("{pair_id}:{}:{round}", role.as_str());
    let link = side_link(
        keyring,
        links,
        Purpose::PairCheckIn,
        "/v1/pairs/check-in",
        &subject,
        now,
        CHECK_IN_ANSWER_WINDOW,
    );
    one_click(
        &link,
        CheckInAnswer::ALL.map(|answer| (answer.label(), answer.as_str())),
    )
}

/// One link per answer (label, wire name): `link` with `&answer=`.
fn one_click<'a>(
    link: &str,
    answers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<AnswerLink> {
    answers
        .into_iter()
        .map(|(label, answer)| AnswerLink {
            label: label.to_owned(),
            url: format!("{link}&answer={answer}"),
        })
        .collect()
}

/// How long the survey's link works.
pub const SURVEY_WINDOW: Duration = Duration::days(60);

/// The link to one side's six-month survey.
pub fn survey_url(
    keyring: &Keyring,
    links: &Links,
    pair_id: &str,
    role: Role,
    now: DateTime<Utc>,
) -> String {
    let subject = format!("{pair_id}:{}", role.as_str());
    let (purpose, path) = (Purpose::OutcomeSurvey, "/v1/pairs/outcome");
    side_link(keyring, links, purpose, path, &subject, now, SURVEY_WINDOW)
}

/// How long the programme-end question's links work: past the end.
pub const PROGRAMME_END_WINDOW: Duration = Duration::days(45);

/// The two links of one side's programme-end question, for the programme
/// length `months` it asks about.
pub fn programme_end_links(
    keyring: &Keyring,
    links: &Links,
    pair_id: &str,
    role: Role,
    months: u32,
    now: DateTime<Utc>,
) -> Vec<AnswerLink> {
    let subject = format!("{pair_id}:{}:{months}", role.as_str());
    let (purpose, path) = (Purpose::PairProgrammeEnd, "/v1/pairs/programme");
    let link = side_link(
        keyring,
        links,
        purpose,
        path,
        &subject,
        now,
        PROGRAMME_END_WINDOW,
    );
    one_click(
        &link,
        GoingOn::ALL.map(|answer| (answer.label(), answer.as_str())),
    )
}

/// The two people of a pair as its transitions need them.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    pub association: &'a str,
    pub mentee_id: &'a str,
    pub mentor_id: &'a str,
    /// The mentor's profile is still there (not erased).
    pub mentor_present: bool,
    /// The mentee's status as read; `None` once erased.
    pub mentee_status: Option<ProfileStatus>,
}

fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The writes a transition makes to the two people and to their
/// association's counters, for the people still there (an erased one is
/// left alone, and so are the counters they would have moved).
pub fn people_moves(
    table: &str,
    sides: Sides<'_>,
    transition: &Transition,
    now: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut writes = Vec::new();
    let mut counted = CounterChange::default();
    let change = transition.counters();
    if transition.mentor_places != 0 && sides.mentor_present {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(Key::person_profile(sides.mentor_id).attributes()))
            .update_expression("SET last_active_at = :now ADD pairs_held :change")
            .expression_attribute_values(
                ":change",
                AttributeValue::N(transition.mentor_places.to_string()),
            )
            .expression_attribute_values(":now", text(timestamp(now)));
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
    if let (Some(becomes), Some(status)) = (mentee_becomes, sides.mentee_status)
        && matches!(status, ProfileStatus::Proposed | ProfileStatus::Paired)
    {
        writes.push(transact_update(
            Update::builder()
                .table_name(table)
                .set_key(Some(Key::person_profile(sides.mentee_id).attributes()))
                .update_expression(
                    "SET #status = :next, assoc_sk = :assoc_sk, last_active_at = :now",
                )
                .condition_expression("#status = :was")
                .expression_attribute_values(":now", text(timestamp(now)))
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":next", text(becomes.as_str()))
                .expression_attribute_values(":was", text(status.as_str()))
                .expression_attribute_values(
                    ":assoc_sk",
                    text(index::association_request_sort(
                        becomes.as_str(),
                        &timestamp(now),
                        sides.mentee_id,
                    )),
                ),
        )?);
        counted.waiting_mentees = change.waiting_mentees;
    }
    if !counted.is_empty() {
        writes.push(transact_update(counters_update(
            table,
            sides.association,
            &counted,
        ))?);
    }
    Ok(writes)
}

/// The mail telling a person that their proposal will not go ahead.
pub fn not_going_ahead(
    table: &str,
    person_id: &str,
    role: Role,
    first_name: &str,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, StoreError> {
    OutboxMail::new(
        Key::person_profile(person_id),
        MailContent::PairNotGoingAhead {
            role,
            first_name: first_name.to_owned(),
        },
        now,
    )
    .transact_put(table)
}
