//! Matching on the embedded emulator: runs from the stream, proposals,
//! answers by the mailed links, closing, the capacity of a mentor under
//! concurrency, the isolation of association pools, the nightly schedule.

use binome_tests::{
    Backend, TestTable, api_request, as_association, at, event, keyring, link_tokens,
    status_and_json, with_body, with_token,
};
use matching::Matching;
use routing::{
    Routing,
    directory::{self, AssociationForm},
};
use serde_json::{Value, json};
use shared::links::Links;
use shared::store::keys::{self, Key, index};

pub(crate) fn links() -> Links {
    Links::new("https://api.binome.test", "https://binome.test")
}

pub(crate) fn app(table: &TestTable) -> Matching {
    Matching::new(table.store.clone(), keyring(), links())
}

/// An association in 93 that publishes its runs without review (unless
/// `changes` say otherwise); returns its key.
pub(crate) async fn association(table: &TestTable, slug: &str, changes: Value) -> String {
    let routing = Routing::new(table.store.clone(), links(), None, None);
    let mut form = json!({
        "name": format!("Association {slug}"),
        "contact_email": format!("contact@{slug}.example"),
        "departements": ["93"],
        "modes": ["presentiel", "distance"],
        "needs": ["orientation", "stage_alternance", "insertion_pro"],
        "monthly_capacity": 100,
        "auto_publish": true,
    });
    for (name, value) in changes.as_object().unwrap() {
        form[name] = value.clone();
    }
    let form: AssociationForm = serde_json::from_value(form).unwrap();
    let record = directory::validate(slug, form).unwrap();
    directory::save(&routing, &record).await.unwrap().unwrap()
}

/// A person the association holds (routed to it and acknowledged): by
/// default a 17-year-old mentee, or a mentor whose honorability the
/// association checked.
pub(crate) async fn held(table: &TestTable, slug: &str, id: &str, role: &str, changes: Value) {
    let key = Key::person_profile(id);
    let mut profile = json!({
        "pk": key.pk, "sk": key.sk, "id": id, "role": role,
        "status": "acknowledged", "first_name": format!("Prénom-{id}"), "last_name": format!("Nom-{id}"),
        "email": format!("{id}@exemple.fr"), "phone": "+33612345678",
        "postal_code": "93200", "departement": "93", "mode": "indifferent", "languages": ["fr"],
        "consent": {"given_at": "2026-11-01T09:00:00Z", "text_version": "v1"},
        "created_at": "2026-11-01T09:00:00Z", "verified_at": "2026-11-01T09:05:00Z",
        "routing": {
            "attempt": 1, "association": slug, "cause": "verified", "decided_at": "2026-11-01T09:06:00Z",
            "decision": {"candidates": [], "rule_version": "routing-2026-11"},
        },
        "assoc_pk": index::association_requests(slug),
        "assoc_sk": index::association_request_sort("acknowledged", "2026-11-01T09:06:00Z", id),
    });
    let details = if role == "mentee" {
        json!({"birth_date": "2009-04-17", "situation": "lyceen", "needs": ["orientation"],
               "field": "informatique", "priority_groups": [], "guardian_required": false})
    } else {
        json!({"job_title": "Ingénieure logiciel", "sector": "numerique", "years_experience": 10,
               "expertise": ["orientation", "stage_alternance"], "audiences": ["lyceen", "etudiant"],
               "fields": ["informatique"], "capacity": 1, "hours_per_month": 4,
               "charter_accepted_at": "2026-11-01T09:00:00Z",
               "honorability": {"association": slug, "checked_on": "2026-11-01", "by": "api_key", "by_name": "Clé d'API"}})
    };
    for (name, value) in details
        .as_object()
        .unwrap()
        .iter()
        .chain(changes.as_object().unwrap())
    {
        profile[name] = value.clone();
    }
    table
        .store
        .client
        .put_item()
        .table_name(&table.store.table)
        .set_item(Some(serde_dynamo::to_item(profile).unwrap()))
        .send()
        .await
        .unwrap();
}

pub(crate) async fn call(app: &Matching, event: Value) -> (u16, Value) {
    status_and_json(&matching::handle(app, api_request(&event)).await.unwrap())
}

async fn item(table: &TestTable, key: &Key) -> Option<Value> {
    table
        .items()
        .await
        .into_iter()
        .find(|item| item["pk"] == key.pk && item["sk"] == key.sk)
}

async fn profile(table: &TestTable, id: &str) -> Value {
    item(table, &Key::person_profile(id)).await.unwrap()
}

async fn pairs(table: &TestTable) -> Vec<Value> {
    table
        .items()
        .await
        .into_iter()
        .filter(|item| item["sk"] == keys::sort::PAIR)
        .collect()
}

async fn mails(table: &TestTable, template: &str) -> Vec<Value> {
    table
        .outbox()
        .await
        .into_iter()
        .filter(|m| m["mail"]["template"] == template)
        .collect()
}

/// Runs what the stream would deliver: the new run items.
async fn deliver_runs(app: &Matching, table: &TestTable) {
    let batch = table.run_insert_records().await;
    let response = matching::deliver(app, &batch).await;
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn a_run_proposes_the_best_pairs_once_and_reports() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "tremplin-93", json!({})).await;
    for id in ["jeune1", "jeune2", "jeune3"] {
        held(&table, "tremplin-93", id, "mentee", json!({})).await;
    }
    // The first mentee also needs an internship: the mentor covering both needs fits best.
    held(
        &table,
        "tremplin-93",
        "jeune1",
        "mentee",
        json!({"needs": ["orientation", "stage_alternance"]}),
    )
    .await;
    held(&table, "tremplin-93", "mentor1", "mentor", json!({})).await;
    held(
        &table,
        "tremplin-93",
        "mentor2",
        "mentor",
        json!({"expertise": ["insertion_pro"]}),
    )
    .await;

    let (status, requested) = call(
        &app,
        as_association(event("matching-run-request.json"), &key),
    )
    .await;
    assert_eq!(status, 202);
    let run_id = requested["id"].as_str().unwrap().to_owned();
    deliver_runs(&app, &table).await;

    let (status, run) = call(
        &app,
        as_association(at(event("matching-run.json"), &run_id), &key),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(run["status"], "done");
    assert_eq!(run["summary"]["pairs"], 2);
    assert_eq!(run["summary"]["unmatched"], 1);
    assert_eq!(run["summary"]["mentees"], 3);
    let proposed = pairs(&table).await;
    assert_eq!(proposed.len(), 2);
    let with_mentor1 = proposed
        .iter()
        .find(|p| p["mentor_id"] == "mentor1")
        .unwrap();
    assert_eq!(with_mentor1["mentee_id"], "jeune1", "both needs covered");
    assert_eq!(with_mentor1["points"]["needs"], 10);
    assert!(
        with_mentor1["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("Besoins couverts")
    );
    assert_eq!(mails(&table, "pair_proposed").await.len(), 4);
    assert_eq!(profile(&table, "jeune1").await["status"], "proposed");
    assert_eq!(profile(&table, "mentor1").await["pairs_held"], 1);

    // The same batch again: nothing twice.
    deliver_runs(&app, &table).await;
    assert_eq!(pairs(&table).await.len(), 2);
    assert_eq!(mails(&table, "pair_proposed").await.len(), 4);
}

/// The answer tokens of the proposal mails, mentee's first.
async fn answer_tokens(table: &TestTable) -> Vec<String> {
    let mut tokens = link_tokens(table, "/v1/pairs/answer").await;
    tokens.reverse();
    tokens
}

async fn answer(app: &Matching, token: &str, choice: &str) -> (u16, String) {
    let mut post = with_token(event("pair-answer.json"), token);
    post["rawQueryString"] = format!("token={token}&answer={choice}").into();
    post["queryStringParameters"] = json!({"token": token, "answer": choice});
    let (status, body) = call(app, post).await;
    (status, body.as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn both_accept_by_the_mailed_links_and_the_pair_starts_then_closes() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "tremplin-93", json!({})).await;
    held(&table, "tremplin-93", "jeune1", "mentee", json!({})).await;
    held(
        &table,
        "tremplin-93",
        "mentor1",
        "mentor",
        json!({"capacity": 2}),
    )
    .await;
    let pair = json!({"mentee_id": "jeune1", "mentor_id": "mentor1"});
    let (status, proposed) = call(
        &app,
        as_association(with_body(event("matching-pair.json"), &pair), &key),
    )
    .await;
    assert_eq!(status, 201, "{proposed}");
    let pair_id = proposed["id"].as_str().unwrap().to_owned();

    let tokens = answer_tokens(&table).await;
    assert_eq!(tokens.len(), 2);
    let (status, page) = call(&app, with_token(event("pair-answer-page.json"), &tokens[0])).await;
    assert_eq!(status, 200);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("J&#39;accepte") || page.contains("J'accepte"),
        "{page}"
    );
    assert!(page.contains("answer=decline"));
    assert_eq!(
        pairs(&table).await[0]["status"],
        "proposed",
        "opening the link acts on nothing"
    );

    let (status, page) = answer(&app, &tokens[0], "accept").await;
    assert_eq!(status, 200);
    assert!(page.contains("Merci"), "{page}");
    assert!(mails(&table, "pair_started").await.is_empty());
    let (_, page) = answer(&app, &tokens[1], "accept").await;
    assert!(page.contains("Votre binôme est formé"), "{page}");
    let started = pairs(&table).await[0].clone();
    assert_eq!(started["status"], "active");
    assert!(started["first_check_in"].is_string());
    assert_eq!(profile(&table, "jeune1").await["status"], "paired");
    let contacts = mails(&table, "pair_started").await;
    assert_eq!(contacts.len(), 2);
    let to_mentee = contacts
        .iter()
        .find(|m| m["pk"] == Key::person_partition("jeune1"))
        .unwrap();
    assert_eq!(
        to_mentee["mail"]["params"]["other_email"],
        "mentor1@exemple.fr"
    );
    // A second click changes nothing.
    answer(&app, &tokens[1], "accept").await;
    assert_eq!(mails(&table, "pair_started").await.len(), 2);

    // The association still reads its paired mentee, and cannot decline them.
    let routing = Routing::new(table.store.clone(), links(), None, None);
    let inbox = |sample: &str| {
        let mut request = as_association(at(event(sample), "jeune1"), &key);
        request["pathParameters"]["id"] = "jeune1".into();
        request
    };
    let shown = routing::handle(&routing, api_request(&inbox("association-request.json")))
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    let declined = routing::handle(&routing, api_request(&inbox("association-decline.json")))
        .await
        .unwrap();
    assert_eq!(declined.status(), 409);

    // Three weeks in, each receives one check-in, once.
    let later = chrono::Utc::now() + chrono::Duration::days(22);
    let engine = reminders::Reminders::new(
        table.store.clone(),
        keyring(),
        links(),
        shared::retention::Retention::default(),
    );
    let deadline = || std::time::Instant::now() + std::time::Duration::from_secs(60);
    let first = reminders::run(&engine, later, deadline()).await.unwrap();
    assert_eq!(first.done, 1);
    let again = reminders::run(&engine, later, deadline()).await.unwrap();
    assert_eq!(again.done, 0);
    assert_eq!(mails(&table, "pair_check_in").await.len(), 2);

    let close = |reason: &str| {
        as_association(
            at(
                with_body(
                    event("matching-pair-close.json"),
                    &json!({ "reason": reason }),
                ),
                &pair_id,
            ),
            &key,
        )
    };
    // Only the association's own reasons: expiry and erasure close by themselves.
    for reason in ["finished", "expired", "erased"] {
        let (status, body) = call(&app, close(reason)).await;
        assert_eq!(
            (status, body["fields"][0]["field"].as_str()),
            (400, Some("reason")),
            "{reason}"
        );
    }
    assert_eq!(pairs(&table).await[0]["status"], "active");
    let (status, closed) = call(&app, close("completed")).await;
    assert_eq!(status, 200);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["duration_days"], 0);
    assert_eq!(
        profile(&table, "mentor1").await["pairs_held"],
        0,
        "the place is freed"
    );
    assert_eq!(profile(&table, "jeune1").await["status"], "closed");
}

#[tokio::test]
async fn a_pair_link_says_whether_it_expired_or_was_never_valid() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let page = |token: Option<&str>, sample: &str| {
        let mut request = event(sample);
        match token {
            Some(token) => request = with_token(request, token),
            None => {
                request["rawQueryString"] = "".into();
                request["queryStringParameters"] = json!({});
            }
        }
        request
    };
    let long_ago = chrono::Utc::now() - chrono::Duration::days(60);
    let expired = keyring().tokens.issue(
        shared::tokens::Purpose::PairAnswer,
        "pair1:mentee",
        long_ago,
        chrono::Duration::days(14),
    );
    for sample in ["pair-answer-page.json", "pair-answer.json"] {
        let (status, body) = call(&app, page(Some(&expired), sample)).await;
        assert_eq!(status, 410, "{sample}");
        assert!(body.as_str().unwrap().contains("Lien expiré"));
        let (status, body) = call(&app, page(None, sample)).await;
        assert_eq!(status, 400, "{sample}: no token");
        assert!(body.as_str().unwrap().contains("Lien invalide"));
        let last = if expired.ends_with('A') { 'B' } else { 'A' };
        let damaged = format!("{}{last}", &expired[..expired.len() - 1]);
        let (status, _) = call(&app, page(Some(&damaged), sample)).await;
        assert_eq!(status, 400, "{sample}: a damaged token");
    }
    // A token made for another use is not valid here, even unexpired.
    let other = keyring().tokens.issue(
        shared::tokens::Purpose::PersonalData,
        "pair1:mentee",
        chrono::Utc::now(),
        chrono::Duration::days(14),
    );
    let (status, _) = call(&app, page(Some(&other), "pair-check-in-page.json")).await;
    assert_eq!(status, 400);
    assert!(table.items().await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn a_decline_frees_the_place_and_the_pair_is_never_proposed_again() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "tremplin-93", json!({})).await;
    held(&table, "tremplin-93", "jeune1", "mentee", json!({})).await;
    held(&table, "tremplin-93", "mentor1", "mentor", json!({})).await;
    let pair = json!({"mentee_id": "jeune1", "mentor_id": "mentor1"});
    let propose = as_association(with_body(event("matching-pair.json"), &pair), &key);
    assert_eq!(call(&app, propose.clone()).await.0, 201);
    let tokens = answer_tokens(&table).await;
    let (_, page) = answer(&app, &tokens[1], "decline").await;
    assert!(page.contains("décliné"), "{page}");

    assert_eq!(pairs(&table).await[0]["status"], "declined");
    assert_eq!(profile(&table, "mentor1").await["pairs_held"], 0);
    assert_eq!(
        profile(&table, "jeune1").await["status"],
        "acknowledged",
        "back in the pool"
    );
    let told = mails(&table, "pair_not_going_ahead").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["pk"], Key::person_partition("jeune1"));
    let (_, page) = answer(&app, &tokens[0], "accept").await;
    assert!(page.contains("close"), "{page}");

    let (status, refused) = call(&app, propose).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("pair_already_tried"))
    );
    call(
        &app,
        as_association(event("matching-run-request.json"), &key),
    )
    .await;
    deliver_runs(&app, &table).await;
    assert_eq!(
        pairs(&table).await.len(),
        1,
        "a run skips the declined pair"
    );
}

#[tokio::test]
async fn fifty_concurrent_proposals_to_a_mentor_of_capacity_two_make_two_pairs() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "tremplin-93", json!({})).await;
    held(
        &table,
        "tremplin-93",
        "mentor1",
        "mentor",
        json!({"capacity": 2}),
    )
    .await;
    for n in 0..50 {
        held(
            &table,
            "tremplin-93",
            &format!("jeune{n}"),
            "mentee",
            json!({}),
        )
        .await;
    }
    let requests = (0..50).map(|n| {
        let pair = json!({"mentee_id": format!("jeune{n}"), "mentor_id": "mentor1"});
        call(
            &app,
            as_association(with_body(event("matching-pair.json"), &pair), &key),
        )
    });
    let answers = futures_util::future::join_all(requests).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let full = answers
        .iter()
        .filter(|(status, body)| *status == 409 && body["code"] == "mentor_full")
        .count();
    assert_eq!((created, full), (2, 48), "{answers:?}");
    assert_eq!(profile(&table, "mentor1").await["pairs_held"], 2);
    assert_eq!(pairs(&table).await.len(), 2);
}

#[tokio::test]
async fn an_association_sees_and_acts_on_its_own_pool_only() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let mine = association(&table, "tremplin-93", json!({})).await;
    let other = association(&table, "autre-93", json!({})).await;
    held(&table, "tremplin-93", "jeune1", "mentee", json!({})).await;
    held(&table, "tremplin-93", "mentor1", "mentor", json!({})).await;
    let pair = json!({"mentee_id": "jeune1", "mentor_id": "mentor1"});
    let (_, proposed) = call(
        &app,
        as_association(with_body(event("matching-pair.json"), &pair), &mine),
    )
    .await;
    let (_, run) = call(
        &app,
        as_association(event("matching-run-request.json"), &mine),
    )
    .await;

    for (name, sample) in [
        (
            "run",
            at(event("matching-run.json"), run["id"].as_str().unwrap()),
        ),
        (
            "suggestions",
            at(event("matching-suggestions.json"), "jeune1"),
        ),
        ("pair", with_body(event("matching-pair.json"), &pair)),
        (
            "close",
            at(
                event("matching-pair-close.json"),
                proposed["id"].as_str().unwrap(),
            ),
        ),
    ] {
        let (status, body) = call(&app, as_association(sample.clone(), &other)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{name}"
        );
        let mut anonymous = sample;
        anonymous["headers"]
            .as_object_mut()
            .unwrap()
            .remove("authorization");
        assert_eq!(call(&app, anonymous).await.0, 401, "{name}");
    }
    assert_eq!(
        pairs(&table).await[0]["status"],
        "proposed",
        "nothing changed"
    );
}

#[tokio::test]
async fn suggestions_rank_the_pool_s_mentors_with_their_reasons() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "tremplin-93", json!({})).await;
    held(
        &table,
        "tremplin-93",
        "jeune1",
        "mentee",
        json!({"needs": ["orientation", "stage_alternance"]}),
    )
    .await;
    held(&table, "tremplin-93", "loin", "mentor", json!({"mode": "distance", "departement": "13", "expertise": ["orientation"], "fields": ["droit"], "job_title": "Avocate"})).await;
    held(&table, "tremplin-93", "proche", "mentor", json!({})).await;
    held(
        &table,
        "tremplin-93",
        "autre-public",
        "mentor",
        json!({"audiences": ["jeune_actif"]}),
    )
    .await;
    let (status, body) = call(
        &app,
        as_association(at(event("matching-suggestions.json"), "jeune1"), &key),
    )
    .await;
    assert_eq!(status, 200);
    let suggestions = body["suggestions"].as_array().unwrap();
    let ids: Vec<&str> = suggestions
        .iter()
        .map(|s| s["mentor_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["proche", "loin"],
        "the other audience is not compatible"
    );
    assert_eq!(suggestions[0]["points"]["proximity"], 3);
    assert_eq!(suggestions[0]["points"]["field"], 3);
    assert!(
        suggestions[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("stage ou alternance"))
    );
    assert!(suggestions[0].get("email").is_none());
}

#[tokio::test]
async fn the_nightly_schedule_runs_auto_matching_associations_once() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    association(&table, "auto-93", json!({"auto_matching": true})).await;
    association(&table, "manuelle-93", json!({})).await;
    held(&table, "auto-93", "jeune1", "mentee", json!({})).await;
    held(&table, "auto-93", "mentor1", "mentor", json!({})).await;
    let first = matching::handle_event(&app, event("matching-nightly.json"))
        .await
        .unwrap();
    let again = matching::handle_event(&app, event("matching-nightly.json"))
        .await
        .unwrap();
    assert_eq!(
        (first["requested"].as_u64(), again["requested"].as_u64()),
        (Some(1), Some(0))
    );
    let runs = table.items_with_sort_prefix(keys::sort::RUN).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["association"], "auto-93");
    deliver_runs(&app, &table).await;
    assert_eq!(pairs(&table).await.len(), 1);
    assert!(
        item(&table, &Key::association("auto-93")).await.unwrap()["matching"]["needs"]
            == json!({"weight": 5}),
        "the default criteria are stored with the association"
    );
}

/// The stream records of deleting these items (what an erasure produces),
/// shaped after the sample stream record.
pub(crate) fn removals(items: &[Value]) -> aws_lambda_events::event::dynamodb::Event {
    let sample = event("matching-run-insert.json")["Records"][0].clone();
    let records: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let image: serde_dynamo::Item = serde_dynamo::to_item(item).unwrap();
            let mut record = sample.clone();
            record["eventName"] = "REMOVE".into();
            record["dynamodb"]["Keys"] = json!({"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}});
            record["dynamodb"]["OldImage"] = serde_json::to_value(image).unwrap();
            record["dynamodb"]
                .as_object_mut()
                .unwrap()
                .remove("NewImage");
            record["dynamodb"]["SequenceNumber"] = format!("{:024}", n + 1).into();
            record
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn an_erased_person_is_taken_out_of_their_pair_and_the_place_given_back() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let key = association(&table, "tremplin-93", json!({})).await;
    held(&table, "tremplin-93", "jeune1", "mentee", json!({})).await;
    held(&table, "tremplin-93", "mentor1", "mentor", json!({})).await;
    let pair = json!({"mentee_id": "jeune1", "mentor_id": "mentor1"});
    assert_eq!(
        call(
            &app,
            as_association(with_body(event("matching-pair.json"), &pair), &key)
        )
        .await
        .0,
        201
    );
    let references = table
        .items_with_sort_prefix(keys::PAIR_REFERENCE_PREFIX)
        .await;
    assert_eq!(
        references.len(),
        2,
        "each person keeps a reference, exported with their data"
    );

    // The mentee erases their data: their partition goes, reference included.
    let mentee_reference: Vec<Value> = references
        .into_iter()
        .filter(|r| r["pk"] == Key::person_partition("jeune1"))
        .collect();
    for item in mentee_reference
        .iter()
        .chain([&profile(&table, "jeune1").await])
    {
        table
            .store
            .client
            .delete_item()
            .table_name(&table.store.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(item["pk"].as_str().unwrap().into()),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(item["sk"].as_str().unwrap().into()),
            )
            .send()
            .await
            .unwrap();
    }
    let batch = removals(&mentee_reference);
    assert!(
        matching::deliver(&app, &batch)
            .await
            .batch_item_failures
            .is_empty()
    );
    let forgotten = item(
        &table,
        &Key::pair(&matching::pairs::pair_id("jeune1", "mentor1")),
    )
    .await
    .unwrap();
    assert_eq!(forgotten["mentee_id"], "erased");
    assert_eq!(forgotten["status"], "closed");
    assert_eq!(forgotten["close_reason"], "erased");
    assert!(forgotten.get("reasons").is_none());
    assert!(!forgotten.to_string().contains("jeune1"), "{forgotten}");
    assert_eq!(
        profile(&table, "mentor1").await["pairs_held"],
        0,
        "the mentor's place is given back"
    );
    assert_eq!(mails(&table, "pair_not_going_ahead").await.len(), 1);

    assert!(
        matching::deliver(&app, &batch)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(
        mails(&table, "pair_not_going_ahead").await.len(),
        1,
        "a redelivery changes nothing"
    );
}
