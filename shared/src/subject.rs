//! What the links of a sign-up name: the person and their role, the id of
//! their address (to reach the e-mail guard), and which items of theirs exist
//! besides the profile. Signed inside the token, so trusted without a read.

use crate::{
    keyring::AddressId,
    people::{Role, parse_term},
    store::Key,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupSubject {
    pub person_id: String,
    pub role: Role,
    pub address: AddressId,
    pub has_sensitive_data: bool,
    pub has_guardian: bool,
}

impl SignupSubject {
    /// `<person id>:<role>:<address id>:<s?g?>`
    pub fn encode(&self) -> String {
        let role = match self.role {
            Role::Mentee => "mentee",
            Role::Mentor => "mentor",
        };
        let mut parts = String::new();
        if self.has_sensitive_data {
            parts.push('s');
        }
        if self.has_guardian {
            parts.push('g');
        }
        format!(
            "{}:{role}:{}:{parts}",
            self.person_id,
            self.address.as_str()
        )
    }

    /// Reads a subject from a verified token.
    pub fn decode(subject: &str) -> Option<Self> {
        let fields: Vec<&str> = subject.split(':').collect();
        let [person_id, role, address, parts] = fields[..] else {
            return None;
        };
        if person_id.is_empty() || address.is_empty() {
            return None;
        }
        Some(Self {
            person_id: person_id.to_owned(),
            role: parse_term(role)?,
            address: AddressId::from_trusted(address.to_owned()),
            has_sensitive_data: parts.contains('s'),
            has_guardian: parts.contains('g'),
        })
    }

    pub fn profile(&self) -> Key {
        Key::person_profile(&self.person_id)
    }

    /// The items that expire with an unverified sign-up, besides the profile.
    pub fn dependents(&self) -> Vec<Key> {
        let mut keys = vec![Key::email_guard(&self.address, self.role)];
        if self.has_sensitive_data {
            keys.push(Key::person_sensitive_data(&self.person_id));
        }
        if self.has_guardian {
            keys.push(Key::person_guardian(&self.person_id));
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip() {
        let subject = SignupSubject {
            person_id: "p1".into(),
            role: Role::Mentee,
            address: AddressId::from_trusted("a1".into()),
            has_sensitive_data: true,
            has_guardian: false,
        };
        assert_eq!(subject.encode(), "p1:mentee:a1:s");
        assert_eq!(SignupSubject::decode(&subject.encode()), Some(subject));
        assert_eq!(SignupSubject::decode("p1:mentee:a1"), None);
        assert_eq!(SignupSubject::decode("p1:boss:a1:"), None);
        assert_eq!(SignupSubject::decode("p1:mentee:a1::x"), None);
    }
}
