//! A phone number in E.164, parsed once at sign-up (feature `phone`, which
//! brings the numbering plans) and stored as that string; read back, it is
//! trusted.

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg(feature = "phone")]
use crate::place::Departement;

/// E.164: `+` then the country code and the number, e.g. `+33612345678`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// French numbers in any common writing, foreign ones with their country
    /// code. A national number is read as one of the person's overseas
    /// département (0692… is a Réunion mobile), else as one of metropolitan France.
    #[cfg(feature = "phone")]
    pub fn parse(raw: &str, departement: Option<&Departement>) -> Option<Self> {
        use rlibphonenumber::{PhoneNumberFormat, Region};
        let local = match departement.map(Departement::as_str) {
            Some("971") => Region::GP,
            Some("972") => Region::MQ,
            Some("973") => Region::GF,
            Some("974") => Region::RE,
            Some("975") => Region::PM,
            Some("976") => Region::YT,
            _ => Region::FR,
        };
        [local, Region::FR].into_iter().find_map(|region| {
            let number = rlibphonenumber::PhoneNumber::parse(raw.trim(), Some(region)).ok()?;
            number
                .is_valid()
                .then(|| Self(number.format_as(PhoneNumberFormat::E164).to_string()))
        })
    }

    /// Loads the numbering plans and compiles France's patterns now (some
    /// 8 ms), which a function's init should pay, not its first request.
    #[cfg(feature = "phone")]
    pub fn load_numbering_plans() {
        std::hint::black_box(Self::parse("06 12 34 56 78", None));
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<PhoneNumber> for String {
    fn from(phone: PhoneNumber) -> Self {
        phone.0
    }
}

#[cfg(all(test, feature = "phone"))]
mod tests {
    use super::*;

    fn phone(raw: &str, departement: Option<&str>) -> Option<String> {
        let departement = departement.map(|code| Departement::parse(code).unwrap());
        PhoneNumber::parse(raw, departement.as_ref()).map(String::from)
    }

    #[test]
    fn french_numbers_in_any_common_writing_become_e164() {
        for raw in [
            "06 12 34 56 78",
            "0612345678",
            "+33 6 12 34 56 78",
            "0033612345678",
            "06.12.34.56.78",
            "+33 (0)6 12 34 56 78",
        ] {
            assert_eq!(
                phone(raw, Some("75")).as_deref(),
                Some("+33612345678"),
                "{raw}"
            );
        }
        assert_eq!(
            phone("+44 20 7946 0958", Some("75")).as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            phone("0692 12 34 56", Some("974")).as_deref(),
            Some("+262692123456"),
            "a Réunion mobile"
        );
        assert_eq!(
            phone("06 12 34 56 78", Some("974")).as_deref(),
            Some("+33612345678"),
            "a metropolitan mobile in La Réunion"
        );
        for raw in ["12", "06 12 34", "not a number", "+33 6 12 34 56 78 90 12"] {
            assert_eq!(phone(raw, None), None, "{raw}");
        }
    }

    #[test]
    fn numbers_are_stored_as_plain_strings() {
        let number = PhoneNumber::parse("06 12 34 56 78", None).unwrap();
        assert_eq!(number.as_str(), "+33612345678");
        assert_eq!(number.to_string(), "+33612345678");
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, "\"+33612345678\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), number);
    }
}
