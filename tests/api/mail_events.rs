//! The mail service's events (`events/mail-events-*.json`) through the
//! `mail-events` handler: suppression of bounced and complaining addresses
//! wherever binome holds them, each event counted once on its issue.

use binome_tests::{
    Backend, TestTable, api_request, as_association, at, event, keyring, status_and_json,
};
use mail_events::MailEvents;
use serde_json::{Value, json};
use shared::{
    campaign_store,
    email::EmailAddress,
    mail::{MailContent, Mailer, OutboxMail},
    store::keys::{Key, index},
};

use crate::matching::{app as matching_app, association, call, held};

const READER: &str = "lecteur@exemple.fr";
/// The issue the sample events are tagged with.
const CAMPAIGN: &str = "0a1b2c3d4e5f";

async fn deliver(app: &MailEvents, name: &str) -> Value {
    mail_events::handle(
        app,
        lambda_runtime::LambdaEvent::new(event(name), lambda_runtime::Context::default()),
    )
    .await
    .unwrap()
}

/// The same notification for another SES message (a later mail).
fn renamed(name: &str, message_id: &str, bounce_type: Option<&str>) -> Value {
    let mut sns = event(name);
    let mut message: Value =
        serde_json::from_str(sns["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
    message["mail"]["messageId"] = message_id.into();
    if let Some(kind) = bounce_type {
        message["bounce"]["bounceType"] = kind.into();
    }
    sns["Records"][0]["Sns"]["Message"] = message.to_string().into();
    sns
}

async fn deliver_value(app: &MailEvents, sns: Value) {
    mail_events::handle(
        app,
        lambda_runtime::LambdaEvent::new(sns, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
}

async fn item(table: &TestTable, key: &Key) -> Option<Value> {
    table
        .items()
        .await
        .into_iter()
        .find(|item| item["pk"] == key.pk && item["sk"] == key.sk)
}

/// A confirmed subscriber, a mentor with the same address, and the issue.
async fn setup(table: &TestTable) -> (Key, String) {
    let id = keyring()
        .addresses
        .id_of(&EmailAddress::parse(READER).unwrap());
    let subscriber = Key::newsletter_subscriber(&id);
    table
        .put(&json!({
            "pk": subscriber.pk, "sk": subscriber.sk, "status": "confirmed", "email": READER,
            "list_pk": index::subscribers_list(id.as_str()), "list_sk": id.as_str(),
        }))
        .await;
    let key = association(table, "tremplin-93", json!({})).await;
    held(table, "tremplin-93", "jeune1", "mentee", json!({})).await;
    held(
        table,
        "tremplin-93",
        "proche",
        "mentor",
        json!({"email": READER}),
    )
    .await;
    let guard = Key::email_guard(&id, shared::people::Role::Mentor);
    table
        .put(&json!({"pk": guard.pk, "sk": guard.sk, "person_id": "proche"}))
        .await;
    let campaign = Key::campaign(CAMPAIGN);
    table
        .put(&json!({
            "pk": campaign.pk, "sk": campaign.sk, "id": CAMPAIGN, "slug": format!("lettre-{CAMPAIGN}"),
            "subject": "La lettre", "body_markdown": "Bonjour", "status": "sent", "generation": 1,
            "created_at": "2026-12-01T09:00:00Z", "updated_at": "2026-12-01T10:00:00Z", "recipients": 1,
        }))
        .await;
    (subscriber, key)
}

async fn counts(table: &TestTable) -> shared::campaign::Counts {
    let campaign = campaign_store::load(&table.store, CAMPAIGN)
        .await
        .unwrap()
        .unwrap();
    campaign_store::counts(&table.store, &campaign)
        .await
        .unwrap()
}

async fn suggested_mentors(table: &TestTable, key: &str) -> Vec<String> {
    let (status, body) = call(
        &matching_app(table),
        as_association(at(event("matching-suggestions.json"), "jeune1"), key),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["mentor_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_hard_bounce_suppresses_the_address_everywhere_and_counts_once() {
    let table = TestTable::new(Backend::Embedded).await;
    let (subscriber, key) = setup(&table).await;
    assert_eq!(suggested_mentors(&table, &key).await, ["proche"]);
    let app = MailEvents::new(table.store.clone(), keyring());

    deliver(&app, "mail-events-bounce.json").await;
    // SNS delivers at least once.
    deliver(&app, "mail-events-bounce.json").await;

    let reader = item(&table, &subscriber).await.unwrap();
    assert_eq!(reader["status"], "unsubscribed");
    assert_eq!(reader["unsubscribe_reason"], "hard_bounce");
    assert!(reader.get("email").is_none(), "the address is removed");
    assert!(reader.get("list_pk").is_none(), "off the campaigns' list");
    let mentor = item(&table, &Key::person_profile("proche")).await.unwrap();
    assert_eq!(mentor["unreachable"]["reason"], "hard_bounce");
    assert!(
        suggested_mentors(&table, &key).await.is_empty(),
        "a mentor nobody can reach is not offered"
    );
    assert_eq!(counts(&table).await.bounced, 1, "counted once");

    // The association sees it on the request.
    let routing = routing::Routing::new(table.store.clone(), crate::matching::links(), None, None);
    let (status, shown) = status_and_json(
        &routing::handle(
            &routing,
            api_request(&as_association(
                at(event("association-request.json"), "proche"),
                &key,
            )),
        )
        .await
        .unwrap(),
    );
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        shown["request"]["unreachable"]["reason"], "hard_bounce",
        "{shown}"
    );

    // The mailer sends them nothing more.
    let mail = OutboxMail::new(
        Key::person_profile("proche"),
        MailContent::NewsletterWelcome {
            unsubscribe_url: "https://api.binome.example/v1/newsletter/unsubscribe?token=t".into(),
        },
        chrono::Utc::now(),
    );
    table.put(&serde_json::to_value(&mail).unwrap()).await;
    let outbox = tempfile::tempdir().unwrap();
    let delivery = mailer::Delivery::new(
        table.store.clone(),
        Mailer::files(
            outbox.path(),
            "binome <ne-pas-repondre@binome.example>",
            false,
        )
        .unwrap(),
        100,
    );
    mailer::deliver(&delivery, &table.outbox_insert_records().await).await;
    let stored = item(&table, &mail.key()).await.unwrap();
    assert_eq!(stored["status"], "suppressed");
    assert_eq!(
        std::fs::read_dir(outbox.path())
            .map(Iterator::count)
            .unwrap_or(0),
        0
    );
}

#[tokio::test]
async fn a_complaint_unsubscribes_and_a_delivery_counts() {
    let table = TestTable::new(Backend::Embedded).await;
    let (subscriber, _) = setup(&table).await;
    let app = MailEvents::new(table.store.clone(), keyring());

    deliver(&app, "mail-events-delivery.json").await;
    deliver(&app, "mail-events-delivery.json").await;
    assert_eq!(
        item(&table, &subscriber).await.unwrap()["status"],
        "confirmed"
    );

    deliver(&app, "mail-events-complaint.json").await;
    let reader = item(&table, &subscriber).await.unwrap();
    assert_eq!(reader["status"], "unsubscribed");
    assert_eq!(reader["unsubscribe_reason"], "complaint");
    let figures = counts(&table).await;
    assert_eq!((figures.delivered, figures.complained), (1, 1));
}

#[tokio::test]
async fn three_soft_bounces_in_a_row_suppress_and_a_delivery_resets_the_run() {
    let table = TestTable::new(Backend::Embedded).await;
    let (subscriber, _) = setup(&table).await;
    let app = MailEvents::new(table.store.clone(), keyring());
    let soft = |n: u32| {
        renamed(
            "mail-events-bounce.json",
            &format!("soft-{n}"),
            Some("Transient"),
        )
    };

    deliver_value(&app, soft(1)).await;
    deliver_value(&app, soft(2)).await;
    deliver_value(
        &app,
        renamed("mail-events-delivery.json", "delivered-3", None),
    )
    .await;
    deliver_value(&app, soft(4)).await;
    deliver_value(&app, soft(5)).await;
    // Redelivered: the same bounce does not count twice.
    deliver_value(&app, soft(5)).await;
    assert_eq!(
        item(&table, &subscriber).await.unwrap()["status"],
        "confirmed",
        "two in a row since the last delivery"
    );
    deliver_value(&app, soft(6)).await;
    let reader = item(&table, &subscriber).await.unwrap();
    assert_eq!(reader["status"], "unsubscribed");
    assert_eq!(reader["unsubscribe_reason"], "soft_bounces");
    assert_eq!(counts(&table).await.bounced, 5);
}
