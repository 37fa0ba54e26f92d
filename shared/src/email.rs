//! E-mail addresses as the rest of the code may hold them: parsed by a
//! well-kept RFC 5322 parser, then normalised (trimmed, lowercased).

use std::fmt;

/// A deliverable-looking, normalised address. Holding one means it was parsed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid e-mail address")]
pub struct InvalidEmail;

/// RFC 5321 limits a forward path to 254 characters.
const MAX_LEN: usize = 254;

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let normalised = raw.trim().to_lowercase();
        if normalised.len() > MAX_LEN {
            return Err(InvalidEmail);
        }
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal();
        let parsed = email_address::EmailAddress::parse_with_options(&normalised, options)
            .map_err(|_| InvalidEmail)?;
        // A mail domain we can deliver to has at least one dot ("localhost" does not count).
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(InvalidEmail);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never print an address by accident: logs and debug output show a placeholder.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let address = EmailAddress::parse("  Camille.Martin@Exemple.FR ").unwrap();
        assert_eq!(address.as_str(), "camille.martin@exemple.fr");
    }

    #[test]
    fn common_valid_addresses_are_accepted() {
        for raw in [
            "a@b.fr",
            "prenom.nom+lettre@sous.domaine.gouv.fr",
            "o'connor@exemple.ie",
            "élève@collège.fr",
        ] {
            assert!(EmailAddress::parse(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        let too_long = format!("{}@exemple.fr", "a".repeat(250));
        for raw in [
            "",
            "camille",
            "camille@",
            "@exemple.fr",
            "camille@localhost",
            "camille@exemple.",
            "camille@@exemple.fr",
            "camille martin@exemple.fr",
            "Camille <camille@exemple.fr>",
            "camille@[127.0.0.1]",
            too_long.as_str(),
        ] {
            assert_eq!(EmailAddress::parse(raw), Err(InvalidEmail), "{raw}");
        }
    }

    #[test]
    fn debug_output_does_not_show_the_address() {
        let address = EmailAddress::parse("camille@exemple.fr").unwrap();
        assert!(!format!("{address:?}").contains("camille"));
    }
}
