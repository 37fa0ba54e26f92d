//! How long an account is kept once it no longer serves (GDPR art. 5(1)(e)).
//!
//! Each verified person has a retention item (`PERSON#<id>` / `RETENTION`)
//! on the `by_due_date` index. When it comes due, [`step`] decides from the
//! person's standing: an account in use (a request not yet answered by an
//! association, a pair proposed or going) is looked at again later; one
//! without activity for the retention period is warned a month ahead, with
//! a link to keep it, and then erased as an erasure by link does. The item's
//! due date may be earlier than the real one (activity moves the real one
//! later without touching the item): the engine then only moves it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    config::Env,
    keyring::Keyring,
    links::Links,
    people::{ProfileStatus, Role},
    store::{Key, keys::index, timestamp},
    tokens::Purpose,
};

/// The retention period and its warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Without activity this long, an account is erased.
    pub inactive_for: Duration,
    /// The person is told this long before.
    pub warned_ahead: Duration,
}

/// Three years, as the CNIL recommends for a contact without activity.
pub const DEFAULT_RETENTION_DAYS: i64 = 3 * 365;
/// The shortest retention period the configuration accepts.
const SHORTEST_RETENTION_DAYS: i64 = 365;
const WARNED_AHEAD_DAYS: i64 = 30;
/// A new retention item is first looked at after the shortest possible
/// period: never later than any configuration asks; the look moves it on.
pub const FIRST_LOOK_AFTER: Duration = Duration::days(SHORTEST_RETENTION_DAYS - WARNED_AHEAD_DAYS);

impl Default for Retention {
    fn default() -> Self {
        Self::of_days(DEFAULT_RETENTION_DAYS)
    }
}

impl Retention {
    pub fn of_days(days: i64) -> Self {
        Self {
            inactive_for: Duration::days(days),
            warned_ahead: Duration::days(WARNED_AHEAD_DAYS),
        }
    }

    /// `RETENTION_DAYS` (at least 365), three years when absent.
    pub fn from_env(env: &mut Env) -> Self {
        let days = env.parsed_or("RETENTION_DAYS", DEFAULT_RETENTION_DAYS);
        if days < SHORTEST_RETENTION_DAYS {
            env.problem(format!(
                "RETENTION_DAYS is invalid: at least {SHORTEST_RETENTION_DAYS} days"
            ));
        }
        Self::of_days(days)
    }
}

/// What retention needs to know of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub last_active_at: DateTime<Utc>,
    /// A request not yet answered by an association, or a pair proposed or going.
    pub in_use: bool,
    /// When they were warned; a later activity (the keep link) clears it.
    pub warned_at: Option<DateTime<Utc>>,
}

impl Standing {
    /// Whether a person of `role` in `status` holding `pairs_held` places
    /// uses their account now.
    pub fn in_use(role: Role, status: ProfileStatus, pairs_held: u32) -> bool {
        match role {
            Role::Mentor => pairs_held > 0,
            Role::Mentee => matches!(
                status,
                ProfileStatus::Verified
                    | ProfileStatus::Routed
                    | ProfileStatus::Waiting
                    | ProfileStatus::Proposed
                    | ProfileStatus::Paired
            ),
        }
    }
}

/// What to do with an account whose retention item is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing yet: look again then.
    LookAt(DateTime<Utc>),
    /// Tell them that the account goes on that date unless they keep it.
    Warn {
        erased_on: DateTime<Utc>,
    },
    Erase,
}

pub fn step(retention: &Retention, standing: &Standing, now: DateTime<Utc>) -> Step {
    if standing.in_use {
        return Step::LookAt(now + retention.inactive_for - retention.warned_ahead);
    }
    if let Some(warned) = standing.warned_at
        && standing.last_active_at <= warned
    {
        let erased_on = warned + retention.warned_ahead;
        return if now >= erased_on {
            Step::Erase
        } else {
            Step::LookAt(erased_on)
        };
    }
    let warn_at = standing.last_active_at + retention.inactive_for - retention.warned_ahead;
    if now >= warn_at {
        Step::Warn {
            erased_on: now + retention.warned_ahead,
        }
    } else {
        Step::LookAt(warn_at)
    }
}

/// The keep link works until the erasure, and a little after (nothing to keep then).
pub const KEEP_LINK_WINDOW: Duration = Duration::days(WARNED_AHEAD_DAYS + 7);

/// The link with which a warned person keeps their account.
pub fn keep_url(keyring: &Keyring, links: &Links, person_id: &str, now: DateTime<Utc>) -> String {
    let token = keyring
        .tokens
        .issue(Purpose::KeepAccount, person_id, now, KEEP_LINK_WINDOW);
    links.api(&format!("/v1/me/keep?token={token}"))
}

/// A person's retention item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionItem {
    pub pk: String,
    pub sk: String,
    pub person_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warned_at: Option<String>,
    pub due_pk: String,
    pub due_sk: String,
}

impl RetentionItem {
    /// The item of a person who just became active (verified, or kept their account).
    pub fn new(person_id: &str, now: DateTime<Utc>) -> Self {
        let key = Key::person_retention(person_id);
        Self {
            pk: key.pk,
            sk: key.sk,
            person_id: person_id.to_owned(),
            warned_at: None,
            due_pk: index::retention_due(person_id),
            due_sk: timestamp(now + FIRST_LOOK_AFTER),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap() + Duration::days(n)
    }

    fn idle(since: i64) -> Standing {
        Standing {
            last_active_at: day(since),
            in_use: false,
            warned_at: None,
        }
    }

    #[test]
    fn an_idle_account_is_warned_a_month_ahead_then_erased() {
        let retention = Retention::default();
        assert_eq!(
            step(&retention, &idle(0), day(FIRST_LOOK_AFTER.num_days())),
            Step::LookAt(day(1095 - 30))
        );
        assert_eq!(
            step(&retention, &idle(0), day(1065)),
            Step::Warn {
                erased_on: day(1095)
            }
        );
        let warned = Standing {
            warned_at: Some(day(1065)),
            ..idle(0)
        };
        assert_eq!(
            step(&retention, &warned, day(1080)),
            Step::LookAt(day(1095))
        );
        assert_eq!(step(&retention, &warned, day(1095)), Step::Erase);
    }

    #[test]
    fn keeping_or_using_the_account_starts_the_period_again() {
        let retention = Retention::default();
        let kept = Standing {
            last_active_at: day(1070),
            in_use: false,
            warned_at: Some(day(1065)),
        };
        assert_eq!(
            step(&retention, &kept, day(1095)),
            Step::LookAt(day(1070 + 1065))
        );
        let paired = Standing {
            in_use: true,
            ..idle(0)
        };
        assert_eq!(
            step(&retention, &paired, day(1065)),
            Step::LookAt(day(1065 + 1065))
        );
    }

    #[test]
    fn only_a_pending_request_or_a_pair_keeps_an_account_in_use() {
        assert!(Standing::in_use(Role::Mentee, ProfileStatus::Waiting, 0));
        assert!(Standing::in_use(Role::Mentee, ProfileStatus::Paired, 0));
        assert!(!Standing::in_use(Role::Mentee, ProfileStatus::Closed, 0));
        assert!(!Standing::in_use(
            Role::Mentee,
            ProfileStatus::Acknowledged,
            0
        ));
        assert!(Standing::in_use(Role::Mentor, ProfileStatus::Verified, 1));
        assert!(!Standing::in_use(Role::Mentor, ProfileStatus::Verified, 0));
    }

    #[test]
    fn a_retention_shorter_than_a_year_is_refused() {
        let mut env = Env::from_lookup(|name| (name == "RETENTION_DAYS").then(|| "90".to_owned()));
        let _ = Retention::from_env(&mut env);
        assert!(env.finish(|| ()).is_err());
        let mut env = Env::from_lookup(|name| (name == "RETENTION_DAYS").then(|| "730".to_owned()));
        assert_eq!(Retention::from_env(&mut env), Retention::of_days(730));
        assert!(env.finish(|| ()).is_ok());
    }
}
