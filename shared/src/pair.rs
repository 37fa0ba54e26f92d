//! The pair lifecycle as a pure state machine: which events a pair accepts
//! in each state, and what each transition does to the mentor's places, to
//! the mentee's place in the pool and to the association's counters.
//! Storage applies what the machine decides, in one transaction
//! conditioned on the state the decision was made from.
//!
//! ```text
//!            accept (one side)            accept (the other side)
//!  propose ─▶ Proposed ───────────▶ Proposed ──────────────────────▶ Active
//!               │ decline / close / erase      │                        │ close / erase
//!               ▼                              ▼                        ▼
//!            Declined (decline)  or  Closed (close, erase)           Closed
//! ```
//!
//! Declined and Closed are final: only an erasure still reaches them, and
//! it only takes the erased person's id out of the pair.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{directory::CounterChange, people::Role, store::keys::index};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PairStatus {
    Proposed,
    Active,
    Declined,
    Closed,
}

impl PairStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::Proposed => "proposed",
            PairStatus::Active => "active",
            PairStatus::Declined => "declined",
            PairStatus::Closed => "closed",
        }
    }

    /// Whether the pair still holds the mentor's place.
    pub fn is_going(self) -> bool {
        matches!(self, PairStatus::Proposed | PairStatus::Active)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Completed,
    NoContact,
    Moved,
    Other,
    /// One of the two asked for their data to be erased.
    Erased,
    /// Neither answered within the answer window.
    Expired,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Completed => "completed",
            CloseReason::NoContact => "no_contact",
            CloseReason::Moved => "moved",
            CloseReason::Other => "other",
            CloseReason::Erased => "erased",
            CloseReason::Expired => "expired",
        }
    }
}

/// Where a pair stands: its status and who has accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairState {
    pub status: PairStatus,
    pub mentee_accepted: bool,
    pub mentor_accepted: bool,
}

impl PairState {
    fn accepted(&self, side: Role) -> bool {
        match side {
            Role::Mentee => self.mentee_accepted,
            Role::Mentor => self.mentor_accepted,
        }
    }
}

/// What can happen to a pair once proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairEvent {
    Accept(Role),
    Decline(Role),
    /// The association ends it.
    Close(CloseReason),
    /// One side's data is erased.
    Erase(Role),
    /// The answer window ended before both accepted.
    Expire,
}

/// What becomes of the mentee's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenteeMove {
    /// Nothing changes for it.
    Stays,
    /// Out of the pool while the proposal waits for answers.
    Proposed,
    /// In an active pair.
    Paired,
    /// Back in the association's pool, to be paired again.
    BackToPool,
    /// Out of the pool for good: the mentoring is over.
    Done,
}

/// What one transition does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: Option<PairState>,
    pub to: PairState,
    /// The change of the mentor's `pairs_held`: +1 takes a place, −1 gives it back.
    pub mentor_places: i8,
    pub mentee: MenteeMove,
    /// Both accepted: each receives the other's contact details.
    pub exchange_contacts: bool,
    /// The side that did not act is told the proposal will not go ahead.
    pub tell_other_side: Option<Role>,
}

impl Transition {
    /// Whether anything is written: an event that changes nothing (an
    /// answer given twice) writes nothing and sends nothing.
    pub fn changes(&self) -> bool {
        self.from != Some(self.to)
    }

    /// What the transition does to the association's counters: the
    /// mentees waiting in its pool and the free places of its mentors.
    pub fn counters(&self) -> CounterChange {
        CounterChange {
            routed: None,
            waiting_mentees: match self.mentee {
                MenteeMove::Proposed => -1,
                MenteeMove::BackToPool => 1,
                MenteeMove::Stays | MenteeMove::Paired | MenteeMove::Done => 0,
            },
            free_mentor_places: -i64::from(self.mentor_places),
        }
    }
}

/// An event the pair does not accept in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {status:?} pair does not accept {event:?}", status = state.status)]
pub struct NotAllowed {
    pub state: PairState,
    pub event: PairEvent,
}

/// A new proposal: the mentor's place is taken, the mentee leaves the pool.
/// The guards (the mentor has room, the mentee waits in the pool, these two
/// were never proposed) are conditions of the write that applies it.
pub fn propose() -> Transition {
    Transition {
        from: None,
        to: PairState {
            status: PairStatus::Proposed,
            mentee_accepted: false,
            mentor_accepted: false,
        },
        mentor_places: 1,
        mentee: MenteeMove::Proposed,
        exchange_contacts: false,
        tell_other_side: None,
    }
}

fn other(side: Role) -> Role {
    match side {
        Role::Mentee => Role::Mentor,
        Role::Mentor => Role::Mentee,
    }
}

/// The transition `event` makes from `state`, or why it is refused.
pub fn apply(state: PairState, event: PairEvent) -> Result<Transition, NotAllowed> {
    let stay = Transition {
        from: Some(state),
        to: state,
        mentor_places: 0,
        mentee: MenteeMove::Stays,
        exchange_contacts: false,
        tell_other_side: None,
    };
    let refused = Err(NotAllowed { state, event });
    let ended = |status: PairStatus| PairState { status, ..state };
    match (state.status, event) {
        (PairStatus::Proposed, PairEvent::Accept(side)) if state.accepted(side) => Ok(stay),
        (PairStatus::Proposed, PairEvent::Accept(side)) => {
            let mut to = state;
            match side {
                Role::Mentee => to.mentee_accepted = true,
                Role::Mentor => to.mentor_accepted = true,
            }
            let both = to.mentee_accepted && to.mentor_accepted;
            if both {
                to.status = PairStatus::Active;
            }
            Ok(Transition {
                to,
                mentee: if both {
                    MenteeMove::Paired
                } else {
                    MenteeMove::Stays
                },
                exchange_contacts: both,
                ..stay
            })
        }
        // Started already: the late answer is the same as the first.
        (PairStatus::Active, PairEvent::Accept(_)) => Ok(stay),
        (PairStatus::Proposed, PairEvent::Decline(side)) => Ok(Transition {
            to: ended(PairStatus::Declined),
            mentor_places: -1,
            mentee: MenteeMove::BackToPool,
            tell_other_side: Some(other(side)),
            ..stay
        }),
        (PairStatus::Declined, PairEvent::Decline(_)) => Ok(stay),
        (
            PairStatus::Proposed | PairStatus::Active,
            PairEvent::Close(CloseReason::Erased | CloseReason::Expired),
        ) => refused,
        (PairStatus::Proposed, PairEvent::Expire) => Ok(Transition {
            to: ended(PairStatus::Closed),
            mentor_places: -1,
            mentee: MenteeMove::BackToPool,
            ..stay
        }),
        (PairStatus::Proposed | PairStatus::Active, PairEvent::Close(reason)) => Ok(Transition {
            to: ended(PairStatus::Closed),
            mentor_places: -1,
            // A mentee who never heard from the mentor is paired again.
            mentee: if reason == CloseReason::NoContact {
                MenteeMove::BackToPool
            } else {
                MenteeMove::Done
            },
            ..stay
        }),
        (PairStatus::Proposed | PairStatus::Active, PairEvent::Erase(side)) => Ok(Transition {
            to: ended(PairStatus::Closed),
            // The erased side's profile is gone: nothing of theirs to change.
            mentor_places: if side == Role::Mentor { 0 } else { -1 },
            mentee: if side == Role::Mentee {
                MenteeMove::Stays
            } else {
                MenteeMove::BackToPool
            },
            tell_other_side: (state.status == PairStatus::Proposed).then_some(other(side)),
            ..stay
        }),
        // Over: only the erased person's id leaves it (storage does that).
        (PairStatus::Declined | PairStatus::Closed, PairEvent::Erase(_)) => Ok(stay),
        _ => refused,
    }
}

/// What stands for an erased person's id in a pair.
pub const ERASED_SIDE: &str = "erased";

/// When a proposal's silent side is reminded, and when it expires.
pub const ANSWER_REMINDER_AFTER: Duration = Duration::days(5);
pub const PROPOSAL_EXPIRES_AFTER: Duration = Duration::days(14);
/// The first check-in after both accepted, then one a month: « 3 h par mois ».
pub const FIRST_CHECK_IN_AFTER: Duration = Duration::days(21);
pub const CHECK_IN_EVERY: Duration = Duration::days(30);
/// The outcome survey, six months after the start.
pub const OUTCOME_AFTER: Duration = Duration::days(182);
/// Both are asked whether they go on this long before the programme ends,
/// so that the association can decide in time.
pub const PROGRAMME_END_NOTICE: Duration = Duration::days(14);

/// A piece of the follow-up of a pair, due at a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "round")]
pub enum FollowUp {
    /// The side that has not answered a proposal is reminded.
    AnswerReminder,
    /// Nobody answered in time: the proposal ends.
    Expiry,
    /// The `n`th monthly check-in (from 1).
    CheckIn(u32),
    /// The outcome survey.
    Outcome,
    /// The programme's end is near: do they go on?
    ProgrammeEnd,
    /// A closed pair past the retention period is deleted.
    Purge,
}

/// What the follow-up needs to know of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub status: PairStatus,
    pub proposed_at: DateTime<Utc>,
    pub answer_reminded: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub check_ins_sent: u32,
    pub outcome_sent: bool,
    /// The programme's length, and whether its end was asked about.
    pub programme_months: u32,
    pub programme_end_asked: bool,
    pub ended_at: Option<DateTime<Utc>>,
    /// How long a closed pair is kept.
    pub kept_for: Duration,
}

/// When a programme of `months` started at `started` ends.
pub fn programme_end(started: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    started
        .checked_add_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The pair's next follow-up and when it is due; `None` once it is over.
/// Of two due the same day, the survey goes first, then the programme's end.
pub fn next_follow_up(progress: &Progress) -> Option<(DateTime<Utc>, FollowUp)> {
    match progress.status {
        PairStatus::Proposed if !progress.answer_reminded => Some((
            progress.proposed_at + ANSWER_REMINDER_AFTER,
            FollowUp::AnswerReminder,
        )),
        PairStatus::Proposed => Some((
            progress.proposed_at + PROPOSAL_EXPIRES_AFTER,
            FollowUp::Expiry,
        )),
        PairStatus::Active => {
            let started = progress.started_at?;
            let round = progress.check_ins_sent + 1;
            let check_in = started + FIRST_CHECK_IN_AFTER + CHECK_IN_EVERY * (round as i32 - 1);
            let outcome =
                (!progress.outcome_sent).then(|| (started + OUTCOME_AFTER, FollowUp::Outcome));
            let programme = (!progress.programme_end_asked).then(|| {
                (
                    programme_end(started, progress.programme_months) - PROGRAMME_END_NOTICE,
                    FollowUp::ProgrammeEnd,
                )
            });
            // `min_by_key` keeps the first of equals: the order says who goes first.
            [
                outcome,
                programme,
                Some((check_in, FollowUp::CheckIn(round))),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at)
        }
        PairStatus::Declined | PairStatus::Closed => progress
            .ended_at
            .map(|ended| (ended + progress.kept_for, FollowUp::Purge)),
    }
}

/// Whether they go on at the programme's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "Si le binôme continue à la fin du programme.")]
pub enum GoingOn {
    /// « Nous souhaitons continuer »
    Continue,
    /// « Nous nous arrêtons là »
    Stop,
}

impl GoingOn {
    pub fn as_str(self) -> &'static str {
        match self {
            GoingOn::Continue => "continue",
            GoingOn::Stop => "stop",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GoingOn::Continue => "Nous souhaitons continuer",
            GoingOn::Stop => "Nous nous arrêtons là",
        }
    }

    pub const ALL: [GoingOn; 2] = [GoingOn::Continue, GoingOn::Stop];
}

/// The question asked at the end of a programme, and each side's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "La question posée à la fin du programme, et la réponse de chacun·e.")]
pub struct ProgrammeEndQuestion {
    /// La durée du programme pour laquelle la question a été posée (une prolongation la repose).
    pub months: u32,
    pub asked_at: DateTime<Utc>,
    pub ends_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentee: Option<GoingOnAnswered>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentor: Option<GoingOnAnswered>,
}

/// An answer to the programme's end, and its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Une réponse à la fin du programme, et sa date.")]
pub struct GoingOnAnswered {
    pub answer: GoingOn,
    pub at: DateTime<Utc>,
}

/// The four answers to a check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Les quatre réponses à un point d'étape : `all_good` (« Tout va bien »), `not_met_yet` (« Nous ne nous sommes pas encore vus »), `need_help` (« J'ai besoin d'aide de l'association »), `stopped` (« Nous avons arrêté »)."
)]
pub enum CheckInAnswer {
    /// « Tout va bien »
    AllGood,
    /// « Nous ne nous sommes pas encore vus »
    NotMetYet,
    /// « J'ai besoin d'aide de l'association »
    NeedHelp,
    /// « Nous avons arrêté »
    Stopped,
}

impl CheckInAnswer {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckInAnswer::AllGood => "all_good",
            CheckInAnswer::NotMetYet => "not_met_yet",
            CheckInAnswer::NeedHelp => "need_help",
            CheckInAnswer::Stopped => "stopped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CheckInAnswer::AllGood => "Tout va bien",
            CheckInAnswer::NotMetYet => "Nous ne nous sommes pas encore vus",
            CheckInAnswer::NeedHelp => "J'ai besoin d'aide de l'association",
            CheckInAnswer::Stopped => "Nous avons arrêté",
        }
    }

    pub const ALL: [CheckInAnswer; 4] = [
        CheckInAnswer::AllGood,
        CheckInAnswer::NotMetYet,
        CheckInAnswer::NeedHelp,
        CheckInAnswer::Stopped,
    ];
}

/// One check-in as kept on the pair: when it went, and each side's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Un point d'étape : sa date d'envoi et la réponse de chaque côté.")]
pub struct CheckInRound {
    pub round: u32,
    pub sent_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentee: Option<Answered>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentor: Option<Answered>,
}

/// An answer and its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Une réponse et sa date.")]
pub struct Answered {
    pub answer: CheckInAnswer,
    pub at: DateTime<Utc>,
}

impl CheckInRound {
    fn answers(&self) -> impl Iterator<Item = CheckInAnswer> + '_ {
        self.mentee.iter().chain(&self.mentor).map(|a| a.answer)
    }
}

/// Why a pair needs the association's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "Pourquoi un binôme demande l'attention de l'association.")]
pub enum RiskReason {
    /// Someone asked for the association's help.
    NeedsHelp,
    /// Someone says the pair stopped: the association confirms and closes it.
    Stopped,
    /// « Pas encore vus » at two check-ins in a row.
    NotMetTwice,
    /// Two check-ins went without an answer from either side.
    SilentTwice,
}

impl RiskReason {
    pub fn label(self) -> &'static str {
        match self {
            RiskReason::NeedsHelp => "un membre du binôme demande l'aide de l'association",
            RiskReason::Stopped => "un membre du binôme indique que le mentorat s'est arrêté",
            RiskReason::NotMetTwice => "le binôme ne s'est pas encore vu, deux mois de suite",
            RiskReason::SilentTwice => "personne n'a répondu à deux points d'étape de suite",
        }
    }
}

/// Whether the check-ins so far put the pair at risk, and why. The last
/// round may still be answered: only the rounds before it count as silent.
pub fn risk(rounds: &[CheckInRound]) -> Option<RiskReason> {
    let answered: Vec<CheckInAnswer> = rounds.iter().flat_map(CheckInRound::answers).collect();
    if answered.contains(&CheckInAnswer::Stopped) {
        return Some(RiskReason::Stopped);
    }
    if answered.contains(&CheckInAnswer::NeedHelp) {
        return Some(RiskReason::NeedsHelp);
    }
    let not_met = |r: &CheckInRound| r.answers().any(|a| a == CheckInAnswer::NotMetYet);
    if rounds
        .windows(2)
        .any(|two| not_met(&two[0]) && not_met(&two[1]))
    {
        return Some(RiskReason::NotMetTwice);
    }
    let closed = &rounds[..rounds.len().saturating_sub(1)];
    let silent = |r: &CheckInRound| r.answers().next().is_none();
    if closed
        .windows(2)
        .any(|two| silent(&two[0]) && silent(&two[1]))
    {
        return Some(RiskReason::SilentTwice);
    }
    None
}

/// Points of one pair per criterion (the matching algorithm's, kept with the pair).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Les points du binôme par critère, tels que l'appariement les a comptés.")]
pub struct Points {
    pub situation: u32,
    pub mode: u32,
    pub language: u32,
    pub needs: u32,
    pub field: u32,
    pub proximity: u32,
    pub waiting: u32,
}

impl Points {
    pub fn total(&self) -> u32 {
        self.situation
            + self.mode
            + self.language
            + self.needs
            + self.field
            + self.proximity
            + self.waiting
    }
}

/// Why a pair is at risk, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    pub reason: RiskReason,
    pub since: DateTime<Utc>,
}

/// A pair as stored (`PAIR#<id>` / `PAIR`), listed under its association,
/// on the `by_due_date` index while a follow-up is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub association: String,
    pub mentee_id: String,
    pub mentor_id: String,
    /// The young person's département, for the network's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departement: Option<String>,
    /// How the follow-up mails greet them; removed with an erased side.
    #[serde(default)]
    pub mentee_first_name: String,
    #[serde(default)]
    pub mentor_first_name: String,
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
    pub answer_reminded_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_check_in: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_ins: Vec<CheckInRound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_sent_at: Option<String>,
    /// The association's programme length, plus its extensions.
    #[serde(default = "default_programme_months")]
    pub programme_months: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme_end: Option<ProgrammeEndQuestion>,
    /// When each side answered the survey (the answers are kept apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentee_outcome_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentor_outcome_at: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_sk: Option<String>,
}

fn default_programme_months() -> u32 {
    crate::directory::DEFAULT_PROGRAMME_MONTHS
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    text.parse().ok()
}

/// One person of a new pair: their id and how mails greet them.
pub struct Party<'a> {
    pub id: &'a str,
    pub first_name: &'a str,
}

impl Pair {
    /// A new proposal of `mentee` to `mentor` by `association`, due for its
    /// answer reminder.
    pub fn proposed(
        id: &str,
        association: &str,
        (mentee, mentor): (Party<'_>, Party<'_>),
        points: Points,
        reasons: Vec<String>,
        run_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Self {
        let key = crate::store::Key::pair(id);
        Self {
            pk: key.pk,
            sk: key.sk,
            id: id.to_owned(),
            association: association.to_owned(),
            mentee_id: mentee.id.to_owned(),
            mentor_id: mentor.id.to_owned(),
            departement: None,
            mentee_first_name: mentee.first_name.to_owned(),
            mentor_first_name: mentor.first_name.to_owned(),
            status: PairStatus::Proposed,
            points,
            score: points.total(),
            reasons,
            run_id: run_id.map(str::to_owned),
            proposed_at: crate::store::timestamp(now),
            mentee_accepted_at: None,
            mentor_accepted_at: None,
            answer_reminded_at: None,
            started_at: None,
            first_check_in: None,
            check_ins: Vec::new(),
            risk: None,
            outcome_sent_at: None,
            programme_months: default_programme_months(),
            programme_end: None,
            mentee_outcome_at: None,
            mentor_outcome_at: None,
            declined_by: None,
            ended_at: None,
            close_reason: None,
            duration_days: None,
            assoc_pk: index::association_pairs(association),
            assoc_sk: index::association_pair_sort(mentee.id, mentor.id),
            due_pk: Some(index::follow_up_due(id)),
            due_sk: Some(crate::store::timestamp(now + ANSWER_REMINDER_AFTER)),
        }
    }

    /// Where it stands, as the state machine sees it.
    pub fn state(&self) -> PairState {
        PairState {
            status: self.status,
            mentee_accepted: self.mentee_accepted_at.is_some(),
            mentor_accepted: self.mentor_accepted_at.is_some(),
        }
    }

    /// Where its follow-up stands; a closed pair is kept for `kept_for`.
    pub fn progress(&self, kept_for: Duration) -> Progress {
        Progress {
            status: self.status,
            proposed_at: instant(&self.proposed_at).unwrap_or_default(),
            answer_reminded: self.answer_reminded_at.is_some(),
            started_at: self.started_at.as_deref().and_then(instant),
            check_ins_sent: self.check_ins.len() as u32,
            outcome_sent: self.outcome_sent_at.is_some(),
            programme_months: self.programme_months,
            programme_end_asked: self
                .programme_end
                .as_ref()
                .is_some_and(|asked| asked.months == self.programme_months),
            ended_at: self.ended_at.as_deref().and_then(instant),
            kept_for,
        }
    }

    /// When its programme ends, once it has started.
    pub fn programme_ends_at(&self) -> Option<DateTime<Utc>> {
        let started = self.started_at.as_deref().and_then(instant)?;
        Some(programme_end(started, self.programme_months))
    }

    pub fn id_of(&self, side: Role) -> &str {
        match side {
            Role::Mentee => &self.mentee_id,
            Role::Mentor => &self.mentor_id,
        }
    }

    pub fn first_name_of(&self, side: Role) -> &str {
        match side {
            Role::Mentee => &self.mentee_first_name,
            Role::Mentor => &self.mentor_first_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposed() -> PairState {
        propose().to
    }

    fn state(status: PairStatus) -> PairState {
        PairState {
            status,
            mentee_accepted: status == PairStatus::Active,
            mentor_accepted: status == PairStatus::Active,
        }
    }

    #[test]
    fn a_proposal_takes_a_place_and_the_mentee_out_of_the_pool() {
        let t = propose();
        assert_eq!(t.to.status, PairStatus::Proposed);
        assert_eq!((t.mentor_places, t.mentee), (1, MenteeMove::Proposed));
        assert_eq!(t.counters().waiting_mentees, -1);
        assert_eq!(t.counters().free_mentor_places, -1);
    }

    #[test]
    fn one_acceptance_waits_for_the_other() {
        let t = apply(proposed(), PairEvent::Accept(Role::Mentee)).unwrap();
        assert_eq!(t.to.status, PairStatus::Proposed);
        assert!(t.to.mentee_accepted && !t.to.mentor_accepted);
        assert!(t.changes() && !t.exchange_contacts);
        assert!(t.counters().is_empty());
    }

    #[test]
    fn the_second_acceptance_starts_the_pair_and_exchanges_contacts() {
        let half = apply(proposed(), PairEvent::Accept(Role::Mentor))
            .unwrap()
            .to;
        let t = apply(half, PairEvent::Accept(Role::Mentee)).unwrap();
        assert_eq!(t.to.status, PairStatus::Active);
        assert!(t.exchange_contacts);
        assert_eq!((t.mentor_places, t.mentee), (0, MenteeMove::Paired));
        assert!(t.counters().is_empty());
    }

    #[test]
    fn an_answer_given_twice_changes_nothing() {
        let half = apply(proposed(), PairEvent::Accept(Role::Mentee))
            .unwrap()
            .to;
        assert!(
            !apply(half, PairEvent::Accept(Role::Mentee))
                .unwrap()
                .changes()
        );
        let active = state(PairStatus::Active);
        assert!(
            !apply(active, PairEvent::Accept(Role::Mentor))
                .unwrap()
                .changes()
        );
        let declined = state(PairStatus::Declined);
        assert!(
            !apply(declined, PairEvent::Decline(Role::Mentor))
                .unwrap()
                .changes()
        );
    }

    #[test]
    fn a_decline_frees_the_place_returns_the_mentee_and_tells_the_other() {
        let t = apply(proposed(), PairEvent::Decline(Role::Mentor)).unwrap();
        assert_eq!(t.to.status, PairStatus::Declined);
        assert_eq!((t.mentor_places, t.mentee), (-1, MenteeMove::BackToPool));
        assert_eq!(t.tell_other_side, Some(Role::Mentee));
        assert_eq!(t.counters().waiting_mentees, 1);
        assert_eq!(t.counters().free_mentor_places, 1);
    }

    #[test]
    fn an_active_pair_cannot_be_declined() {
        assert!(apply(state(PairStatus::Active), PairEvent::Decline(Role::Mentee)).is_err());
    }

    #[test]
    fn closing_ends_the_mentoring_unless_nobody_made_contact() {
        for from in [PairStatus::Proposed, PairStatus::Active] {
            let done = apply(state(from), PairEvent::Close(CloseReason::Completed)).unwrap();
            assert_eq!(done.to.status, PairStatus::Closed);
            assert_eq!((done.mentor_places, done.mentee), (-1, MenteeMove::Done));
            let again = apply(state(from), PairEvent::Close(CloseReason::NoContact)).unwrap();
            assert_eq!(again.mentee, MenteeMove::BackToPool);
            assert_eq!(again.tell_other_side, None);
        }
    }

    #[test]
    fn only_an_erasure_closes_a_pair_as_erased() {
        assert!(apply(proposed(), PairEvent::Close(CloseReason::Erased)).is_err());
    }

    #[test]
    fn final_states_refuse_everything_but_an_erasure() {
        for status in [PairStatus::Declined, PairStatus::Closed] {
            for event in [
                PairEvent::Accept(Role::Mentee),
                PairEvent::Close(CloseReason::Completed),
            ] {
                assert!(apply(state(status), event).is_err(), "{status:?} {event:?}");
            }
            let erased = apply(state(status), PairEvent::Erase(Role::Mentee)).unwrap();
            assert!(!erased.changes());
        }
        assert!(apply(state(PairStatus::Closed), PairEvent::Decline(Role::Mentee)).is_err());
    }

    #[test]
    fn an_erasure_releases_only_the_side_that_remains() {
        let mentee_gone = apply(proposed(), PairEvent::Erase(Role::Mentee)).unwrap();
        assert_eq!(mentee_gone.to.status, PairStatus::Closed);
        assert_eq!(
            (mentee_gone.mentor_places, mentee_gone.mentee),
            (-1, MenteeMove::Stays)
        );
        assert_eq!(mentee_gone.tell_other_side, Some(Role::Mentor));
        let mentor_gone = apply(state(PairStatus::Active), PairEvent::Erase(Role::Mentor)).unwrap();
        assert_eq!(
            (mentor_gone.mentor_places, mentor_gone.mentee),
            (0, MenteeMove::BackToPool)
        );
        assert_eq!(mentor_gone.tell_other_side, None);
    }

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap() + Duration::days(days)
    }

    #[test]
    fn an_unanswered_proposal_is_reminded_then_expires() {
        let mut progress = Progress {
            status: PairStatus::Proposed,
            proposed_at: at(0),
            answer_reminded: false,
            started_at: None,
            check_ins_sent: 0,
            outcome_sent: false,
            programme_months: 6,
            programme_end_asked: false,
            ended_at: None,
            kept_for: Duration::days(1095),
        };
        assert_eq!(
            next_follow_up(&progress),
            Some((at(5), FollowUp::AnswerReminder))
        );
        progress.answer_reminded = true;
        assert_eq!(next_follow_up(&progress), Some((at(14), FollowUp::Expiry)));
        let expired = apply(proposed(), PairEvent::Expire).unwrap();
        assert_eq!(expired.to.status, PairStatus::Closed);
        assert_eq!(
            (expired.mentor_places, expired.mentee),
            (-1, MenteeMove::BackToPool)
        );
        assert!(apply(state(PairStatus::Active), PairEvent::Expire).is_err());
    }

    fn active(months: u32) -> Progress {
        Progress {
            status: PairStatus::Active,
            proposed_at: at(-3),
            answer_reminded: false,
            started_at: Some(at(0)),
            check_ins_sent: 0,
            outcome_sent: false,
            programme_months: months,
            programme_end_asked: false,
            ended_at: None,
            kept_for: Duration::days(1095),
        }
    }

    /// Every follow-up of an active pair up to `until` days, in order.
    fn follow_ups(mut progress: Progress, until: i64) -> Vec<(DateTime<Utc>, FollowUp)> {
        let mut seen = Vec::new();
        while let Some((due, follow_up)) = next_follow_up(&progress) {
            if due > at(until) {
                break;
            }
            seen.push((due, follow_up));
            match follow_up {
                FollowUp::CheckIn(n) => progress.check_ins_sent = n,
                FollowUp::Outcome => progress.outcome_sent = true,
                FollowUp::ProgrammeEnd => progress.programme_end_asked = true,
                _ => unreachable!("an active pair is not a proposal"),
            }
        }
        seen
    }

    #[test]
    fn an_active_pair_is_checked_on_monthly_and_surveyed_at_six_months() {
        let seen = follow_ups(active(12), 240);
        assert_eq!(seen[0], (at(21), FollowUp::CheckIn(1)));
        assert_eq!(seen[1], (at(51), FollowUp::CheckIn(2)));
        assert_eq!(seen[6], (at(182), FollowUp::Outcome));
        assert_eq!(seen[7], (at(201), FollowUp::CheckIn(7)));
        assert_eq!(
            seen.iter().filter(|(_, f)| *f == FollowUp::Outcome).count(),
            1
        );
    }

    #[test]
    fn both_are_asked_two_weeks_before_the_programme_ends_once_per_length() {
        let ends = programme_end(at(0), 6);
        assert_eq!(ends, at(0).checked_add_months(Months::new(6)).unwrap());
        let seen = follow_ups(active(6), 400);
        let asked: Vec<_> = seen
            .iter()
            .filter(|(_, f)| *f == FollowUp::ProgrammeEnd)
            .collect();
        assert_eq!(
            asked,
            [&(ends - PROGRAMME_END_NOTICE, FollowUp::ProgrammeEnd)]
        );
        // Extended by three months: asked again before the new end.
        let mut extended = active(9);
        extended.programme_end_asked = false;
        extended.check_ins_sent = 7;
        extended.outcome_sent = true;
        let again = follow_ups(extended, 400);
        assert!(again.contains(&(
            programme_end(at(0), 9) - PROGRAMME_END_NOTICE,
            FollowUp::ProgrammeEnd
        )));
    }

    #[test]
    fn a_closed_pair_is_purged_once_the_retention_period_is_over() {
        let mut progress = active(6);
        progress.status = PairStatus::Closed;
        progress.ended_at = Some(at(100));
        assert_eq!(
            next_follow_up(&progress),
            Some((at(100 + 1095), FollowUp::Purge))
        );
        progress.ended_at = None;
        assert_eq!(next_follow_up(&progress), None);
    }

    fn round(n: u32, mentee: Option<CheckInAnswer>, mentor: Option<CheckInAnswer>) -> CheckInRound {
        let answered =
            |answer: Option<CheckInAnswer>| answer.map(|answer| Answered { answer, at: at(0) });
        CheckInRound {
            round: n,
            sent_at: at(i64::from(n) * 30),
            mentee: answered(mentee),
            mentor: answered(mentor),
        }
    }

    #[test]
    fn check_in_answers_put_a_pair_at_risk_for_the_right_reason() {
        use CheckInAnswer::*;
        assert_eq!(risk(&[round(1, Some(AllGood), None)]), None);
        assert_eq!(
            risk(&[round(1, None, Some(NeedHelp))]),
            Some(RiskReason::NeedsHelp)
        );
        assert_eq!(
            risk(&[round(1, Some(Stopped), Some(AllGood))]),
            Some(RiskReason::Stopped)
        );
        assert_eq!(risk(&[round(1, Some(NotMetYet), None)]), None);
        assert_eq!(
            risk(&[
                round(1, Some(NotMetYet), None),
                round(2, None, Some(NotMetYet))
            ]),
            Some(RiskReason::NotMetTwice)
        );
        assert_eq!(
            risk(&[
                round(1, Some(NotMetYet), None),
                round(2, Some(AllGood), None),
                round(3, Some(NotMetYet), None)
            ]),
            None,
            "not in a row"
        );
        // The last round may still be answered.
        assert_eq!(risk(&[round(1, None, None), round(2, None, None)]), None);
        assert_eq!(
            risk(&[
                round(1, None, None),
                round(2, None, None),
                round(3, None, None)
            ]),
            Some(RiskReason::SilentTwice)
        );
        assert_eq!(
            risk(&[
                round(1, None, None),
                round(2, Some(AllGood), None),
                round(3, None, None)
            ]),
            None
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// One mentor, a few mentees, the guards storage checks on a proposal.
        #[derive(Debug)]
        struct Model {
            capacity: u8,
            held: i32,
            mentor_erased: bool,
            /// Per mentee: waiting in the pool, and still there (not erased).
            in_pool: Vec<bool>,
            erased: Vec<bool>,
            /// Per mentee: its pair with the mentor, if ever proposed.
            pairs: Vec<Option<PairState>>,
            waiting: i64,
            free_places: i64,
        }

        #[derive(Debug, Clone)]
        enum Step {
            Propose(usize),
            Event(usize, PairEvent),
        }

        fn role() -> impl Strategy<Value = Role> {
            prop_oneof![Just(Role::Mentee), Just(Role::Mentor)]
        }

        fn event() -> impl Strategy<Value = PairEvent> {
            let reason = prop_oneof![
                Just(CloseReason::Completed),
                Just(CloseReason::NoContact),
                Just(CloseReason::Moved),
                Just(CloseReason::Other),
            ];
            prop_oneof![
                role().prop_map(PairEvent::Accept),
                role().prop_map(PairEvent::Decline),
                reason.prop_map(PairEvent::Close),
                role().prop_map(PairEvent::Erase),
                Just(PairEvent::Expire),
            ]
        }

        fn step(mentees: usize) -> impl Strategy<Value = Step> {
            prop_oneof![
                (0..mentees).prop_map(Step::Propose),
                (0..mentees, event()).prop_map(|(m, e)| Step::Event(m, e)),
            ]
        }

        impl Model {
            fn new(capacity: u8, mentees: usize) -> Self {
                Self {
                    capacity,
                    held: 0,
                    mentor_erased: false,
                    in_pool: vec![true; mentees],
                    erased: vec![false; mentees],
                    pairs: vec![None; mentees],
                    waiting: mentees as i64,
                    free_places: i64::from(capacity),
                }
            }

            fn run(&mut self, transition: Transition, mentee: usize, event: Option<PairEvent>) {
                if !transition.changes() {
                    return;
                }
                // An erased side's profile is gone: what it held goes with it.
                if let Some(PairEvent::Erase(side)) = event {
                    match side {
                        Role::Mentee => self.erased[mentee] = true,
                        Role::Mentor => {
                            self.mentor_erased = true;
                            self.free_places = 0;
                        }
                    }
                }
                if !self.mentor_erased {
                    self.held += i32::from(transition.mentor_places);
                }
                match transition.mentee {
                    MenteeMove::Proposed => self.in_pool[mentee] = false,
                    MenteeMove::BackToPool => self.in_pool[mentee] = true,
                    MenteeMove::Stays | MenteeMove::Paired | MenteeMove::Done => {}
                }
                let change = transition.counters();
                self.waiting += change.waiting_mentees;
                if !self.mentor_erased {
                    self.free_places += change.free_mentor_places;
                }
                self.pairs[mentee] = Some(transition.to);
            }

            fn check(&self) {
                let going = self
                    .pairs
                    .iter()
                    .flatten()
                    .filter(|p| p.status.is_going())
                    .count() as i32;
                if !self.mentor_erased {
                    assert!(self.held <= i32::from(self.capacity), "{self:?}");
                    assert_eq!(self.held, going, "{self:?}");
                    assert_eq!(
                        self.free_places,
                        i64::from(self.capacity) - i64::from(self.held)
                    );
                }
                for (m, pair) in self.pairs.iter().enumerate() {
                    let in_pair = pair.is_some_and(|p| p.status.is_going());
                    assert!(!(in_pair && self.in_pool[m]), "mentee {m}: {self:?}");
                }
                let waiting = (0..self.in_pool.len())
                    .filter(|m| self.in_pool[*m] && !self.erased[*m])
                    .count() as i64;
                assert_eq!(self.waiting, waiting, "{self:?}");
            }
        }

        proptest! {
            #[test]
            fn no_sequence_overfills_a_mentor_or_leaves_a_mentee_in_two_places(
                capacity in 1u8..4,
                steps in proptest::collection::vec(step(5), 1..60),
            ) {
                let mut model = Model::new(capacity, 5);
                for step in steps {
                    match step {
                        Step::Propose(m) => {
                            // The write's guards: room, the mentee in the
                            // pool, never proposed to each other.
                            let room = i32::from(capacity) > model.held;
                            if room && model.in_pool[m] && !model.erased[m]
                                && !model.mentor_erased && model.pairs[m].is_none()
                            {
                                model.run(propose(), m, None);
                            }
                        }
                        Step::Event(m, event) => {
                            let Some(state) = model.pairs[m] else { continue };
                            let gone = match event {
                                PairEvent::Erase(Role::Mentee) => model.erased[m],
                                PairEvent::Erase(Role::Mentor) => model.mentor_erased,
                                _ => false,
                            };
                            if gone {
                                continue;
                            }
                            if let Ok(transition) = apply(state, event) {
                                model.run(transition, m, Some(event));
                            }
                        }
                    }
                    model.check();
                }
            }
        }
    }
}
