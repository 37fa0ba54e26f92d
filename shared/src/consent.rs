//! Consent records (GDPR art. 7: we must be able to show who agreed to which
//! text, and when) and the campaign tag that comes with a sign-up.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A consent as given: when, to which version of the text, through which campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub given_at: String,
    pub text_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Consent {
    pub fn given(at: DateTime<Utc>, text_version: &str, source: Option<&str>) -> Self {
        Self {
            given_at: at.to_rfc3339_opts(SecondsFormat::Secs, true),
            text_version: text_version.to_owned(),
            source: source.map(str::to_owned),
        }
    }
}

const MAX_SOURCE_LEN: usize = 64;

/// The message for a campaign tag that is not one.
pub const INVALID_SOURCE: &str = "Le code de campagne ne peut contenir que des lettres sans accent, des chiffres, « - » et « _ » (64 caractères au plus).";

/// A campaign tag (`tv-2026`, `lycee_paris`): trimmed; blank means none.
pub fn parse_source(raw: Option<&str>) -> Result<Option<String>, &'static str> {
    let Some(source) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let valid = source.len() <= MAX_SOURCE_LEN
        && source
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(Some(source.to_owned()))
    } else {
        Err(INVALID_SOURCE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaign_tags_are_trimmed_and_checked() {
        assert_eq!(parse_source(Some(" tv-2026 ")), Ok(Some("tv-2026".into())));
        assert_eq!(parse_source(Some("  ")), Ok(None));
        assert_eq!(parse_source(None), Ok(None));
        assert!(parse_source(Some("<script>")).is_err());
        assert!(parse_source(Some(&"a".repeat(65))).is_err());
    }
}
