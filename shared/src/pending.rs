//! A sign-up waiting for its verification: when its reminders are due.
//! Pure; the reminders function applies it to the profile it reads.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::people::{ProfileStatus, Role};

/// A sign-up whose address is not confirmed after this is reminded, once.
pub const VERIFICATION_REMINDER_AFTER: Duration = Duration::hours(48);
/// A guardian who has not answered after this is reminded, once.
pub const GUARDIAN_REMINDER_AFTER: Duration = Duration::hours(72);

/// A reminder of a pending sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupReminder {
    /// The person has not confirmed their address.
    Verification,
    /// The guardian of a mentee under 15 has not answered.
    Guardian,
}

/// What the reminders need of a profile that waits for its verification.
#[derive(Debug, Clone, Deserialize)]
pub struct PendingSignup {
    pub id: String,
    pub role: Role,
    pub status: ProfileStatus,
    pub first_name: String,
    pub created_at: DateTime<Utc>,
    /// The subject of the sign-up's links (ids and flags, no personal data).
    #[serde(default)]
    pub signup_subject: Option<String>,
    #[serde(default)]
    pub guardian_required: bool,
    #[serde(default)]
    pub email_verified_at: Option<String>,
    #[serde(default)]
    pub guardian_consent_at: Option<String>,
    #[serde(default)]
    pub verification_reminded_at: Option<String>,
    #[serde(default)]
    pub guardian_reminded_at: Option<String>,
    #[serde(default)]
    pub due_sk: Option<String>,
    /// When the unverified sign-up expires (epoch seconds).
    #[serde(default)]
    pub ttl: Option<i64>,
}

impl PendingSignup {
    /// The next reminder and when it is due; `None` once verified or reminded.
    pub fn next_reminder(&self) -> Option<(DateTime<Utc>, SignupReminder)> {
        if self.status != ProfileStatus::PendingVerification {
            return None;
        }
        let verification = (self.email_verified_at.is_none()
            && self.verification_reminded_at.is_none())
        .then_some((
            self.created_at + VERIFICATION_REMINDER_AFTER,
            SignupReminder::Verification,
        ));
        let guardian = (self.guardian_required
            && self.guardian_consent_at.is_none()
            && self.guardian_reminded_at.is_none())
        .then_some((
            self.created_at + GUARDIAN_REMINDER_AFTER,
            SignupReminder::Guardian,
        ));
        verification
            .into_iter()
            .chain(guardian)
            .min_by_key(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(guardian_required: bool) -> PendingSignup {
        PendingSignup {
            id: "p1".into(),
            role: Role::Mentee,
            status: ProfileStatus::PendingVerification,
            first_name: "Sami".into(),
            created_at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            signup_subject: Some("p1:mentee:ab:g".into()),
            guardian_required,
            email_verified_at: None,
            guardian_consent_at: None,
            verification_reminded_at: None,
            guardian_reminded_at: None,
            due_sk: None,
            ttl: None,
        }
    }

    #[test]
    fn an_unconfirmed_address_is_reminded_at_48_hours_then_the_guardian_at_72() {
        let mut signup = pending(true);
        let created = signup.created_at;
        assert_eq!(
            signup.next_reminder(),
            Some((created + Duration::hours(48), SignupReminder::Verification))
        );
        signup.verification_reminded_at = Some("done".into());
        assert_eq!(
            signup.next_reminder(),
            Some((created + Duration::hours(72), SignupReminder::Guardian))
        );
        signup.guardian_reminded_at = Some("done".into());
        assert_eq!(signup.next_reminder(), None);
    }

    #[test]
    fn a_confirmed_half_is_not_reminded_and_a_verified_sign_up_never() {
        let mut signup = pending(true);
        signup.email_verified_at = Some("done".into());
        assert_eq!(
            signup.next_reminder().map(|(_, r)| r),
            Some(SignupReminder::Guardian)
        );
        let mut adult = pending(false);
        adult.verification_reminded_at = Some("done".into());
        assert_eq!(adult.next_reminder(), None);
        let mut verified = pending(false);
        verified.status = ProfileStatus::Verified;
        assert_eq!(verified.next_reminder(), None);
    }
}
