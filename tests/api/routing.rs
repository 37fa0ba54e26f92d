//! Routing on the embedded emulator: the stream trigger, capacities under a
//! lost race, waiting requests, the association inbox (and its isolation),
//! the daily sweep.

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::types::AttributeValue;
use binome_tests::{
    Backend, TestTable, api_request, event, on_both_emulators, status_and_json, store_verified,
    verified_profile,
};
use chrono::{DateTime, Duration, Utc};
use routing::{
    Routing,
    directory::{self, AssociationForm},
    stream, sweep,
};
use serde_json::{Value, json};
use shared::store::keys::{Key, counters};
use shared::{directory::month_of, links::Links};

const ADMIN_KEY: &str = "cle-admin-de-test";

fn app(table: &TestTable) -> Routing {
    Routing::new(
        table.store.clone(),
        Links::new("https://api.binome.test", "https://binome.test"),
        Some(ADMIN_KEY),
        Some("reseau@binome.test".into()),
    )
}

/// An association open to everyone in `departements`, overridden by `changes`.
async fn association(app: &Routing, slug: &str, departements: &[&str], changes: Value) -> String {
    let mut form = json!({
        "name": format!("Association {slug}"),
        "contact_email": format!("contact@{slug}.example"),
        "departements": departements,
        "modes": ["presentiel", "distance"],
        "needs": ["orientation", "stage_alternance", "insertion_pro", "reussite_etudes", "confiance_reseau", "creation_entreprise"],
        "situations": [],
        "monthly_capacity": 10,
    });
    for (name, value) in changes.as_object().unwrap() {
        form[name] = value.clone();
    }
    let form: AssociationForm = serde_json::from_value(form).unwrap();
    let record = directory::validate(slug, form).unwrap();
    directory::save(app, &record).await.unwrap().unwrap()
}

/// Stores verified profiles, and the stream batch announcing them.
async fn verify(table: &TestTable, profiles: &[Value]) -> Event {
    let batch = store_verified(table, profiles).await;
    table.calls.take();
    batch
}

async fn profile(table: &TestTable, id: &str) -> Value {
    let key = Key::person_profile(id);
    table
        .items()
        .await
        .into_iter()
        .find(|item| item["pk"] == key.pk && item["sk"] == key.sk)
        .unwrap()
}

async fn stored_association(table: &TestTable, slug: &str) -> Value {
    let key = Key::association(slug);
    table
        .items()
        .await
        .into_iter()
        .find(|item| item["sk"] == key.sk)
        .unwrap()
}

fn counter(association: &Value) -> i64 {
    association[counters::routed_in(&month_of(Utc::now()))]
        .as_i64()
        .unwrap_or(0)
}

async fn templates(table: &TestTable) -> Vec<String> {
    let mut templates: Vec<String> = table
        .outbox()
        .await
        .iter()
        .map(|mail| mail["mail"]["template"].as_str().unwrap().to_owned())
        .collect();
    templates.sort();
    templates
}

async fn mails_of(table: &TestTable, template: &str) -> usize {
    templates(table)
        .await
        .iter()
        .filter(|t| *t == template)
        .count()
}

async fn call(app: &Routing, event: Value) -> (u16, Value) {
    status_and_json(&routing::handle(app, api_request(&event)).await.unwrap())
}

fn with_key(mut event: Value, key: &str, id: &str) -> Value {
    event["headers"]["authorization"] = format!("Bearer {key}").into();
    if event.get("pathParameters").is_some() {
        let path = event["rawPath"]
            .as_str()
            .unwrap()
            .replace("5f0c6a2e9b4d4e1f8a3c7b6d2e1f0a9b", id);
        event["rawPath"] = path.clone().into();
        event["requestContext"]["http"]["path"] = path.into();
        event["pathParameters"]["id"] = id.into();
    }
    event
}

async fn a_verified_mentee_is_routed_once_in_one_transaction(table: TestTable) {
    let app = app(&table);
    association(&app, "loin", &["13"], json!({})).await;
    association(
        &app,
        "proche",
        &["93"],
        json!({"specialities": [{"group": "qpv"}]}),
    )
    .await;
    let batch = verify(&table, &[verified_profile("p1", json!({}))]).await;

    let response = stream::deliver(&app, &batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        table.calls.take(),
        ["Query", "TransactWriteItems"],
        "the directory once, then one transaction"
    );
    let routed = profile(&table, "p1").await;
    assert_eq!(routed["status"], "routed");
    assert_eq!(routed["routing"]["association"], "proche");
    let decision = &routed["routing"]["decision"];
    assert_eq!(decision["rule_version"], "routing-2026-11");
    assert_eq!(decision["candidates"][0]["slug"], "proche");
    assert_eq!(decision["candidates"][0]["points"]["specialities"], 30_000);
    assert_eq!(decision["candidates"][0]["points"]["local"], 20_000);
    assert_eq!(
        decision["candidates"].as_array().unwrap().len(),
        1,
        "13 does not cover 93"
    );
    assert_eq!(counter(&stored_association(&table, "proche").await), 1);
    assert_eq!(
        templates(&table).await,
        ["association_requests", "request_forwarded"]
    );
    let forwarded = table
        .outbox()
        .await
        .into_iter()
        .find(|m| m["mail"]["template"] == "request_forwarded")
        .unwrap();
    assert_eq!(
        forwarded["mail"]["params"]["association_name"],
        "Association proche"
    );

    // The same batch again: nothing moves, no second mail.
    let response = stream::deliver(&app, &batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(counter(&stored_association(&table, "proche").await), 1);
    assert_eq!(table.outbox().await.len(), 2);

    // The next request within the minute reads no directory.
    let batch = verify(&table, &[verified_profile("p2", json!({}))]).await;
    stream::deliver(&app, &batch).await;
    assert_eq!(table.calls.take(), ["TransactWriteItems"]);
}

async fn capacity_holds_when_two_functions_race(table: TestTable) {
    let first = app(&table);
    let second = app(&table);
    association(
        &first,
        "petite",
        &["93"],
        json!({"monthly_capacity": 1, "specialities": [{"group": "qpv"}]}),
    )
    .await;
    association(&first, "grande", &["93"], json!({"monthly_capacity": 50})).await;
    // Both functions have read the directory while "petite" had room.
    let warm = verify(
        &table,
        &[verified_profile("warm", json!({"departement": "13"}))],
    )
    .await;
    stream::deliver(&first, &warm).await;
    stream::deliver(&second, &warm).await;

    let one = verify(&table, &[verified_profile("p1", json!({}))]).await;
    let two = verify(&table, &[verified_profile("p2", json!({}))]).await;
    stream::deliver(&first, &one).await;
    stream::deliver(&second, &two).await;
    assert_eq!(
        profile(&table, "p1").await["routing"]["association"],
        "petite"
    );
    assert_eq!(
        profile(&table, "p2").await["routing"]["association"],
        "grande",
        "the lost race goes to the next candidate"
    );
    assert_eq!(counter(&stored_association(&table, "petite").await), 1);
    assert_eq!(counter(&stored_association(&table, "grande").await), 1);
}

#[tokio::test]
async fn sensitive_groups_open_reserved_associations() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    association(&app, "generaliste", &["93"], json!({})).await;
    association(
        &app,
        "accueil",
        &["93"],
        json!({"reserved_for": ["refugie"], "specialities": [{"group": "refugie", "weight": 40}]}),
    )
    .await;
    let sensitive = Key::person_sensitive_data("p1");
    table
        .store
        .client
        .put_item()
        .table_name(&table.store.table)
        .set_item(Some(
            serde_dynamo::to_item(json!({
                "pk": sensitive.pk, "sk": sensitive.sk, "priority_groups": ["refugie"],
                "consent": {"given_at": "2026-11-26T09:12:03Z", "text_version": "sensitive-2026-11"},
            }))
            .unwrap(),
        ))
        .send()
        .await
        .unwrap();
    let batch = verify(
        &table,
        &[
            verified_profile("p1", json!({"has_sensitive_data": true})),
            verified_profile("p2", json!({})),
        ],
    )
    .await;
    stream::deliver(&app, &batch).await;
    assert_eq!(
        profile(&table, "p1").await["routing"]["association"],
        "accueil"
    );
    assert_eq!(
        profile(&table, "p2").await["routing"]["association"],
        "generaliste",
        "a reserved association takes only its groups"
    );
}

#[tokio::test]
async fn nobody_eligible_means_waiting_then_retried_by_the_sweep() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    association(&app, "lille", &["59"], json!({})).await;
    let batch = verify(&table, &[verified_profile("p1", json!({}))]).await;
    stream::deliver(&app, &batch).await;
    let waiting = profile(&table, "p1").await;
    assert_eq!(waiting["status"], "waiting");
    assert_eq!(templates(&table).await, ["request_waiting"]);

    let tomorrow = Utc::now() + Duration::days(1);
    let report = sweep::sweep(&app, tomorrow).await.unwrap();
    assert_eq!((report.retried, report.still_waiting), (1, 1));
    assert!(report.admin_digest);
    assert_eq!(
        templates(&table).await,
        ["request_waiting", "waiting_digest"],
        "the person is not told again; the admins are"
    );
    let digest = table
        .outbox()
        .await
        .into_iter()
        .find(|m| m["mail"]["template"] == "waiting_digest")
        .unwrap();
    assert_eq!(
        digest["mail"]["params"]["requests"][0]["url"], "https://binome.test/admin/demandes/p1",
        "the admins' link opens their page of the request, not an association's"
    );
    let again = sweep::sweep(&app, tomorrow + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        (again.retried, again.admin_digest),
        (0, false),
        "a second run the same day does nothing"
    );

    association(&app, "saint-denis", &["93"], json!({})).await;
    let report = sweep::sweep(&app, tomorrow + Duration::days(1))
        .await
        .unwrap();
    assert_eq!((report.retried, report.still_waiting), (1, 0));
    let routed = profile(&table, "p1").await;
    assert_eq!(routed["status"], "routed");
    assert_eq!(routed["routing"]["association"], "saint-denis");
    assert_eq!(routed["routing"]["cause"], "retry");
    assert_eq!(counter(&stored_association(&table, "saint-denis").await), 1);
}

#[tokio::test]
async fn an_association_sees_and_acts_on_its_own_requests_only() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let mine = association(
        &app,
        "mine",
        &["93"],
        json!({"specialities": [{"group": "qpv"}]}),
    )
    .await;
    let other = association(&app, "autre", &["93"], json!({})).await;
    let batch = verify(
        &table,
        &[
            verified_profile("p1", json!({})),
            verified_profile("p2", json!({"departement": "13"})),
        ],
    )
    .await;
    stream::deliver(&app, &batch).await;

    // Every route: the other association's key, an unknown id → 404; no key → 401.
    for sample in [
        "association-request.json",
        "association-acknowledge.json",
        "association-decline.json",
    ] {
        let (status, body) = call(&app, with_key(event(sample), &other, "p1")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{sample}"
        );
        let (status, _) = call(&app, with_key(event(sample), &mine, "p2")).await;
        assert_eq!(status, 404, "{sample}: a waiting request is nobody's");
        let mut anonymous = event(sample);
        anonymous["headers"]
            .as_object_mut()
            .unwrap()
            .remove("authorization");
        assert_eq!(call(&app, anonymous).await.0, 401, "{sample}");
    }
    let (status, list) = call(
        &app,
        with_key(event("association-requests.json"), &other, ""),
    )
    .await;
    assert_eq!(
        (status, list["requests"].as_array().unwrap().len()),
        (200, 0)
    );
    assert_eq!(
        profile(&table, "p1").await["status"],
        "routed",
        "nothing changed"
    );

    let (status, list) = call(
        &app,
        with_key(event("association-requests.json"), &mine, ""),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["requests"][0]["id"], "p1");
    assert!(
        list["requests"][0].get("email").is_none(),
        "no contact detail in lists"
    );

    let (status, shown) = call(
        &app,
        with_key(event("association-request.json"), &mine, "p1"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shown["request"]["email"], "ines.martin@exemple.fr");
    assert_eq!(
        shown["routing"]["decision"]["candidates"][0]["slug"],
        "mine"
    );
    assert!(shown["request"].get("routing").is_none());

    let (status, _) = call(
        &app,
        with_key(event("association-acknowledge.json"), &mine, "p1"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        with_key(event("association-acknowledge.json"), &mine, "p1"),
    )
    .await;
    assert_eq!(status, 200, "acknowledging twice is acknowledging once");
    let acknowledged = profile(&table, "p1").await;
    assert_eq!(acknowledged["status"], "acknowledged");
    assert!(
        acknowledged.get("due_pk").is_none(),
        "no reminder for an acknowledged request"
    );
    let (_, list) = call(
        &app,
        with_key(event("association-requests.json"), &mine, ""),
    )
    .await;
    assert_eq!(
        list["requests"].as_array().unwrap().len(),
        0,
        "?status=routed hides it"
    );
}

#[tokio::test]
async fn a_decline_passes_the_request_on_and_gives_the_place_back() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    let first = association(
        &app,
        "premiere",
        &["93"],
        json!({"specialities": [{"group": "qpv"}]}),
    )
    .await;
    association(&app, "seconde", &["93"], json!({})).await;
    stream::deliver(
        &app,
        &verify(&table, &[verified_profile("p1", json!({}))]).await,
    )
    .await;
    assert_eq!(counter(&stored_association(&table, "premiere").await), 1);

    let mut no_reason = with_key(event("association-decline.json"), &first, "p1");
    no_reason["body"] = "{}".into();
    let (status, body) = call(&app, no_reason).await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (400, Some("reason"))
    );
    assert_eq!(
        profile(&table, "p1").await["routing"]["association"],
        "premiere"
    );

    // An id no request can have is refused before any key is built from it.
    let too_long = with_key(event("association-decline.json"), &first, &"a".repeat(5000));
    let (status, body) = call(&app, too_long).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));

    let decline = with_key(event("association-decline.json"), &first, "p1");
    assert_eq!(call(&app, decline.clone()).await.0, 200);
    let moved = profile(&table, "p1").await;
    assert_eq!(moved["routing"]["association"], "seconde");
    assert_eq!(moved["routing"]["cause"], "declined");
    assert_eq!(moved["routing"]["declined_by"], json!(["premiere"]));
    assert_eq!(moved["routing"]["history"][0]["outcome"], "declined");
    assert_eq!(counter(&stored_association(&table, "premiere").await), 0);
    assert_eq!(counter(&stored_association(&table, "seconde").await), 1);

    assert_eq!(
        call(&app, decline).await.0,
        200,
        "a retried decline changes nothing"
    );
    assert_eq!(counter(&stored_association(&table, "seconde").await), 1);
    assert_eq!(
        templates(&table)
            .await
            .iter()
            .filter(|t| *t == "request_forwarded")
            .count(),
        2
    );

    // The admins read every decision.
    let mut admin = with_key(event("admin-request-routing.json"), ADMIN_KEY, "p1");
    let (status, routing) = call(&app, admin.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(routing["routing"]["history"][0]["association"], "premiere");
    admin["headers"]["authorization"] = format!("Bearer {first}").into();
    assert_eq!(call(&app, admin).await.0, 401);
}

#[tokio::test]
async fn the_sweep_reminds_then_hands_over_and_sends_nothing_twice() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    association(
        &app,
        "lente",
        &["93"],
        json!({"sla_days": 7, "specialities": [{"group": "qpv"}]}),
    )
    .await;
    association(&app, "relais", &["93"], json!({})).await;
    association(
        &app,
        "digest",
        &["13"],
        json!({"notify": "daily_digest", "sla_days": 30}),
    )
    .await;
    let batch = verify(
        &table,
        &[
            verified_profile("p1", json!({})),
            verified_profile("p2", json!({"departement": "13"})),
            verified_profile("p3", json!({"departement": "13"})),
        ],
    )
    .await;
    stream::deliver(&app, &batch).await;
    let routed_at: DateTime<Utc> = profile(&table, "p1").await["routing"]["decided_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        mails_of(&table, "association_requests").await,
        1,
        "the digest association gets none yet"
    );

    let first_day = sweep::sweep(&app, routed_at + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(first_day.association_digests, 1);
    assert_eq!(mails_of(&table, "association_requests").await, 2);
    let digest = table
        .outbox()
        .await
        .into_iter()
        .find(|m| {
            m["pk"] == Key::directory_partition()
                && m["mail"]["params"]["requests"]
                    .as_array()
                    .is_some_and(|r| r.len() == 2)
        })
        .unwrap();
    assert!(
        !digest.to_string().contains("Inès"),
        "no name in association mails"
    );

    let reminder_day = routed_at + Duration::days(7) + Duration::hours(1);
    let report = sweep::sweep(&app, reminder_day).await.unwrap();
    assert_eq!(
        (
            report.reminders,
            report.rerouted,
            report.association_digests
        ),
        (1, 0, 0)
    );
    let again = sweep::sweep(&app, reminder_day + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!((again.reminders, again.rerouted), (0, 0), "reminded once");
    assert_eq!(mails_of(&table, "association_requests").await, 3);

    let report = sweep::sweep(&app, routed_at + Duration::days(14) + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(report.rerouted, 1);
    let moved = profile(&table, "p1").await;
    assert_eq!(moved["routing"]["association"], "relais");
    assert_eq!(moved["routing"]["cause"], "sla_expired");
    assert_eq!(counter(&stored_association(&table, "lente").await), 0);
}

on_both_emulators!(
    a_verified_mentee_is_routed_once_in_one_transaction,
    capacity_holds_when_two_functions_race,
);

#[tokio::test]
async fn the_events_function_takes_the_sample_stream_batch_and_schedule() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    association(&app, "saint-denis", &["93"], json!({})).await;
    let sample = event("routing-verified-mentee.json");
    let image: serde_dynamo::Item =
        serde_json::from_value(sample["Records"][0]["dynamodb"]["NewImage"].clone()).unwrap();
    let item: std::collections::HashMap<String, AttributeValue> = image.into();
    table
        .store
        .client
        .put_item()
        .table_name(&table.store.table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();

    let answer = routing::handle_event(&app, sample).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let routed = profile(&table, "5f0c6a2e9b4d4e1f8a3c7b6d2e1f0a9b").await;
    assert_eq!(routed["routing"]["association"], "saint-denis");

    let report = routing::handle_event(&app, event("routing-daily-sweep.json"))
        .await
        .unwrap();
    assert_eq!(report["rerouted"], 0);
    assert!(
        routing::handle_event(&app, json!({"hello": "world"}))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn mentors_go_where_mentees_wait_unless_they_chose_an_association() {
    let table = TestTable::new(Backend::Embedded).await;
    let app = app(&table);
    association(
        &app,
        "attente",
        &["93"],
        json!({"specialities": [{"group": "qpv"}]}),
    )
    .await;
    association(&app, "calme", &["93"], json!({"monthly_capacity": 90})).await;
    association(&app, "fermee", &["93"], json!({"mentor_intake": "closed"})).await;
    stream::deliver(
        &app,
        &verify(&table, &[verified_profile("jeune", json!({}))]).await,
    )
    .await;
    app.directory.clear().await;

    let mentor = |id: &str, preferred: Option<&str>| {
        let mut changes = json!({"role": "mentor", "capacity": 2, "mode": "indifferent"});
        if let Some(slug) = preferred {
            changes["preferred_association"] = slug.into();
        }
        verified_profile(id, changes)
    };
    let batch = verify(
        &table,
        &[
            mentor("m1", None),
            mentor("m2", Some("calme")),
            mentor("m3", Some("fermee")),
        ],
    )
    .await;
    stream::deliver(&app, &batch).await;
    assert_eq!(
        profile(&table, "m1").await["routing"]["association"],
        "attente",
        "where a mentee waits with no mentor place"
    );
    assert_eq!(
        profile(&table, "m2").await["routing"]["association"],
        "calme"
    );
    assert_eq!(
        profile(&table, "m3").await["routing"]["association"],
        "attente",
        "a closed intake takes no mentor, even a preferred one"
    );
    assert_eq!(
        stored_association(&table, "attente").await[counters::FREE_MENTOR_PLACES],
        4
    );
    assert_eq!(
        counter(&stored_association(&table, "calme").await),
        0,
        "mentors take no mentee place"
    );
}
