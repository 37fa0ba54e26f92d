//! The association's counters (mentees routed this month, mentees waiting,
//! free mentor places) equal a recount from the profiles themselves after
//! each step: routing, proposals, answers, closing, erasure.

use binome_tests::{
    Backend, TestTable, api_request, as_association, at, event, keyring, status_and_json,
    store_verified, verified_profile, with_body, with_token,
};
use chrono::{DateTime, Utc};
use matching::{Matching, pairs::Answered};
use routing::{
    Routing,
    directory::{self, AssociationForm},
    stream,
};
use serde_json::{Value, json};
use shared::{
    directory::{Counters, month_of},
    links::Links,
    people::Role,
    store::keys::Key,
    tokens::Purpose,
};

const SLUG: &str = "tremplin-93";
const MENTEES: [&str; 3] = ["jeune1", "jeune2", "jeune3"];
const MENTORS: [&str; 2] = ["mentor1", "mentor2"];

fn links() -> Links {
    Links::new("https://api.binome.test", "https://binome.test")
}

/// The one association, open to mentees and mentors of 93; returns its key.
async fn association(routing: &Routing) -> String {
    let form: AssociationForm = serde_json::from_value(json!({
        "name": "Tremplin 93",
        "contact_email": "contact@tremplin-93.example",
        "departements": ["93"],
        "modes": ["presentiel", "distance"],
        "needs": ["orientation", "stage_alternance", "insertion_pro"],
        "situations": [],
        "monthly_capacity": 10,
        "mentor_intake": "open",
    }))
    .unwrap();
    let record = directory::validate(SLUG, form).unwrap();
    directory::save(routing, &record).await.unwrap().unwrap()
}

/// A verified mentor offering `capacity` places, who can mentor the sample
/// mentees (minors: the association checked the mentor's honorability).
fn mentor(id: &str, capacity: u8) -> Value {
    let mut profile = verified_profile(
        id,
        json!({
            "role": "mentor", "first_name": "Thomas", "last_name": "Moreau",
            "email": format!("{id}@exemple.fr"), "mode": "indifferent", "capacity": capacity,
            "job_title": "Ingénieur logiciel", "sector": "numerique", "years_experience": 12,
            "expertise": ["orientation", "stage_alternance", "insertion_pro"],
            "audiences": ["lyceen", "etudiant"], "fields": ["informatique"],
            "hours_per_month": 3, "charter_accepted_at": "2026-11-26T09:12:03Z",
            "honorability": {"association": SLUG, "checked_on": "2026-11-20", "by": "api_key", "by_name": "Clé d'API"},
        }),
    );
    let fields = profile.as_object_mut().unwrap();
    for mentee_only in [
        "birth_date",
        "situation",
        "needs",
        "priority_groups",
        "guardian_required",
        "has_sensitive_data",
    ] {
        fields.remove(mentee_only);
    }
    profile
}

/// A person's profile as stored (a consistent GetItem), if there is one.
async fn profile_item(table: &TestTable, id: &str) -> Option<Value> {
    table
        .store
        .client
        .get_item()
        .table_name(&table.store.table)
        .set_key(Some(Key::person_profile(id).attributes()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .map(|item| serde_dynamo::from_item(item).unwrap())
}

async fn stored_profile(table: &TestTable, id: &str) -> Value {
    profile_item(table, id)
        .await
        .unwrap_or_else(|| panic!("no profile for {id}"))
}

/// The association's counters for `month` recounted from the profiles of
/// the people this test created, read one by one: nothing of the counters.
async fn recount(table: &TestTable, month: &str) -> Counters {
    let mut counted = Counters::default();
    for id in MENTEES.iter().chain(&MENTORS) {
        let Some(profile) = profile_item(table, id).await else {
            continue;
        };
        if profile["routing"]["association"] != SLUG {
            continue;
        }
        let in_pool = matches!(profile["status"].as_str(), Some("routed" | "acknowledged"));
        match profile["role"].as_str() {
            Some("mentee") => {
                if in_pool {
                    counted.waiting_mentees += 1;
                }
                let routed_at: DateTime<Utc> = profile["routing"]["decided_at"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                if month_of(routed_at) == month {
                    counted.routed_this_month += 1;
                }
            }
            Some("mentor") if in_pool => {
                let capacity = profile["capacity"].as_u64().unwrap();
                let held = profile["pairs_held"].as_u64().unwrap_or(0);
                let free = capacity
                    .checked_sub(held)
                    .unwrap_or_else(|| panic!("{id} holds {held} pairs for {capacity} places"));
                counted.free_mentor_places += u32::try_from(free).unwrap();
            }
            _ => {}
        }
    }
    counted
}

fn counts(routed_this_month: u32, waiting_mentees: u32, free_mentor_places: u32) -> Counters {
    Counters {
        routed_this_month,
        waiting_mentees,
        free_mentor_places,
    }
}

/// The recount is what the step should leave, and the counters read from
/// the directory are the recount.
async fn assert_counted(table: &TestTable, step: &str, expected: Counters) {
    assert_counted_with(table, step, expected, 0).await;
}

/// The same, for steps after `erased` routed mentees erased their data:
/// their profiles are gone, but the month's count of routings keeps them
/// (the monthly capacity bounds what was sent to the association).
async fn assert_counted_with(table: &TestTable, step: &str, expected: Counters, erased: u32) {
    let month = month_of(Utc::now());
    let mut recounted = recount(table, &month).await;
    recounted.routed_this_month += erased;
    assert_eq!(
        recounted, expected,
        "{step}: the people are not where the step puts them"
    );
    let read = shared::directory::read(&table.store, &month)
        .await
        .unwrap()
        .get(SLUG)
        .expect("the association is in the directory")
        .counters;
    assert_eq!(
        read, recounted,
        "{step}: the counters differ from the profiles"
    );
}

async fn call(app: &Matching, event: Value) -> (u16, Value) {
    status_and_json(&matching::handle(app, api_request(&event)).await.unwrap())
}

/// The association proposes `mentee` to `mentor`; returns the pair id.
async fn propose(app: &Matching, key: &str, mentee: &str, mentor: &str) -> String {
    let pair = json!({"mentee_id": mentee, "mentor_id": mentor});
    let (status, proposed) = call(
        app,
        as_association(with_body(event("matching-pair.json"), &pair), key),
    )
    .await;
    assert_eq!(status, 201, "{mentee} with {mentor}: {proposed}");
    proposed["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_counters_equal_a_recount_of_the_profiles_at_each_step() {
    let table = TestTable::new(Backend::Embedded).await;
    let routing = Routing::new(table.store.clone(), links(), None, None);
    let matching = Matching::new(table.store.clone(), keyring(), links());
    let key = association(&routing).await;
    assert_counted(&table, "association créée", counts(0, 0, 0)).await;

    let mentees: Vec<Value> = MENTEES
        .iter()
        .map(|id| verified_profile(id, json!({})))
        .collect();
    let routed = stream::deliver(&routing, &store_verified(&table, &mentees).await).await;
    assert!(routed.batch_item_failures.is_empty());
    assert_counted(&table, "trois jeunes orientés", counts(3, 3, 0)).await;

    routing.directory.clear().await;
    let mentors = [mentor(MENTORS[0], 1), mentor(MENTORS[1], 2)];
    let routed = stream::deliver(&routing, &store_verified(&table, &mentors).await).await;
    assert!(routed.batch_item_failures.is_empty());
    assert_counted(&table, "deux mentors orientés", counts(3, 3, 3)).await;

    let kept = propose(&matching, &key, "jeune1", "mentor2").await;
    assert_counted(&table, "premier binôme proposé", counts(3, 2, 2)).await;
    let refused = propose(&matching, &key, "jeune2", "mentor1").await;
    assert_counted(&table, "second binôme proposé", counts(3, 1, 1)).await;

    let now = Utc::now();
    assert_eq!(
        matching::pairs::accept(&matching, &kept, Role::Mentee, now)
            .await
            .unwrap(),
        Answered::Waiting
    );
    assert_counted(&table, "le jeune accepte", counts(3, 1, 1)).await;
    assert_eq!(
        matching::pairs::accept(&matching, &kept, Role::Mentor, now)
            .await
            .unwrap(),
        Answered::Started
    );
    assert_eq!(stored_profile(&table, "jeune1").await["status"], "paired");
    assert_counted(&table, "binôme formé", counts(3, 1, 1)).await;

    assert_eq!(
        matching::pairs::decline(&matching, &refused, Role::Mentee, Utc::now())
            .await
            .unwrap(),
        Answered::Declined
    );
    assert_eq!(
        stored_profile(&table, "jeune2").await["status"],
        "acknowledged",
        "back in the pool"
    );
    assert_counted(&table, "second binôme décliné", counts(3, 2, 2)).await;

    let close = at(
        with_body(
            event("matching-pair-close.json"),
            &json!({"reason": "no_contact"}),
        ),
        &kept,
    );
    let (status, closed) = call(&matching, as_association(close, &key)).await;
    assert_eq!((status, closed["status"].as_str()), (200, Some("closed")));
    assert_eq!(
        stored_profile(&table, "jeune1").await["status"],
        "acknowledged",
        "a mentee who never heard from the mentor is paired again"
    );
    assert_counted(&table, "binôme clos sans contact", counts(3, 3, 3)).await;

    // A waiting mentee and a mentor with a free place erase their data:
    // they leave the counters with their profile, once.
    let signup = signup::Signup::new(
        table.store.clone(),
        keyring(),
        links(),
        std::time::Duration::ZERO,
    );
    for (subject, expected) in [
        ("jeune3:mentee:adresse-jeune3:", counts(3, 2, 3)),
        ("mentor1:mentor:adresse-mentor1:", counts(3, 2, 2)),
    ] {
        let token = keyring().tokens.issue(
            Purpose::PersonalData,
            subject,
            Utc::now(),
            chrono::Duration::hours(1),
        );
        for _ in 0..2 {
            let erased = signup::handle(
                &signup,
                api_request(&with_token(event("me-erase.json"), &token)),
            )
            .await
            .unwrap();
            assert_eq!(erased.status(), 200);
        }
        assert_counted_with(&table, "données effacées", expected, 1).await;
    }
}
