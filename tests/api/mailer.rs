//! The mailer on real stream records: exactly once, transient failures
//! retried, erased recipients skipped, and the SES request checked on moto.

use aws_lambda_events::event::dynamodb::Event;
use binome_tests::{
    Backend, TestTable, api_request, event, keyring, moto, on_both_emulators, with_body,
};
use mailer::Delivery;
use newsletter::Newsletter;
use serde_json::{Value, json};
use shared::links::Links;
use shared::{
    email::EmailAddress,
    mail::{MailContent, Mailer, SesConfigurationSets},
};

const FROM: &str = "binome <ne-pas-repondre@binome.example>";

/// Subscribes one reader through the newsletter handler; returns the outbox
/// records this wrote, as the stream would deliver them.
async fn subscription_records(table: &TestTable) -> Event {
    let app = Newsletter::new(
        table.store.clone(),
        keyring(),
        Links::new("https://api.binome.example", "https://binome.example"),
        binome_tests::ADMIN_KEY,
    );
    let request = with_body(
        event("newsletter-subscribe.json"),
        &json!({"email": "lea@exemple.fr", "consent": true}),
    );
    let response = newsletter::handle(&app, api_request(&request))
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    table.outbox_insert_records().await
}

/// A mailer writing `.eml` files into `dir`, unthrottled.
fn file_delivery(table: &TestTable, dir: &std::path::Path) -> Delivery {
    Delivery::new(
        table.store.clone(),
        Mailer::files(dir, FROM, false).unwrap(),
        100,
    )
}

fn eml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

async fn outbox(table: &TestTable) -> Vec<Value> {
    table.outbox().await
}

async fn a_redelivered_batch_sends_each_mail_once(table: TestTable) {
    let records = subscription_records(&table).await;
    assert_eq!(
        records
            .records
            .iter()
            .filter(|r| mailer::is_new_outbox_mail(r))
            .count(),
        1
    );
    let dir = tempfile::tempdir().unwrap();
    let delivery = file_delivery(&table, dir.path());
    table.calls.take();

    let first = mailer::deliver(&delivery, &records).await;
    assert!(first.batch_item_failures.is_empty());
    assert_eq!(
        table.calls.take(),
        ["UpdateItem", "GetItem", "UpdateItem"],
        "claim, recipient, record"
    );
    let second = mailer::deliver(&delivery, &records).await;
    assert!(second.batch_item_failures.is_empty());

    let files = eml_files(dir.path());
    assert_eq!(files.len(), 1, "exactly one mail for two deliveries");
    let raw = std::fs::read(&files[0]).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        message.subject(),
        Some("Confirmez votre inscription à la lettre de binome")
    );
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some("lea@exemple.fr")
    );

    let mail = &outbox(&table).await[0];
    assert_eq!(mail["status"], "sent");
    assert!(mail["message_id"].is_string());
    assert!(
        mail["mail"].get("params").is_none(),
        "the link tokens are not kept after sending"
    );
    assert_eq!(mail["mail"]["template"], "newsletter_confirmation");
}

async fn a_transient_failure_is_reported_and_retried_later(table: TestTable) {
    let records = subscription_records(&table).await;
    // A file where the outbox folder should be: every write fails.
    let blocked = tempfile::NamedTempFile::new().unwrap();
    let broken = Delivery::new(
        table.store.clone(),
        Mailer::files(blocked.path().join("outbox"), FROM, false).unwrap(),
        100,
    );
    let response = mailer::deliver(&broken, &records).await;
    let outbox_record = records
        .records
        .iter()
        .find(|r| mailer::is_new_outbox_mail(r))
        .unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        outbox_record.change.sequence_number
    );
    assert_eq!(
        outbox(&table).await[0]["status"],
        "queued",
        "the claim is given back"
    );

    let dir = tempfile::tempdir().unwrap();
    let working = file_delivery(&table, dir.path());
    assert!(
        mailer::deliver(&working, &records)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(eml_files(dir.path()).len(), 1);
}

async fn a_mail_to_an_erased_recipient_is_dropped(table: TestTable) {
    let records = subscription_records(&table).await;
    let subscriber = table
        .items_with_sort_prefix(shared::store::keys::sort::SUBSCRIBER)
        .await
        .remove(0);
    table
        .store
        .client
        .delete_item()
        .table_name(&table.store.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(subscriber["pk"].as_str().unwrap().into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(subscriber["sk"].as_str().unwrap().into()),
        )
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let delivery = file_delivery(&table, dir.path());
    assert!(
        mailer::deliver(&delivery, &records)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(eml_files(dir.path()).is_empty());
    assert_eq!(outbox(&table).await[0]["status"], "dropped");
}

/// A delivery dies holding a claim (here: its future dropped while the
/// second mail waits for its turn, as a crash or a timeout would): the
/// redelivered batch finds that mail leased and skips it, and the lease
/// schedule sends it once the lease has ended, exactly once, even when its
/// first try fails.
async fn a_mail_claimed_by_a_dead_delivery_is_sent_when_its_lease_ends(table: TestTable) {
    let app = Newsletter::new(
        table.store.clone(),
        keyring(),
        Links::new("https://api.binome.example", "https://binome.example"),
        binome_tests::ADMIN_KEY,
    );
    for email in ["lea@exemple.fr", "sami@exemple.fr"] {
        let request = with_body(
            event("newsletter-subscribe.json"),
            &json!({"email": email, "consent": true}),
        );
        let response = newsletter::handle(&app, api_request(&request))
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    let records = table.outbox_insert_records().await;
    let dir = tempfile::tempdir().unwrap();
    // One mail a second: the second waits in the pacer when the delivery dies.
    let dying = Delivery::new(
        table.store.clone(),
        Mailer::files(dir.path(), FROM, false).unwrap(),
        1,
    );
    let died = tokio::time::timeout(
        std::time::Duration::from_millis(400),
        mailer::deliver(&dying, &records),
    )
    .await;
    assert!(died.is_err(), "the delivery was cut off");
    assert_eq!(eml_files(dir.path()).len(), 1);
    let statuses = |mails: Vec<Value>| {
        let mut statuses: Vec<String> = mails
            .iter()
            .map(|m| m["status"].as_str().unwrap().to_owned())
            .collect();
        statuses.sort();
        statuses
    };
    assert_eq!(statuses(outbox(&table).await), ["sending", "sent"]);

    let restarted = file_delivery(&table, dir.path());
    let redelivered = mailer::deliver(&restarted, &records).await;
    assert!(redelivered.batch_item_failures.is_empty());
    assert_eq!(eml_files(dir.path()).len(), 1, "the lease still holds");
    let now = chrono::Utc::now();
    assert_eq!(mailer::expired_leases(&restarted, now).await.unwrap(), 0);

    // The schedule's first try meets a throttled mail service: the mail
    // stays on the index for the next run, which no stream record replaces.
    let later = now + chrono::Duration::seconds(301);
    let throttled = Delivery::new(
        table.store.clone(),
        Mailer::files(dir.path(), FROM, false)
            .unwrap()
            .with_faults(1.0),
        100,
    );
    assert_eq!(mailer::expired_leases(&throttled, later).await.unwrap(), 0);
    assert_eq!(statuses(outbox(&table).await), ["queued", "sent"]);
    assert_eq!(mailer::expired_leases(&restarted, later).await.unwrap(), 1);
    assert_eq!(eml_files(dir.path()).len(), 2);
    assert_eq!(statuses(outbox(&table).await), ["sent", "sent"]);
    assert!(
        outbox(&table)
            .await
            .iter()
            .all(|m| m.get("due_pk").is_none()),
        "a sent mail leaves the lease index"
    );
    assert_eq!(mailer::expired_leases(&restarted, later).await.unwrap(), 0);
    assert_eq!(eml_files(dir.path()).len(), 2, "sent once");
}

#[tokio::test]
async fn the_lease_schedule_s_sample_event_is_understood() {
    let table = TestTable::new(Backend::Embedded).await;
    let dir = tempfile::tempdir().unwrap();
    let delivery = file_delivery(&table, dir.path());
    let answer = mailer::handle(
        &delivery,
        lambda_runtime::LambdaEvent::new(
            event("mailer-expired-leases.json"),
            lambda_runtime::Context::default(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(answer, json!({"expired_leases": 0}));
}

on_both_emulators!(
    a_redelivered_batch_sends_each_mail_once,
    a_transient_failure_is_reported_and_retried_later,
    a_mail_to_an_erased_recipient_is_dropped,
    a_mail_claimed_by_a_dead_delivery_is_sent_when_its_lease_ends,
);

#[tokio::test]
async fn the_sample_outbox_event_is_understood_and_sends_nothing_for_an_unknown_mail() {
    let table = TestTable::new(Backend::Embedded).await;
    let records: Event = serde_json::from_value(event("mailer-outbox-insert.json")).unwrap();
    assert!(mailer::is_new_outbox_mail(&records.records[0]));
    let dir = tempfile::tempdir().unwrap();
    let delivery = file_delivery(&table, dir.path());
    assert!(
        mailer::deliver(&delivery, &records)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(eml_files(dir.path()).is_empty());
}

fn configuration_sets() -> SesConfigurationSets {
    SesConfigurationSets {
        transactional: "binome-transactional".into(),
        newsletter: "binome-newsletter".into(),
    }
}

/// The SES v2 request, checked against moto's SES v2: raw MIME content, the
/// configuration set of the category, the one-click headers.
#[tokio::test]
async fn ses_receives_the_raw_mail_with_its_configuration_set() {
    let moto = moto();
    let sdk = shared::aws::offline(&moto.endpoint).await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let domain = format!("ses-{}.binome.example", std::process::id());
    ses.create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    for set in ["binome-transactional", "binome-newsletter"] {
        let _ = ses
            .create_configuration_set()
            .configuration_set_name(set)
            .send()
            .await;
    }
    let mailer = Mailer::ses(
        ses,
        &format!("binome <ne-pas-repondre@{domain}>"),
        configuration_sets(),
    )
    .unwrap();
    let welcome = MailContent::NewsletterWelcome {
        unsubscribe_url: "https://api.binome.example/v1/newsletter/unsubscribe?token=abc".into(),
    }
    .render()
    .unwrap();
    let to = EmailAddress::parse(&format!("lecteur@{domain}")).unwrap();
    let message_id = mailer.send("m-ses-1", &to, &welcome).await.unwrap();
    assert!(!message_id.is_empty());

    let sent: Value = reqwest::get(format!("{}/moto-api/data.json", moto.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = sent["ses"]["RawMessage"]
        .as_array()
        .or_else(|| sent["ses"]["Message"].as_array())
        .expect("moto lists sent mail");
    let ours = messages
        .iter()
        .find(|m| m.to_string().contains(&format!("lecteur@{domain}")))
        .unwrap_or_else(|| panic!("our mail among {messages:?}"));
    let raw = ours.to_string();
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    assert!(raw.contains("Bienvenue dans la lettre de binome"), "{raw}");

    // An unverified sender is refused for good, not retried.
    let stranger = Mailer::ses(
        aws_sdk_sesv2::Client::new(&sdk),
        "x <x@unverified.example>",
        configuration_sets(),
    )
    .unwrap();
    let refused = stranger.send("m-ses-2", &to, &welcome).await.unwrap_err();
    assert!(
        matches!(refused, shared::mail::SendError::Permanent(_)),
        "{refused}"
    );
}
