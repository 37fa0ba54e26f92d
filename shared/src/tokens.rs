//! Signed tokens for links in mails: a random 256-bit nonce, a purpose, a
//! subject and an expiry, authenticated with HMAC-SHA256 and checked in
//! constant time. A token minted for one purpose is refused for any other.
//!
//! Format: `base64url(payload) "." base64url(tag)`, payload
//! `v1.<purpose>.<subject>.<expires unix seconds>.<nonce hex>`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a link lets its holder do. The codes are part of issued links: never reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    NewsletterConfirm,
    NewsletterUnsubscribe,
    /// A mentee or mentor confirms their address.
    SignupVerify,
    /// The guardian of a mentee under 15 gives consent.
    GuardianConsent,
    /// A person reads (export) or erases their data.
    PersonalData,
    /// A mentee or a mentor accepts or declines a proposed pair.
    PairAnswer,
    /// A mentee or a mentor answers a monthly check-in.
    PairCheckIn,
    /// A mentee or a mentor answers the six-month survey.
    OutcomeSurvey,
    /// A mentee or a mentor says whether they go on after the programme.
    PairProgrammeEnd,
    /// A person keeps their idle account from erasure.
    KeepAccount,
    /// A staff member signs in to their association's space (single use).
    StaffSignIn,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Purpose::NewsletterConfirm => "nlc",
            Purpose::NewsletterUnsubscribe => "nlu",
            Purpose::SignupVerify => "suv",
            Purpose::GuardianConsent => "gdc",
            Purpose::PersonalData => "pda",
            Purpose::PairAnswer => "pra",
            Purpose::PairCheckIn => "pci",
            Purpose::OutcomeSurvey => "ocs",
            Purpose::PairProgrammeEnd => "ppe",
            Purpose::KeepAccount => "kpa",
            Purpose::StaffSignIn => "ssi",
        }
    }
}

#[derive(Clone)]
pub struct TokenKey([u8; 32]);

/// The longest subject a token may carry, and the longest token read: a
/// subject becomes part of a key, which DynamoDB bounds.
const MAX_SUBJECT: usize = 160;
const MAX_TOKEN: usize = 512;

/// Whether a subject is one we issue: ids, roles and flags joined by `:`.
fn plausible_subject(subject: &str) -> bool {
    (1..=MAX_SUBJECT).contains(&subject.len())
        && subject
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_'))
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed or tampered token")]
    Invalid,
    #[error("token issued for another purpose")]
    WrongPurpose,
    #[error("expired token")]
    Expired,
}

/// What a valid token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub subject: String,
    pub expires_at: DateTime<Utc>,
}

impl TokenKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }

    /// Issues a token for `subject` (an opaque id, never personal data).
    pub fn issue(
        &self,
        purpose: Purpose,
        subject: &str,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> String {
        debug_assert!(!subject.contains('.'), "subjects are opaque ids");
        let mut nonce = [0u8; 32];
        rand::rng().fill_bytes(&mut nonce);
        let expires = (now + lifetime).timestamp();
        let payload = format!(
            "v1.{}.{subject}.{expires}.{}",
            purpose.code(),
            hex::encode(nonce)
        );
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// Checks the signature first (constant time), then purpose and expiry.
    pub fn verify(
        &self,
        token: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Verified, TokenError> {
        if token.len() > MAX_TOKEN {
            return Err(TokenError::Invalid);
        }
        let (payload, tag) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Invalid)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| TokenError::Invalid)?;

        let payload = String::from_utf8(payload).map_err(|_| TokenError::Invalid)?;
        let fields: Vec<&str> = payload.split('.').collect();
        let ["v1", code, subject, expires, _nonce] = fields[..] else {
            return Err(TokenError::Invalid);
        };
        if !plausible_subject(subject) {
            return Err(TokenError::Invalid);
        }
        if code != purpose.code() {
            return Err(TokenError::WrongPurpose);
        }
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .ok_or(TokenError::Invalid)?;
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(Verified {
            subject: subject.to_owned(),
            expires_at,
        })
    }
}

impl TokenKey {
    /// The status of a page refusing a link: 410 when its token has expired
    /// (the link was good once), 400 for anything else: missing, damaged,
    /// made for another use, or carrying an answer the mail did not offer.
    pub fn refusal(
        &self,
        token: Option<&str>,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> lambda_http::http::StatusCode {
        use lambda_http::http::StatusCode;
        match token.map(|token| self.verify(token, purpose, now)) {
            Some(Err(TokenError::Expired)) => StatusCode::GONE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::new([7; 32])
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn a_signed_token_with_an_oversized_or_odd_subject_is_refused() {
        for subject in ["a".repeat(5_000), "a b".into(), "é".into(), String::new()] {
            let token = key().issue(Purpose::PairAnswer, &subject, now(), Duration::days(1));
            assert_eq!(
                key().verify(&token, Purpose::PairAnswer, now()),
                Err(TokenError::Invalid),
                "{subject:.20}"
            );
        }
        let ours = key().issue(
            Purpose::SignupVerify,
            "0f3c:mentee:ab12cd:sg",
            now(),
            Duration::days(1),
        );
        assert!(key().verify(&ours, Purpose::SignupVerify, now()).is_ok());
    }

    #[test]
    fn a_fresh_token_verifies_for_its_purpose() {
        let token = key().issue(
            Purpose::NewsletterConfirm,
            "abc123",
            now(),
            Duration::days(7),
        );
        let verified = key()
            .verify(&token, Purpose::NewsletterConfirm, now())
            .unwrap();
        assert_eq!(verified.subject, "abc123");
        assert_eq!(verified.expires_at, now() + Duration::days(7));
    }

    #[test]
    fn tokens_are_unique_and_url_safe() {
        let a = key().issue(Purpose::NewsletterConfirm, "abc", now(), Duration::days(7));
        let b = key().issue(Purpose::NewsletterConfirm, "abc", now(), Duration::days(7));
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn any_changed_character_is_refused() {
        let token = key().issue(
            Purpose::NewsletterConfirm,
            "abc123",
            now(),
            Duration::days(7),
        );
        for position in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered == token {
                continue;
            }
            assert_eq!(
                key().verify(&tampered, Purpose::NewsletterConfirm, now()),
                Err(TokenError::Invalid),
                "position {position}"
            );
        }
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let token = TokenKey::new([8; 32]).issue(
            Purpose::NewsletterConfirm,
            "abc",
            now(),
            Duration::days(7),
        );
        assert_eq!(
            key().verify(&token, Purpose::NewsletterConfirm, now()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_token_for_another_purpose_is_refused() {
        let token = key().issue(Purpose::NewsletterConfirm, "abc", now(), Duration::days(7));
        assert_eq!(
            key().verify(&token, Purpose::NewsletterUnsubscribe, now()),
            Err(TokenError::WrongPurpose)
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = key().issue(Purpose::NewsletterConfirm, "abc", now(), Duration::days(7));
        let later = now() + Duration::days(7);
        assert_eq!(
            key().verify(&token, Purpose::NewsletterConfirm, later),
            Err(TokenError::Expired)
        );
        assert!(
            key()
                .verify(
                    &token,
                    Purpose::NewsletterConfirm,
                    later - Duration::seconds(1)
                )
                .is_ok()
        );
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for garbage in ["", ".", "abc", "abc.def", "....", "é.é"] {
            assert_eq!(
                key().verify(garbage, Purpose::NewsletterConfirm, now()),
                Err(TokenError::Invalid)
            );
        }
    }
}
