//! Where people live, as parsed once at sign-up: a French [`PostalCode`] and
//! its [`Departement`]. Holding one means it is valid; both are stored as
//! their plain code.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A French département: `01`–`95` (no `20`), Corsica `2A` and `2B`,
/// overseas `971`–`976`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Departement(String);

impl Departement {
    /// A département code, in any case and with surrounding spaces.
    pub fn parse(code: &str) -> Option<Self> {
        let code = code.trim().to_ascii_uppercase();
        let digits = code.bytes().all(|b| b.is_ascii_digit());
        let valid = match code.len() {
            2 if code == "2A" || code == "2B" => true,
            2 if digits => code != "00" && code != "20" && code.as_str() <= "95",
            3 if digits => ("971"..="976").contains(&code.as_str()),
            _ => false,
        };
        valid.then_some(Self(code))
    }

    /// The département of a postal code: the first two digits, Corsica split
    /// into 2A (20000–20199) and 2B, overseas 971–976 on three digits.
    pub fn of_postal_code(postal_code: &PostalCode) -> Self {
        departement_of(postal_code.as_str())
            .expect("a postal code is only built when it has a département")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A small number per département, stable: 01–95 their number, 2A 96,
    /// 2B 97, 971–976 98–103.
    pub fn index(&self) -> u8 {
        match self.0.as_str() {
            "2A" => 96,
            "2B" => 97,
            code => {
                let number = code
                    .bytes()
                    .fold(0u16, |number, digit| number * 10 + u16::from(digit - b'0'));
                if number >= 971 {
                    (number - 971 + 98) as u8
                } else {
                    number as u8
                }
            }
        }
    }

    /// Guadeloupe, Martinique, Guyane, La Réunion, Saint-Pierre-et-Miquelon, Mayotte.
    pub fn is_overseas(&self) -> bool {
        self.0.len() == 3
    }
}

impl fmt::Display for Departement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string that is not a département code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a French département code: {0:?}")]
pub struct InvalidDepartement(String);

impl TryFrom<String> for Departement {
    type Error = InvalidDepartement;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Self::parse(&code).ok_or(InvalidDepartement(code))
    }
}

impl From<Departement> for String {
    fn from(departement: Departement) -> Self {
        departement.0
    }
}

/// A French postal code: five digits whose département exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PostalCode(String);

impl PostalCode {
    /// Five digits, surrounding spaces aside, naming a département.
    pub fn parse(raw: &str) -> Option<Self> {
        let digits = raw.trim();
        departement_of(digits)?;
        Some(Self(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn departement(&self) -> Departement {
        Departement::of_postal_code(self)
    }
}

impl fmt::Display for PostalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string that is not a French postal code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a French postal code: {0:?}")]
pub struct InvalidPostalCode(String);

impl TryFrom<String> for PostalCode {
    type Error = InvalidPostalCode;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw).ok_or(InvalidPostalCode(raw))
    }
}

impl From<PostalCode> for String {
    fn from(postal_code: PostalCode) -> Self {
        postal_code.0
    }
}

/// The département of five digits, if they are a French postal code.
fn departement_of(digits: &str) -> Option<Departement> {
    if digits.len() != 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u32 = digits.parse().ok()?;
    let code = match number / 1000 {
        1..=19 | 21..=95 => &digits[..2],
        20 if number < 20200 => "2A",
        20 => "2B",
        97 if (971..=976).contains(&(number / 100)) => &digits[..3],
        _ => return None,
    };
    Some(Departement(code.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn departement(postal_code: &str) -> Option<String> {
        PostalCode::parse(postal_code).map(|code| code.departement().as_str().to_owned())
    }

    #[test]
    fn postal_codes_give_their_departement() {
        assert_eq!(departement("75011").as_deref(), Some("75"));
        assert_eq!(departement("01000").as_deref(), Some("01"));
        assert_eq!(departement("20000").as_deref(), Some("2A"), "Ajaccio");
        assert_eq!(departement("20090").as_deref(), Some("2A"));
        assert_eq!(departement("20199").as_deref(), Some("2A"));
        assert_eq!(departement("20200").as_deref(), Some("2B"), "Bastia");
        assert_eq!(departement("20600").as_deref(), Some("2B"));
        assert_eq!(departement("97100").as_deref(), Some("971"), "Guadeloupe");
        assert_eq!(departement("97400").as_deref(), Some("974"), "La Réunion");
        assert_eq!(departement("97600").as_deref(), Some("976"), "Mayotte");
        assert_eq!(departement(" 75011 ").as_deref(), Some("75"));
        for raw in [
            "00000", "96000", "97000", "97700", "98000", "7501", "750111", "75 011", "abcde", "",
        ] {
            assert_eq!(departement(raw), None, "{raw}");
        }
    }

    #[test]
    fn postal_codes_are_kept_trimmed() {
        let code = PostalCode::parse(" 93200\t").unwrap();
        assert_eq!(code.as_str(), "93200");
        assert_eq!(code.to_string(), "93200");
        assert_eq!(
            Departement::of_postal_code(&code),
            Departement::parse("93").unwrap()
        );
    }

    #[test]
    fn departement_codes_parse_in_any_case() {
        assert_eq!(Departement::parse("2a").unwrap().as_str(), "2A");
        assert_eq!(Departement::parse(" 2b ").unwrap().as_str(), "2B");
        assert_eq!(Departement::parse("01").unwrap().as_str(), "01");
        assert_eq!(Departement::parse("95").unwrap().to_string(), "95");
        assert_eq!(Departement::parse("974").unwrap().as_str(), "974");
        for raw in [
            "", "0", "1", "00", "20", "96", "99", "2C", "970", "977", "075", "7a", "9740", "+1",
        ] {
            assert_eq!(Departement::parse(raw), None, "{raw}");
        }
    }

    #[test]
    fn indexes_are_stable() {
        let index = |code: &str| Departement::parse(code).unwrap().index();
        assert_eq!(index("01"), 1);
        assert_eq!(index("19"), 19);
        assert_eq!(index("21"), 21);
        assert_eq!(index("95"), 95);
        assert_eq!(index("2A"), 96);
        assert_eq!(index("2B"), 97);
        assert_eq!(index("971"), 98);
        assert_eq!(index("974"), 101);
        assert_eq!(index("976"), 103);
    }

    #[test]
    fn only_overseas_departements_are_overseas() {
        assert!(Departement::parse("972").unwrap().is_overseas());
        assert!(!Departement::parse("2A").unwrap().is_overseas());
        assert!(!Departement::parse("75").unwrap().is_overseas());
    }

    #[test]
    fn both_are_stored_as_plain_strings() {
        let departement = Departement::parse("2b").unwrap();
        let json = serde_json::to_string(&departement).unwrap();
        assert_eq!(json, "\"2B\"");
        assert_eq!(
            serde_json::from_str::<Departement>(&json).unwrap(),
            departement
        );

        let postal_code = PostalCode::parse("97400").unwrap();
        let json = serde_json::to_string(&postal_code).unwrap();
        assert_eq!(json, "\"97400\"");
        assert_eq!(
            serde_json::from_str::<PostalCode>(&json).unwrap(),
            postal_code
        );
    }

    #[test]
    fn invalid_strings_do_not_deserialize() {
        for json in ["\"20\"", "\"96\"", "\"\"", "75"] {
            assert!(serde_json::from_str::<Departement>(json).is_err(), "{json}");
        }
        for json in ["\"97700\"", "\"7501\"", "\"abcde\"", "75011"] {
            assert!(serde_json::from_str::<PostalCode>(json).is_err(), "{json}");
        }
    }
}
