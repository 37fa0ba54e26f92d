//! The links' tokens: a forged or damaged token is refused without a panic,
//! and a token signed for any subject (which takes the secret) reads back as
//! issued or is refused, never as something else.
#![no_main]

use chrono::{Duration, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use shared::tokens::{Purpose, TokenKey};

fuzz_target!(|input: (&str, &str, u8)| {
    let (token, subject, flip) = input;
    let key = TokenKey::new([7; 32]);
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let _ = key.verify(token, Purpose::SignupVerify, now);

    if subject.contains('.') {
        return;
    }
    let issued = key.issue(Purpose::PairAnswer, subject, now, Duration::days(7));
    if let Ok(verified) = key.verify(&issued, Purpose::PairAnswer, now) {
        assert_eq!(verified.subject, subject);
    }
    assert!(key.verify(&issued, Purpose::PersonalData, now).is_err());
    assert!(
        key.verify(&issued, Purpose::PairAnswer, now + Duration::days(8))
            .is_err()
    );
    // Any change of one character is refused.
    let mut damaged: Vec<u8> = issued.into_bytes();
    let at = usize::from(flip) % damaged.len();
    damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
    let damaged = String::from_utf8(damaged).expect("still ASCII");
    assert!(key.verify(&damaged, Purpose::PairAnswer, now).is_err());
});
