//! The sign-up forms' checks: any form is either refused field by field or
//! gives a request within the limits the rest of the product relies on.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use signup::form::{AGES, MenteeForm, MentorForm, Submission, validate_mentee, validate_mentor};

fuzz_target!(|body: &[u8]| {
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    if let Ok(form) = serde_json::from_slice::<MenteeForm>(body) {
        match validate_mentee(form, today) {
            Ok(Submission::Genuine(request)) => {
                let age = today
                    .years_since(request.birth_date)
                    .expect("born before today");
                assert!(AGES.contains(&age), "age {age} accepted");
                assert!(!request.contact.first_name.trim().is_empty());
                assert!((1..=4).contains(&request.needs.len()));
                assert!(request.sensitive_groups.iter().all(|g| g.is_sensitive()));
                assert!(request.priority_groups.iter().all(|g| !g.is_sensitive()));
            }
            Ok(Submission::Honeypot) => {}
            Err(problems) => assert!(!problems.is_empty()),
        }
    }
    if let Ok(form) = serde_json::from_slice::<MentorForm>(body) {
        match validate_mentor(form) {
            Ok(Submission::Genuine(mentor)) => {
                assert!(
                    (1..=3).contains(&mentor.capacity),
                    "capacity {}",
                    mentor.capacity
                );
                assert!(
                    mentor.years_experience <= 60 && (1..=20).contains(&mentor.hours_per_month)
                );
                assert!(!mentor.expertise.is_empty() && !mentor.audiences.is_empty());
            }
            Ok(Submission::Honeypot) => {}
            Err(problems) => assert!(!problems.is_empty()),
        }
    }
});
