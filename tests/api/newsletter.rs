//! The newsletter handler, in process, on a fresh table per test.

use binome_tests::{
    TestTable, api_request, event, keyring, on_both_emulators, with_body, with_token,
};
use chrono::{Duration, Utc};
use lambda_http::{Body, Response};
use newsletter::Newsletter;
use serde_json::{Value, json};
use shared::links::Links;
use shared::store::{Key, keys};
use shared::tokens::Purpose;

fn app(table: &TestTable) -> Newsletter {
    Newsletter::new(
        table.store.clone(),
        keyring(),
        Links::new("https://api.binome.example", "https://binome.example"),
        binome_tests::ADMIN_KEY,
    )
}

async fn call(app: &Newsletter, event: Value) -> Response<Body> {
    newsletter::handle(app, api_request(&event))
        .await
        .expect("handlers answer every request")
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8(response.body().as_ref().to_vec()).expect("UTF-8 body")
}

fn subscribe_event(email: &str) -> Value {
    with_body(
        event("newsletter-subscribe.json"),
        &json!({"email": email, "consent": true, "source": "campagne-tv"}),
    )
}

async fn subscribe(app: &Newsletter, email: &str) -> Response<Body> {
    call(app, subscribe_event(email)).await
}

/// The token in the link of the newest mail of this template.
async fn link_token(table: &TestTable, template: &str, param: &str) -> String {
    let mails = table.outbox().await;
    let mut mails: Vec<&Value> = mails
        .iter()
        .filter(|m| m["mail"]["template"] == template)
        .collect();
    mails.sort_by_key(|m| m["created_at"].as_str().unwrap_or_default().to_owned());
    let url = mails.last().expect("a mail of this template")["mail"]["params"][param]
        .as_str()
        .expect("a link")
        .to_owned();
    url.split_once("token=")
        .expect("a token in the link")
        .1
        .to_owned()
}

async fn confirm(app: &Newsletter, token: &str) -> Response<Body> {
    call(app, with_token(event("newsletter-confirm.json"), token)).await
}

async fn subscriber(table: &TestTable) -> Value {
    let subscribers = table.items_with_sort_prefix(keys::sort::SUBSCRIBER).await;
    assert_eq!(subscribers.len(), 1, "{subscribers:?}");
    subscribers[0].clone()
}

async fn subscribe_takes_one_transaction_and_records_the_consent(table: TestTable) {
    let app = app(&table);
    let before = Utc::now().timestamp();
    let response = subscribe(&app, " Lea.Martin@Exemple.FR ").await;
    assert_eq!(response.status(), 202);
    assert_eq!(table.calls.take(), ["TransactWriteItems"]);

    let subscriber = subscriber(&table).await;
    assert_eq!(subscriber["status"], "pending");
    assert_eq!(subscriber["email"], "lea.martin@exemple.fr");
    assert!(
        !subscriber["pk"].as_str().unwrap().contains("lea"),
        "no address in keys"
    );
    assert_eq!(
        subscriber["consent"]["text_version"],
        newsletter::CONSENT_TEXT_VERSION
    );
    assert_eq!(subscriber["consent"]["source"], "campagne-tv");
    assert!(
        subscriber["consent"]["given_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let expires = subscriber["ttl"].as_i64().unwrap();
    assert!((before + 7 * 86_400..=Utc::now().timestamp() + 7 * 86_400).contains(&expires));

    let mails = table.outbox().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["status"], "queued");
    assert_eq!(mails[0]["recipient"]["pk"], subscriber["pk"]);
    assert!(
        mails[0]["mail"]["params"]["confirm_url"]
            .as_str()
            .unwrap()
            .starts_with("https://api.binome.example/v1/newsletter/confirm?token=")
    );
}

async fn the_answer_is_the_same_whatever_the_address_state(table: TestTable) {
    let app = app(&table);
    let new = text(&subscribe(&app, "lea@exemple.fr").await);
    let pending = text(&subscribe(&app, "lea@exemple.fr").await);
    let token = link_token(&table, "newsletter_confirmation", "confirm_url").await;
    assert_eq!(confirm(&app, &token).await.status(), 200);
    let confirmed = text(&subscribe(&app, "lea@exemple.fr").await);
    let unsubscribe = keyring().tokens.issue(
        Purpose::NewsletterUnsubscribe,
        subscriber(&table).await["pk"]
            .as_str()
            .and_then(Key::newsletter_subscriber_of)
            .unwrap(),
        Utc::now(),
        Duration::days(1),
    );
    assert_eq!(
        call(
            &app,
            with_token(event("newsletter-unsubscribe.json"), &unsubscribe)
        )
        .await
        .status(),
        200
    );
    let unsubscribed = text(&subscribe(&app, "lea@exemple.fr").await);
    assert_eq!(new, pending);
    assert_eq!(new, confirmed);
    assert_eq!(new, unsubscribed);
}

async fn a_retried_subscription_sends_one_mail(table: TestTable) {
    let app = app(&table);
    for _ in 0..3 {
        assert_eq!(subscribe(&app, "lea@exemple.fr").await.status(), 202);
    }
    assert_eq!(table.outbox().await.len(), 1);
}

async fn confirmation_takes_one_transaction_and_is_idempotent(table: TestTable) {
    let app = app(&table);
    subscribe(&app, "lea@exemple.fr").await;
    let token = link_token(&table, "newsletter_confirmation", "confirm_url").await;
    table.calls.take();

    let first = confirm(&app, &token).await;
    assert_eq!(table.calls.take(), ["TransactWriteItems"]);
    assert_eq!(first.status(), 200);
    assert!(text(&first).contains("Votre inscription est confirmée."));
    assert_eq!(first.headers()["referrer-policy"], "no-referrer");

    let second = confirm(&app, &token).await;
    assert_eq!(second.status(), 200);
    assert!(text(&second).contains("Votre inscription est confirmée."));

    let subscriber = subscriber(&table).await;
    assert_eq!(subscriber["status"], "confirmed");
    assert!(
        subscriber.get("ttl").is_none(),
        "a confirmed subscriber does not expire"
    );
    let welcomes: Vec<Value> = table
        .outbox()
        .await
        .into_iter()
        .filter(|m| m["mail"]["template"] == "newsletter_welcome")
        .collect();
    assert_eq!(welcomes.len(), 1, "one welcome mail, however many clicks");
}

async fn an_expired_pending_subscription_cannot_be_confirmed(table: TestTable) {
    let app = app(&table);
    subscribe(&app, "lea@exemple.fr").await;
    let token = link_token(&table, "newsletter_confirmation", "confirm_url").await;
    // TTL deletion is late: the item is still there, its expiry passed.
    let key = subscriber(&table).await;
    table
        .store
        .client
        .update_item()
        .table_name(&table.store.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(key["pk"].as_str().unwrap().into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(key["sk"].as_str().unwrap().into()),
        )
        .update_expression("SET #ttl = :past")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::N((Utc::now().timestamp() - 1).to_string()),
        )
        .send()
        .await
        .unwrap();

    let response = confirm(&app, &token).await;
    assert_eq!(response.status(), 410);
    let page = text(&response);
    assert!(
        page.contains("Nous n&#39;avons pas pu confirmer votre inscription.")
            || page.contains("Nous n'avons pas pu confirmer votre inscription."),
        "{page}"
    );
    assert!(
        page.contains("https://binome.example/newsletter"),
        "a way to subscribe again"
    );
    assert_eq!(subscriber(&table).await["status"], "pending");
    assert_eq!(table.outbox().await.len(), 1, "no welcome mail");
}

async fn unsubscribing_needs_a_post_and_removes_the_address(table: TestTable) {
    let app = app(&table);
    subscribe(&app, "lea@exemple.fr").await;
    confirm(
        &app,
        &link_token(&table, "newsletter_confirmation", "confirm_url").await,
    )
    .await;
    let token = link_token(&table, "newsletter_welcome", "unsubscribe_url").await;
    table.calls.take();

    let page = call(
        &app,
        with_token(event("newsletter-unsubscribe-page.json"), &token),
    )
    .await;
    assert_eq!(page.status(), 200);
    assert!(text(&page).contains("<form method=\"post\""));
    assert!(
        table.calls.take().is_empty(),
        "showing the page changes nothing"
    );
    assert_eq!(subscriber(&table).await["status"], "confirmed");

    for _ in 0..2 {
        let done = call(
            &app,
            with_token(event("newsletter-unsubscribe.json"), &token),
        )
        .await;
        assert_eq!(done.status(), 200);
        assert!(text(&done).contains("désinscrit"));
    }
    let subscriber = subscriber(&table).await;
    assert_eq!(subscriber["status"], "unsubscribed");
    assert!(subscriber.get("email").is_none(), "the address is erased");
    assert!(subscriber["unsubscribed_at"].is_string());
    assert!(
        subscriber["consent"]["given_at"].is_string(),
        "the consent record stays"
    );

    // Subscribing again starts a new double opt-in.
    assert_eq!(subscribe(&app, "lea@exemple.fr").await.status(), 202);
    let subscriber = self::subscriber(&table).await;
    assert_eq!(subscriber["status"], "pending");
    assert_eq!(subscriber["email"], "lea@exemple.fr");
}

on_both_emulators!(
    subscribe_takes_one_transaction_and_records_the_consent,
    the_answer_is_the_same_whatever_the_address_state,
    a_retried_subscription_sends_one_mail,
    confirmation_takes_one_transaction_and_is_idempotent,
    an_expired_pending_subscription_cannot_be_confirmed,
    unsubscribing_needs_a_post_and_removes_the_address,
);

async fn bad_input_is_refused_and_nothing_is_stored(table: TestTable) {
    let app = app(&table);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            with_body(
                event("newsletter-subscribe.json"),
                &json!({"email": "lea@exemple.fr"}),
            ),
            400,
            "missing_field",
        ),
        (
            with_body(
                event("newsletter-subscribe.json"),
                &json!({"email": "lea@exemple.fr", "consent": false}),
            ),
            400,
            "invalid_fields",
        ),
        (
            with_body(
                event("newsletter-subscribe.json"),
                &json!({"email": "pas-une-adresse", "consent": true}),
            ),
            400,
            "invalid_fields",
        ),
        (
            with_body(
                event("newsletter-subscribe.json"),
                &json!({"email": "lea@exemple.fr", "consent": true, "admin": true}),
            ),
            400,
            "unknown_field",
        ),
        (
            {
                let mut e = event("newsletter-subscribe.json");
                e["body"] = "{\"email\": ".into();
                e
            },
            400,
            "malformed_json",
        ),
        (
            {
                let mut e = event("newsletter-subscribe.json");
                e["headers"]["content-type"] = "text/plain".into();
                e
            },
            415,
            "unsupported_media_type",
        ),
        (
            with_body(
                event("newsletter-subscribe.json"),
                &json!({"email": "lea@exemple.fr", "consent": true, "source": "x".repeat(20_000)}),
            ),
            413,
            "payload_too_large",
        ),
    ];
    for (event, status, code) in cases {
        let response = call(&app, event).await;
        assert_eq!(response.status(), status, "{code}");
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["code"], code);
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    assert!(
        table.calls.take().is_empty(),
        "bad input never reaches the table"
    );
    assert!(table.items().await.is_empty());
}

async fn a_bad_token_gets_a_french_page_and_changes_nothing(table: TestTable) {
    let app = app(&table);
    subscribe(&app, "lea@exemple.fr").await;
    let token = link_token(&table, "newsletter_confirmation", "confirm_url").await;
    let subject = subscriber(&table).await["pk"]
        .as_str()
        .and_then(Key::newsletter_subscriber_of)
        .unwrap()
        .to_owned();
    let mut tampered = token.clone();
    tampered.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
    let wrong_purpose = keyring().tokens.issue(
        Purpose::NewsletterUnsubscribe,
        &subject,
        Utc::now(),
        Duration::days(1),
    );
    let expired = keyring().tokens.issue(
        Purpose::NewsletterConfirm,
        &subject,
        Utc::now() - Duration::days(8),
        Duration::days(7),
    );
    let other_key = shared::keyring::Keyring::from_hex(&"77".repeat(32)).unwrap();
    let forged = other_key.tokens.issue(
        Purpose::NewsletterConfirm,
        &subject,
        Utc::now(),
        Duration::days(7),
    );
    table.calls.take();

    for (token, status) in [
        (tampered, 400),
        (wrong_purpose, 400),
        (forged, 400),
        (expired, 410),
        (String::new(), 400),
    ] {
        let response = confirm(&app, &token).await;
        assert_eq!(response.status(), status);
        assert!(text(&response).contains("pas pu confirmer votre inscription"));
    }
    assert!(
        table.calls.take().is_empty(),
        "refused tokens never reach the table"
    );
    assert_eq!(subscriber(&table).await["status"], "pending");
}

async fn unknown_routes_get_a_json_404(table: TestTable) {
    let app = app(&table);
    let mut event = event("newsletter-subscribe.json");
    event["routeKey"] = "GET /v1/nowhere".into();
    event["requestContext"]["routeKey"] = "GET /v1/nowhere".into();
    let response = call(&app, event).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        serde_json::from_slice::<Value>(response.body().as_ref()).unwrap()["code"],
        "not_found"
    );
}

mod embedded_only {
    use super::*;

    #[tokio::test]
    async fn bad_input() {
        bad_input_is_refused_and_nothing_is_stored(
            TestTable::new(binome_tests::Backend::Embedded).await,
        )
        .await;
    }

    #[tokio::test]
    async fn bad_tokens() {
        a_bad_token_gets_a_french_page_and_changes_nothing(
            TestTable::new(binome_tests::Backend::Embedded).await,
        )
        .await;
    }

    #[tokio::test]
    async fn unknown_routes() {
        unknown_routes_get_a_json_404(TestTable::new(binome_tests::Backend::Embedded).await).await;
    }
}
