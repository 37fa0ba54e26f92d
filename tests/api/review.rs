//! A run's pairs reviewed before anyone is mailed, and the honorability
//! rule for minors, on the embedded emulator.

use binome_tests::{
    Backend, TestTable, api_request, as_association, at, event, status_and_json, with_body,
};
use chrono::Utc;
use routing::Routing;
use serde_json::{Value, json};

use crate::matching::{app, association, call, held, links};

async fn proposal_mails(table: &TestTable) -> usize {
    table
        .outbox()
        .await
        .iter()
        .filter(|m| m["mail"]["template"] == "pair_proposed")
        .count()
}

async fn deliver_runs(app: &matching::Matching, table: &TestTable) {
    let batch = table.run_insert_records().await;
    assert!(
        matching::deliver(app, &batch)
            .await
            .batch_item_failures
            .is_empty()
    );
}

async fn run(app: &matching::Matching, table: &TestTable, key: &str) -> (u16, Value) {
    let answer = call(app, as_association(event("matching-run-request.json"), key)).await;
    deliver_runs(app, table).await;
    answer
}

async fn show(app: &matching::Matching, key: &str, id: &str) -> Value {
    let (status, body) = call(app, at(as_association(event("matching-run.json"), key), id)).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn review(
    app: &matching::Matching,
    key: &str,
    sample: &str,
    run: &str,
    body: Value,
) -> (u16, Value) {
    call(
        app,
        with_body(at(as_association(event(sample), key), run), &body),
    )
    .await
}

#[tokio::test]
async fn a_run_s_pairs_wait_as_drafts_and_only_approved_ones_are_mailed() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "relue", json!({"auto_publish": false})).await;
    for n in 1..=3 {
        held(&table, "relue", &format!("jeune{n}"), "mentee", json!({})).await;
        held(&table, "relue", &format!("mentor{n}"), "mentor", json!({})).await;
    }

    let (status, requested) = run(&app, &table, &key).await;
    assert_eq!(status, 202);
    let id = requested["id"].as_str().unwrap().to_owned();
    let shown = show(&app, &key, &id).await;
    assert_eq!(shown["summary"]["drafts"], 3, "{shown}");
    assert_eq!(shown["summary"]["pairs"], 0);
    assert_eq!(
        shown["summary"]["optimal"], true,
        "certified on the whole pool"
    );
    assert!(
        shown["objective_text"]
            .as_str()
            .unwrap()
            .starts_with("Former le plus de binômes")
    );
    let drafts = shown["drafts"].as_array().unwrap();
    assert_eq!(drafts.len(), 3);
    assert!(
        drafts
            .iter()
            .all(|d| d["status"] == "pending" && !d["reasons"].as_array().unwrap().is_empty())
    );
    assert_eq!(
        proposal_mails(&table).await,
        0,
        "nobody is told before review"
    );

    // Another run waits for the review.
    let (status, refused) = call(
        &app,
        as_association(event("matching-run-request.json"), &key),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("run_in_review"))
    );

    let mentee = |n: usize| drafts[n]["mentee_id"].as_str().unwrap().to_owned();
    let (status, reviewed) = review(
        &app,
        &key,
        "matching-run-approve.json",
        &id,
        json!({"mentee_ids": [mentee(0), mentee(1)]}),
    )
    .await;
    assert_eq!(status, 200, "{reviewed}");
    assert_eq!(
        (reviewed["approved"].as_u64(), reviewed["pending"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        proposal_mails(&table).await,
        4,
        "both people of each approved pair"
    );
    // Approving again proposes nothing twice.
    let (_, again) = review(
        &app,
        &key,
        "matching-run-approve.json",
        &id,
        json!({"mentee_ids": [mentee(0)]}),
    )
    .await;
    assert_eq!(again["approved"], 0);
    assert_eq!(proposal_mails(&table).await, 4);

    let (status, _) = review(
        &app,
        &key,
        "matching-run-reject.json",
        &id,
        json!({"mentee_ids": [mentee(2)], "reason": "no"}),
    )
    .await;
    assert_eq!(status, 400, "a reason is needed");
    let rejected_mentor = drafts[2]["mentor_id"].as_str().unwrap().to_owned();
    let (status, reviewed) = review(
        &app,
        &key,
        "matching-run-reject.json",
        &id,
        json!({"mentee_ids": [mentee(2)], "reason": "Trop loin l'un de l'autre"}),
    )
    .await;
    assert_eq!(status, 200, "{reviewed}");
    assert_eq!(
        (reviewed["rejected"].as_u64(), reviewed["pending"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        proposal_mails(&table).await,
        4,
        "a rejected draft mails nobody"
    );

    // Reviewed: a new run may start, and it never drafts the rejected pair again.
    let (status, requested) = run(&app, &table, &key).await;
    assert_eq!(status, 202);
    let next = show(&app, &key, requested["id"].as_str().unwrap()).await;
    assert!(
        next["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| !(d["mentee_id"] == mentee(2).as_str()
                && d["mentor_id"] == rejected_mentor.as_str())),
        "{next}"
    );

    // Another association's key sees none of it.
    let other = association(&table, "autre", json!({})).await;
    let (status, _) = call(
        &app,
        at(as_association(event("matching-run.json"), &other), &id),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = review(
        &app,
        &other,
        "matching-run-approve.json",
        &id,
        json!({"all": true}),
    )
    .await;
    assert_eq!(status, 404);
}

/// The pairs' CSV export with `key`: (status, content type, text).
async fn export(app: &matching::Matching, key: &str) -> (u16, String, String) {
    let sample = as_association(event("matching-pairs-export.json"), key);
    let response = matching::handle(app, api_request(&sample)).await.unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    (response.status().as_u16(), content_type, text)
}

#[tokio::test]
async fn runs_are_listed_with_the_one_in_review_and_pairs_exported_for_their_association_only() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "relue", json!({"auto_publish": false})).await;
    let other = association(&table, "autre", json!({})).await;
    for n in 1..=2 {
        held(&table, "relue", &format!("jeune{n}"), "mentee", json!({})).await;
        held(&table, "relue", &format!("mentor{n}"), "mentor", json!({})).await;
    }
    let (status, requested) = run(&app, &table, &key).await;
    assert_eq!(status, 202);
    let id = requested["id"].as_str().unwrap().to_owned();

    // Listed as the page lists it: the run, its drafts waiting for review.
    let (status, listed) = call(&app, as_association(event("matching-runs.json"), &key)).await;
    assert_eq!(status, 200, "{listed}");
    let runs = listed["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{listed}");
    assert_eq!(
        (
            runs[0]["id"].as_str(),
            runs[0]["status"].as_str(),
            runs[0]["in_review"].as_bool(),
            runs[0]["pending_drafts"].as_u64()
        ),
        (Some(id.as_str()), Some("done"), Some(true), Some(2))
    );
    assert_eq!(runs[0]["summary"]["drafts"], 2, "{listed}");
    let (status, listed) = call(&app, as_association(event("matching-runs.json"), &other)).await;
    assert_eq!(
        (status, listed["runs"].as_array().map(Vec::len)),
        (200, Some(0)),
        "another association's runs are not listed"
    );

    // Approved: out of review, and the pairs are in the export.
    let (status, _) = review(
        &app,
        &key,
        "matching-run-approve.json",
        &id,
        json!({"all": true}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, listed) = call(&app, as_association(event("matching-runs.json"), &key)).await;
    assert_eq!(
        (
            listed["runs"][0]["in_review"].as_bool(),
            listed["runs"][0]["pending_drafts"].as_u64()
        ),
        (Some(false), Some(0)),
        "{listed}"
    );
    let (status, content_type, csv) = export(&app, &key).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/csv; charset=utf-8"),
        "{csv}"
    );
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "a header and one line per pair: {csv}");
    assert!(lines[0].starts_with("binome,statut,jeune,mentor"), "{csv}");
    assert!(
        lines[1..].iter().all(|line| line.contains(",proposed,")),
        "{csv}"
    );
    assert!(
        csv.contains("Prénom-jeune1") && !csv.contains("@exemple.fr"),
        "first names, no contact detail: {csv}"
    );
    let (status, _, csv) = export(&app, &other).await;
    assert_eq!(
        (status, csv.trim_start_matches('\u{feff}').lines().count()),
        (200, 1),
        "another association's export has none of these pairs: {csv}"
    );
}

#[tokio::test]
async fn a_mentor_without_a_recorded_honorability_check_is_never_proposed_to_a_minor() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "mineurs", json!({"auto_matching": true})).await;
    // A 17-year-old, and a mentor whose honorability nobody recorded.
    held(&table, "mineurs", "jeune", "mentee", json!({})).await;
    held(
        &table,
        "mineurs",
        "mentor",
        "mentor",
        json!({"honorability": null}),
    )
    .await;

    // Not by a run, nor by the nightly one, nor in the suggestions, nor by hand.
    let (_, requested) = run(&app, &table, &key).await;
    let shown = show(&app, &key, requested["id"].as_str().unwrap()).await;
    assert_eq!(shown["summary"]["pairs"], 0, "{shown}");
    assert_eq!(matching::runs::nightly(&app, Utc::now()).await.unwrap(), 1);
    deliver_runs(&app, &table).await;
    assert_eq!(proposal_mails(&table).await, 0);
    let (status, suggestions) = call(
        &app,
        at(
            as_association(event("matching-suggestions.json"), &key),
            "jeune",
        ),
    )
    .await;
    assert_eq!(
        (status, suggestions["suggestions"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    assert_eq!(
        suggestions["held_back"][0]["reason"], "honorability",
        "{suggestions}"
    );
    assert_eq!(suggestions["held_back"][0]["mentors"], 1);
    let (status, refused) = call(
        &app,
        with_body(
            as_association(event("matching-pair.json"), &key),
            &json!({"mentee_id": "jeune", "mentor_id": "mentor"}),
        ),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("honorability_unchecked")),
        "{refused}"
    );

    // Another association's check does not count here.
    let routing = Routing::new(table.store.clone(), links(), None, None);
    let record = |key: &str, date: &str| {
        with_body(
            at(
                as_association(event("association-honorability.json"), key),
                "mentor",
            ),
            &json!({"checked_on": date}),
        )
    };
    let other = association(&table, "ailleurs", json!({})).await;
    let answer = routing::handle(&routing, api_request(&record(&other, "2026-11-30")))
        .await
        .unwrap();
    assert_eq!(answer.status(), 404, "not its mentor");
    let future = (Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let answer = routing::handle(&routing, api_request(&record(&key, &future)))
        .await
        .unwrap();
    assert_eq!(answer.status(), 400, "a check cannot be in the future");
    let answer = routing::handle(&routing, api_request(&record(&key, "2026-11-30")))
        .await
        .unwrap();
    let (status, recorded) = status_and_json(&answer);
    assert_eq!(status, 200, "{recorded}");
    assert_eq!(recorded["honorability"]["checked_on"], "2026-11-30");

    // Checked: the mentor is proposed.
    let (status, proposed) = call(
        &app,
        with_body(
            as_association(event("matching-pair.json"), &key),
            &json!({"mentee_id": "jeune", "mentor_id": "mentor"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{proposed}");
    assert_eq!(proposal_mails(&table).await, 2);
}

#[tokio::test]
async fn an_erased_person_is_taken_out_of_the_drafts_and_the_association_may_run_again() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "relue", json!({"auto_publish": false})).await;
    held(&table, "relue", "jeune1", "mentee", json!({})).await;
    held(&table, "relue", "mentor1", "mentor", json!({})).await;
    let (status, requested) = run(&app, &table, &key).await;
    assert_eq!(status, 202);
    let id = requested["id"].as_str().unwrap().to_owned();
    assert_eq!(
        show(&app, &key, &id).await["drafts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let references = table
        .items_with_sort_prefix(shared::store::keys::DRAFT_REFERENCE_PREFIX)
        .await;
    let mut holders: Vec<&str> = references
        .iter()
        .map(|r| r["pk"].as_str().unwrap())
        .collect();
    holders.sort_unstable();
    assert_eq!(
        holders,
        ["PERSON#jeune1", "PERSON#mentor1"],
        "each person holds a reference"
    );
    // A redelivered run writes nothing twice.
    deliver_runs(&app, &table).await;
    assert_eq!(
        table
            .items_with_sort_prefix(shared::store::keys::DRAFT_REFERENCE_PREFIX)
            .await
            .len(),
        2
    );

    // The mentee erases their data: the reference goes with it, and the stream takes them out of the draft.
    let subject = shared::subject::SignupSubject {
        person_id: "jeune1".into(),
        role: shared::people::Role::Mentee,
        address: binome_tests::keyring()
            .addresses
            .id_of(&shared::email::EmailAddress::parse("jeune1@exemple.fr").unwrap()),
        has_sensitive_data: false,
        has_guardian: false,
    };
    let removed: Vec<Value> = references
        .into_iter()
        .filter(|r| r["pk"] == "PERSON#jeune1")
        .collect();
    shared::erasure::erase(
        &table.store,
        &subject,
        shared::erasure::ErasureCause::Request,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(
        matching::deliver(&app, &crate::matching::removals(&removed))
            .await
            .batch_item_failures
            .is_empty()
    );
    let shown = show(&app, &key, &id).await;
    assert!(shown["drafts"].as_array().unwrap().is_empty(), "{shown}");
    assert!(!shown.to_string().contains("Prénom-jeune1"), "{shown}");
    // Delivered again: nothing more to do.
    assert!(
        matching::deliver(&app, &crate::matching::removals(&removed))
            .await
            .batch_item_failures
            .is_empty()
    );

    // Nothing left to review: the association may run again.
    let (status, _) = run(&app, &table, &key).await;
    assert_eq!(status, 202);
}
