//! The sign-up handler, in process, on a fresh table per test.

use std::time::Duration;

use binome_tests::{
    TestTable, api_request, event, keyring, link_token, mentee_body, mentor_body, minor_body,
    on_both_emulators, with_body, with_token,
};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shared::links::Links;
use shared::people::Role;
use shared::store::{Key, keys};
use signup::Signup;

fn app(table: &TestTable) -> Signup {
    Signup::new(
        table.store.clone(),
        keyring(),
        Links::new("https://api.binome.example", "https://binome.example"),
        Duration::ZERO,
    )
}

async fn call(app: &Signup, event: Value) -> Response<Body> {
    signup::handle(app, api_request(&event))
        .await
        .expect("handlers answer every request")
}

fn json_body(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON body")
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8(response.body().as_ref().to_vec()).expect("UTF-8")
}

fn mentee_event(body: &Value) -> Value {
    let mut event = with_body(event("signup-mentee.json"), body);
    event["headers"]
        .as_object_mut()
        .unwrap()
        .remove("idempotency-key");
    event
}

fn mentor_event(body: &Value) -> Value {
    with_body(event("signup-mentor.json"), body)
}

async fn profiles(table: &TestTable) -> Vec<Value> {
    table.items_with_sort_prefix(keys::sort::PROFILE).await
}

async fn a_mentee_request_takes_one_transaction(table: TestTable) {
    let app = app(&table);
    let response = call(&app, mentee_event(&mentee_body())).await;
    assert_eq!(response.status(), 202);
    assert_eq!(table.calls.take(), ["TransactWriteItems"]);
    let answer = json_body(&response);
    assert_eq!(answer["status"], "pending_verification");

    let profile = &profiles(&table).await[0];
    assert_eq!(profile["id"], answer["id"]);
    assert_eq!(profile["status"], "pending_verification");
    assert_eq!(profile["email"], "ines.benali@exemple.fr");
    assert_eq!(profile["phone"], "+33612345678");
    assert_eq!(profile["departement"], "93");
    assert_eq!(
        profile["consent"]["text_version"],
        signup::CONSENT_TEXT_MENTEE
    );
    assert_eq!(profile["consent"]["source"], "campagne-tv");
    assert!(profile["ttl"].as_i64().unwrap() > chrono::Utc::now().timestamp() + 6 * 86_400);
    let guards = table
        .items_with_sort_prefix(keys::role_sort(Role::Mentee))
        .await;
    assert_eq!(guards.len(), 1);
    assert!(
        guards[0]["pk"]
            .as_str()
            .and_then(Key::email_guard_of)
            .is_some()
    );
    assert!(
        !guards[0]["pk"].as_str().unwrap().contains("ines"),
        "no address in keys"
    );
    let mails = table.outbox().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["mail"]["template"], "signup_verification");
    assert_eq!(mails[0]["mail"]["params"]["first_name"], "Inès");
}

async fn the_same_address_gets_the_same_answer_and_a_reminder(table: TestTable) {
    let app = app(&table);
    let first = call(&app, mentee_event(&mentee_body())).await;
    // A retry seconds later (a form posted twice) is the same sign-up.
    let retry = call(&app, mentee_event(&mentee_body())).await;
    assert_eq!(retry.status(), 202);
    assert_eq!(table.outbox().await.len(), 1);
    // Later, the same address again (another spelling) gets a reminder, not
    // a second profile; once, however often it is sent within 10 minutes.
    let guard = Key {
        pk: table
            .items_with_sort_prefix(keys::role_sort(Role::Mentee))
            .await[0]["pk"]
            .as_str()
            .unwrap()
            .into(),
        sk: keys::role_sort(Role::Mentee).into(),
    };
    table
        .store
        .client
        .update_item()
        .table_name(&table.store.table)
        .set_key(Some(guard.attributes()))
        .update_expression("SET created_at = :long_ago")
        .expression_attribute_values(
            ":long_ago",
            aws_sdk_dynamodb::types::AttributeValue::N("1000".into()),
        )
        .send()
        .await
        .unwrap();
    let mut again = mentee_body();
    again["email"] = " INES.BENALI@exemple.fr".into();
    let second = call(&app, mentee_event(&again)).await;
    assert_eq!(second.status(), first.status());
    let (first, second) = (json_body(&first), json_body(&second));
    assert_eq!(
        first.as_object().unwrap().keys().collect::<Vec<_>>(),
        second.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_eq!(second["status"], "pending_verification");
    assert_ne!(
        first["id"], second["id"],
        "no id that would tell a known address"
    );
    assert_eq!(profiles(&table).await.len(), 1);
    let templates: Vec<Value> = table
        .outbox()
        .await
        .iter()
        .map(|m| m["mail"]["template"].clone())
        .collect();
    assert!(
        templates.contains(&json!("signup_already_requested")),
        "{templates:?}"
    );
    call(&app, mentee_event(&again)).await;
    assert_eq!(
        table.outbox().await.len(),
        templates.len(),
        "once in 10 minutes"
    );
    // The same address may be a mentor too.
    assert_eq!(
        call(
            &app,
            mentor_event(&{
                let mut mentor = mentor_body();
                mentor["email"] = "ines.benali@exemple.fr".into();
                mentor
            })
        )
        .await
        .status(),
        202
    );
    assert_eq!(profiles(&table).await.len(), 2);
}

async fn an_idempotency_key_replays_the_first_answer(table: TestTable) {
    let app = app(&table);
    let event = with_body(event("signup-mentee.json"), &mentee_body());
    let first = call(&app, event.clone()).await;
    let items = table.items().await.len();
    let replay = call(&app, event.clone()).await;
    assert_eq!(replay.status(), 202);
    assert_eq!(text(&replay), text(&first), "the same bytes");
    assert_eq!(table.items().await.len(), items, "nothing written twice");

    let mut other = mentee_body();
    other["first_name"] = "Inés".into();
    let reused = call(&app, with_body(event, &other)).await;
    assert_eq!(reused.status(), 422);
    assert_eq!(json_body(&reused)["code"], "idempotency_key_reused");
}

/// An address that already asked: the key still replays the first answer
/// (the same id), and another body with the same key is refused.
async fn an_idempotency_key_replays_for_an_address_that_already_asked(table: TestTable) {
    let app = app(&table);
    assert_eq!(call(&app, mentee_event(&mentee_body())).await.status(), 202);

    let keyed = with_body(event("signup-mentee.json"), &mentee_body());
    let first = call(&app, keyed.clone()).await;
    let again = call(&app, keyed.clone()).await;
    assert_eq!(
        (first.status().as_u16(), again.status().as_u16()),
        (202, 202)
    );
    assert_eq!(text(&again), text(&first), "the same id, the same bytes");
    assert_eq!(profiles(&table).await.len(), 1, "never a second profile");

    let mut other = mentee_body();
    other["first_name"] = "Inés".into();
    let reused = call(&app, with_body(keyed, &other)).await;
    assert_eq!(reused.status(), 422);
    assert_eq!(json_body(&reused)["code"], "idempotency_key_reused");
}

async fn verification_takes_one_transaction(table: TestTable) {
    let app = app(&table);
    call(&app, mentor_event(&mentor_body())).await;
    let token = link_token(&table, "/v1/verify").await;
    table.calls.take();
    let page = call(&app, with_token(event("signup-verify.json"), &token)).await;
    assert_eq!(table.calls.take(), ["TransactWriteItems"]);
    assert_eq!(page.status(), 200);
    assert!(text(&page).contains("Votre demande est confirmée."));
    assert!(
        text(&page).contains("association"),
        "says what happens next"
    );
    let profile = &profiles(&table).await[0];
    assert_eq!(profile["status"], "verified");
    assert!(profile.get("ttl").is_none());
    assert!(
        table
            .items_with_sort_prefix(keys::role_sort(Role::Mentor))
            .await[0]
            .get("ttl")
            .is_none(),
        "the guard stays too"
    );

    let again = call(&app, with_token(event("signup-verify.json"), &token)).await;
    assert_eq!(again.status(), 200);
    assert!(
        text(&again).contains("Votre demande est déjà confirmée."),
        "a second click says so, and links to where it stands"
    );
    assert!(text(&again).contains("/ma-demande"));
}

on_both_emulators!(
    a_mentee_request_takes_one_transaction,
    the_same_address_gets_the_same_answer_and_a_reminder,
    an_idempotency_key_replays_the_first_answer,
    an_idempotency_key_replays_for_an_address_that_already_asked,
    verification_takes_one_transaction,
);

mod embedded_only {
    use super::*;
    use binome_tests::Backend;

    async fn table() -> TestTable {
        TestTable::new(Backend::Embedded).await
    }

    #[tokio::test]
    async fn a_minor_is_verified_only_once_the_guardian_agreed() {
        let table = table().await;
        let app = app(&table);
        assert_eq!(call(&app, mentee_event(&minor_body())).await.status(), 202);
        let guardian = &table.items_with_sort_prefix(keys::sort::GUARDIAN).await[0];
        assert_eq!(guardian["email"], "nadia.haddad@exemple.fr");
        let sensitive = &table.items_with_sort_prefix(keys::sort::SENSITIVE).await[0];
        assert_eq!(sensitive["priority_groups"], json!(["handicap"]));
        let profile = &profiles(&table).await[0];
        assert_eq!(
            profile["priority_groups"],
            json!(["qpv"]),
            "sensitive groups are not in the profile"
        );
        assert_eq!(profile["guardian_required"], true);

        let own = call(
            &app,
            with_token(
                event("signup-verify.json"),
                &link_token(&table, "/v1/verify").await,
            ),
        )
        .await;
        assert!(text(&own).contains("Il manque encore l"), "{}", text(&own));
        assert_eq!(profiles(&table).await[0]["status"], "pending_verification");

        let consent_token = link_token(&table, "/v1/guardian/consent").await;
        let page = call(
            &app,
            with_token(event("signup-guardian-page.json"), &consent_token),
        )
        .await;
        assert!(text(&page).contains("<form method=\"post\""));
        assert_eq!(
            profiles(&table).await[0]["status"],
            "pending_verification",
            "reading the page agrees to nothing"
        );

        let agreed = call(
            &app,
            with_token(event("signup-guardian-consent.json"), &consent_token),
        )
        .await;
        assert_eq!(agreed.status(), 200);
        let profile = &profiles(&table).await[0];
        assert_eq!(profile["status"], "verified");
        assert!(profile.get("ttl").is_none());
        let guardian = &table.items_with_sort_prefix(keys::sort::GUARDIAN).await[0];
        assert_eq!(guardian["consent"]["text_version"], "guardian-2026-11");
        assert!(guardian.get("ttl").is_none());
        assert!(
            table.items_with_sort_prefix(keys::sort::SENSITIVE).await[0]
                .get("ttl")
                .is_none()
        );
    }

    #[tokio::test]
    async fn the_guardian_may_agree_first() {
        let table = table().await;
        let app = app(&table);
        call(&app, mentee_event(&minor_body())).await;
        let agreed = call(
            &app,
            with_token(
                event("signup-guardian-consent.json"),
                &link_token(&table, "/v1/guardian/consent").await,
            ),
        )
        .await;
        assert!(text(&agreed).contains("Merci, votre accord est enregistré."));
        assert_eq!(profiles(&table).await[0]["status"], "pending_verification");
        call(
            &app,
            with_token(
                event("signup-verify.json"),
                &link_token(&table, "/v1/verify").await,
            ),
        )
        .await;
        assert_eq!(profiles(&table).await[0]["status"], "verified");
    }

    #[tokio::test]
    async fn bad_input_names_every_field_and_stores_nothing() {
        let table = table().await;
        let app = app(&table);
        let mut body = mentee_body();
        body["first_name"] = "R2-D2".into();
        body["email"] = "pas-une-adresse".into();
        body["phone"] = "12".into();
        body["birth_date"] = "1980-01-01".into();
        body["postal_code"] = "00000".into();
        body["needs"] = json!(["orientation", "voyage"]);
        body["priority_groups"] = json!(["refugie"]);
        body["consent"] = false.into();
        let response = call(&app, mentee_event(&body)).await;
        assert_eq!(response.status(), 400);
        let fields: Vec<String> = json_body(&response)["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect();
        for field in [
            "first_name",
            "email",
            "phone",
            "birth_date",
            "postal_code",
            "needs",
            "sensitive_consent",
            "consent",
        ] {
            assert!(
                fields.contains(&field.to_owned()),
                "{field} not in {fields:?}"
            );
        }

        let mut child = minor_body();
        child.as_object_mut().unwrap().remove("guardian");
        let response = call(&app, mentee_event(&child)).await;
        assert_eq!(json_body(&response)["fields"][0]["field"], "guardian");

        let mut mentor = mentor_body();
        mentor["capacity"] = 5.into();
        mentor["charter_accepted"] = false.into();
        let response = call(&app, mentor_event(&mentor)).await;
        let fields: Vec<Value> = json_body(&response)["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].clone())
            .collect();
        assert_eq!(fields, [json!("capacity"), json!("charter_accepted")]);

        let oversized = mentee_event(&json!({"field": "x".repeat(20_000)}));
        assert_eq!(call(&app, oversized).await.status(), 413);
        assert!(table.calls.take().is_empty());
        assert!(table.items().await.is_empty(), "nothing stored");
    }

    #[tokio::test]
    async fn a_filled_honeypot_is_answered_as_usual_and_stores_nothing() {
        let table = table().await;
        let app = app(&table);
        let mut body = mentee_body();
        body["website"] = "http://spam.example".into();
        let response = call(&app, mentee_event(&body)).await;
        assert_eq!(response.status(), 202);
        assert_eq!(json_body(&response)["status"], "pending_verification");
        assert!(table.items().await.is_empty());
    }

    #[tokio::test]
    async fn an_unverified_sign_up_expires() {
        let table = table().await;
        let app = app(&table);
        call(&app, mentee_event(&mentee_body())).await;
        let token = link_token(&table, "/v1/verify").await;
        let key = Key::person_profile(profiles(&table).await[0]["id"].as_str().unwrap());
        table
            .store
            .client
            .update_item()
            .table_name(&table.store.table)
            .set_key(Some(key.attributes()))
            .update_expression("SET #ttl = :past")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(
                ":past",
                aws_sdk_dynamodb::types::AttributeValue::N("1000".into()),
            )
            .send()
            .await
            .unwrap();
        let page = call(&app, with_token(event("signup-verify.json"), &token)).await;
        assert_eq!(page.status(), 410);
        assert!(
            text(&page).contains("Nous n&#39;avons pas pu confirmer cette demande.")
                || text(&page).contains("Nous n'avons pas pu confirmer cette demande.")
        );
        assert_eq!(profiles(&table).await[0]["status"], "pending_verification");
    }

    #[tokio::test]
    async fn personal_data_is_sent_exported_and_erased() {
        let table = table().await;
        let app = app(&table);
        call(&app, mentee_event(&minor_body())).await;
        let link = |email: &str| with_body(event("me-link.json"), &json!({ "email": email }));

        let unknown = call(&app, link("personne@exemple.fr")).await;
        let mails = table.outbox().await.len();
        let known = call(&app, link("Sami.Collegien@exemple.fr")).await;
        assert_eq!(
            (unknown.status(), text(&unknown)),
            (known.status(), text(&known)),
            "the same answer"
        );
        assert_eq!(
            table.outbox().await.len(),
            mails + 1,
            "a mail for the known address only"
        );

        let token = link_token(&table, "/v1/me").await;
        let export = call(&app, with_token(event("me-export.json"), &token)).await;
        assert_eq!(export.status(), 200);
        let data = json_body(&export);
        assert_eq!(data["profile"]["email"], "sami.collegien@exemple.fr");
        assert_eq!(
            data["sensitive_data"]["priority_groups"],
            json!(["handicap"])
        );
        assert_eq!(data["guardian"]["email"], "nadia.haddad@exemple.fr");
        assert_eq!(
            data["mails"].as_array().unwrap().len(),
            3,
            "verification, guardian request, this link"
        );
        assert!(data["profile"]["consent"]["given_at"].is_string());

        let page = call(&app, with_token(event("me-erase-page.json"), &token)).await;
        assert!(text(&page).contains("<form method=\"post\""));
        assert_eq!(profiles(&table).await.len(), 1, "the page erases nothing");
        let erased = call(&app, with_token(event("me-erase.json"), &token)).await;
        assert_eq!(erased.status(), 200);
        assert!(text(&erased).contains("Vos données ont été effacées."));

        let left = table.items().await;
        assert_eq!(left.len(), 1, "only the audit record: {left:?}");
        assert_eq!(
            left[0]["sk"],
            Key::erasure_audit(data["profile"]["id"].as_str().unwrap()).sk
        );
        let audit = left[0].to_string();
        for personal in ["sami", "nadia", "collegien", "Haddad"] {
            assert!(!audit.contains(personal), "{audit}");
        }

        // The link replayed: nothing left to erase, and no button offered.
        let again = call(&app, with_token(event("me-erase.json"), &token)).await;
        assert_eq!(again.status(), 200);
        assert!(text(&again).contains("Vos données ont déjà été effacées."));
        let page = call(&app, with_token(event("me-erase-page.json"), &token)).await;
        assert!(text(&page).contains("Vos données ont déjà été effacées."));
        assert!(!text(&page).contains("<form"), "no button to press");
        assert_eq!(table.items().await.len(), 1);
        // The address is free again.
        call(&app, mentee_event(&minor_body())).await;
        assert_eq!(profiles(&table).await.len(), 1);
    }

    #[tokio::test]
    async fn answers_about_addresses_take_at_least_the_response_floor() {
        let table = table().await;
        let app = Signup::new(
            table.store.clone(),
            keyring(),
            Links::new("https://a.example", "https://b.example"),
            Duration::from_millis(120),
        );
        for event in [
            mentee_event(&mentee_body()),
            mentee_event(&mentee_body()),
            with_body(event("me-link.json"), &json!({"email": "x@exemple.fr"})),
        ] {
            let started = std::time::Instant::now();
            assert_eq!(call(&app, event).await.status(), 202);
            assert!(started.elapsed() >= Duration::from_millis(120));
        }
    }
}

mod properties {
    use super::*;
    use binome_tests::Backend;
    use proptest::prelude::*;

    const REQUIRED: &[&str] = &[
        "first_name",
        "last_name",
        "email",
        "birth_date",
        "postal_code",
        "situation",
        "needs",
        "mode",
        "consent",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        /// Through the handler and the emulator: a body with one required
        /// field missing or garbled gets 400 naming it, and nothing is stored.
        #[test]
        fn an_invalid_body_is_refused_and_nothing_is_stored(which in 0..REQUIRED.len(), garble in any::<bool>(), junk in "[#%!?]{1,8}") {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let table = TestTable::new(Backend::Embedded).await;
                let app = app(&table);
                let field = REQUIRED[which];
                let mut body = mentee_body();
                if garble {
                    body[field] = if field == "consent" { false.into() } else { json!(junk) };
                } else {
                    body.as_object_mut().unwrap().remove(field);
                }
                let response = call(&app, mentee_event(&body)).await;
                assert_eq!(response.status(), 400);
                let answer = json_body(&response);
                assert!(answer["fields"].as_array().unwrap().iter().any(|f| f["field"] == field), "{field}: {answer}");
                assert!(table.items().await.is_empty());
            });
        }
    }
}
