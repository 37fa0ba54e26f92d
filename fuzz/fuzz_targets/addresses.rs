//! Mail addresses, phone numbers, postal codes and départements as people
//! type them: never a panic, and what is accepted reads back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::{
    email::EmailAddress,
    phone::PhoneNumber,
    place::{Departement, PostalCode},
};

fuzz_target!(|raw: &str| {
    if let Ok(email) = EmailAddress::parse(raw) {
        assert!(
            email.as_str().len() <= 254,
            "an address longer than RFC 5321 allows"
        );
        let again = EmailAddress::parse(email.as_str()).expect("a normalised address parses");
        assert_eq!(again.as_str(), email.as_str());
    }
    let postal_code = PostalCode::parse(raw);
    if let Some(code) = &postal_code {
        let departement = code.departement();
        assert!(Departement::parse(departement.as_str()).is_some());
    }
    let departement = Departement::parse(raw);
    if let Some(departement) = &departement {
        assert!(
            departement.index() < 110,
            "a département index out of the table"
        );
    }
    let around = postal_code.map(|code| code.departement());
    if let Some(phone) = PhoneNumber::parse(raw, around.as_ref()) {
        let e164 = phone.as_str();
        assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()));
        let again = PhoneNumber::parse(e164, None).expect("an E.164 number parses");
        assert_eq!(again.as_str(), e164);
    }
});
