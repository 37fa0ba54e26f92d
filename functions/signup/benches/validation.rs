//! Validation plus item building for one mentee request, no I/O: what a
//! sign-up costs before its one DynamoDB call. Target: ≤ 50 µs median.

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use shared::{keyring::Keyring, links::Links};
use signup::{MenteeForm, Submission, mentee_items, validate_mentee};

fn form() -> MenteeForm {
    serde_json::from_value(serde_json::json!({
        "first_name": "Inès",
        "last_name": "Benali-Durand",
        "email": "Ines.Benali@Exemple.fr",
        "phone": "06 12 34 56 78",
        "birth_date": "2007-03-14",
        "postal_code": "93200",
        "situation": "lyceen",
        "study_level": "lycee",
        "field": "Sciences de l'ingénieur",
        "needs": ["orientation", "confiance_reseau"],
        "mode": "indifferent",
        "languages": ["fr", "ar"],
        "priority_groups": ["qpv", "boursier", "handicap"],
        "sensitive_consent": true,
        "consent": true,
        "source": "campagne-tv"
    }))
    .expect("a valid form")
}

fn bench(c: &mut Criterion) {
    let keyring = Keyring::from_hex(&"5e".repeat(32)).expect("a valid secret");
    let links = Links::new("https://api.binome.example", "https://binome.example");
    let form = form();
    let today = Utc::now().date_naive();
    c.bench_function("mentee request: validate and build items", |b| {
        b.iter(|| {
            let Ok(Submission::Genuine(request)) = validate_mentee(form.clone(), today) else {
                panic!("the form is valid");
            };
            mentee_items(&request, &keyring, &links, Utc::now())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
