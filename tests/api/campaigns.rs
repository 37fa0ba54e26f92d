//! The newsletter's campaigns on the local stack: an issue written through
//! the admin routes reaches every confirmed subscriber exactly once, through
//! the stream, the send queue and the campaign sender, also with faults
//! injected; pause, resume, cancel and a scheduled start.

use std::{collections::HashMap, path::Path, time::Duration};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use mail_parser::MessageParser;
use serde_json::{Value, json};
use shared::store::keys::index;

use crate::end_to_end::{header, start_stack_with};

const ISSUE_SUBJECT: &str = "La lettre de décembre";

fn options(rate: Option<u32>) -> local::CampaignOptions {
    local::CampaignOptions {
        queue: local::queue::Settings {
            visibility: Duration::from_secs(10),
            concurrency: 2,
            ..local::queue::Settings::TEMPLATE
        },
        rate_per_second: rate,
        lease: Duration::from_secs(8),
        mail_fault_rate: 0.0,
    }
}

/// A subscriber's address id in these tests: 32 hex digits from `n`.
fn subscriber_id(n: usize) -> String {
    format!("{n:032x}")
}

fn reader_email(n: usize) -> String {
    format!("lecteur-{n}@exemple.fr")
}

/// Writes `confirmed` confirmed subscribers (on the list campaigns read),
/// plus pending and unsubscribed ones that must get nothing.
async fn seed_subscribers(stack: &local::Stack, confirmed: usize, others: usize) {
    let mut items = Vec::new();
    for n in 0..confirmed + 2 * others {
        let id = subscriber_id(n);
        let mut item: HashMap<String, AttributeValue> = HashMap::from([
            ("pk".into(), AttributeValue::S(format!("NEWSLETTER#{id}"))),
            ("sk".into(), AttributeValue::S("SUBSCRIBER".into())),
        ]);
        let status = if n < confirmed {
            item.insert(
                "list_pk".into(),
                AttributeValue::S(index::subscribers_list(&id)),
            );
            item.insert("list_sk".into(), AttributeValue::S(id.clone()));
            item.insert("email".into(), AttributeValue::S(reader_email(n)));
            "confirmed"
        } else if n < confirmed + others {
            item.insert("email".into(), AttributeValue::S(reader_email(n)));
            "pending"
        } else {
            "unsubscribed"
        };
        item.insert("status".into(), AttributeValue::S(status.into()));
        items.push(item);
    }
    let store = &stack.routing.store;
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        while !requests.is_empty() {
            let output = store
                .client
                .batch_write_item()
                .request_items(&store.table, requests)
                .send()
                .await
                .unwrap();
            requests = output
                .unprocessed_items
                .and_then(|mut left| left.remove(&store.table))
                .unwrap_or_default();
        }
    }
}

async fn admin(
    stack: &local::Stack,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", stack.base_url);
    let mut request = match method {
        "POST" => client.post(url),
        "PUT" => client.put(url),
        _ => client.get(url),
    }
    .bearer_auth(&stack.admin_key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create_issue(stack: &local::Stack) -> String {
    let (status, draft) = admin(
        stack,
        "POST",
        "/v1/admin/newsletter/issues",
        Some(json!({
            "subject": ISSUE_SUBJECT,
            "preheader": "Des nouvelles des binômes",
            "body_markdown": "# Bonjour\n\nCe mois-ci, **des binômes** partout en France.\n\n[Devenir mentor](https://binome.example/mentor)",
        })),
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    assert_eq!(draft["status"], "draft");
    draft["id"].as_str().unwrap().to_owned()
}

async fn issue(stack: &local::Stack, id: &str) -> Value {
    admin(
        stack,
        "GET",
        &format!("/v1/admin/newsletter/issues/{id}"),
        None,
    )
    .await
    .1
}

async fn command(stack: &local::Stack, id: &str, verb: &str, body: Option<Value>) -> Value {
    let (status, campaign) = admin(
        stack,
        "POST",
        &format!("/v1/admin/newsletter/issues/{id}/{verb}"),
        body,
    )
    .await;
    assert_eq!(status, 200, "{verb}: {campaign}");
    campaign
}

/// Waits until the campaign is in `status` (or the time is up).
async fn wait_for_status(stack: &local::Stack, id: &str, status: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let campaign = issue(stack, id).await;
        if campaign["status"] == status || tokio::time::Instant::now() > deadline {
            assert_eq!(campaign["status"], status, "{campaign}");
            return campaign;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each reader's copies of the issue: address → (count, unsubscribe link).
fn issue_mails(outbox: &Path) -> HashMap<String, (usize, String)> {
    let mut mails: HashMap<String, (usize, String)> = HashMap::new();
    for entry in std::fs::read_dir(outbox).into_iter().flatten().flatten() {
        if entry.path().extension().is_none_or(|ext| ext != "eml") {
            continue;
        }
        let raw = std::fs::read(entry.path()).unwrap();
        let message = MessageParser::default().parse(&raw).unwrap();
        if message.subject() != Some(ISSUE_SUBJECT) {
            continue;
        }
        let unsubscribe = header(&message, "List-Unsubscribe");
        assert!(header(&message, "List-Id").contains("lettre."), "a List-Id");
        assert_eq!(
            header(&message, "List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        let entry = mails
            .entry(header(&message, "To"))
            .or_insert((0, unsubscribe.clone()));
        entry.0 += 1;
    }
    mails
}

fn assert_exactly_one_each(mails: &HashMap<String, (usize, String)>, confirmed: usize) {
    let twice: Vec<_> = mails.iter().filter(|(_, (n, _))| *n > 1).collect();
    assert!(twice.is_empty(), "mailed more than once: {twice:?}");
    for n in 0..confirmed {
        assert!(
            mails.contains_key(&reader_email(n)),
            "{} got nothing",
            reader_email(n)
        );
    }
    assert_eq!(mails.len(), confirmed, "only confirmed readers are mailed");
}

#[tokio::test]
async fn an_issue_reaches_every_confirmed_subscriber_once_with_their_own_unsubscribe_link() {
    let data = tempfile::tempdir().unwrap();
    let stack = start_stack_with(
        data.path(),
        local::gateway::Throttle::TEMPLATE,
        options(None),
    )
    .await;
    seed_subscribers(&stack, 2_000, 50).await;
    let id = create_issue(&stack).await;

    let started = command(&stack, &id, "send", None).await;
    assert_eq!(started["status"], "sending");
    // A retried send changes nothing.
    assert_eq!(
        command(&stack, &id, "send", None).await["status"],
        "sending"
    );
    let sent = wait_for_status(&stack, &id, "sent", Duration::from_secs(240)).await;
    let counts = &sent["counts"];
    assert_eq!(counts["recipients"], 2_000, "{counts}");
    assert_eq!(counts["queued"], 2_000, "{counts}");
    assert_eq!(counts["sent"], 2_000, "{counts}");
    assert_eq!(counts["failed"], 0, "{counts}");

    let mails = issue_mails(&stack.outbox_dir);
    assert_exactly_one_each(&mails, 2_000);
    let links: std::collections::HashSet<&String> = mails.values().map(|(_, link)| link).collect();
    assert_eq!(
        links.len(),
        2_000,
        "each reader has their own unsubscribe link"
    );

    // A reader unsubscribes in one click from the mail; it counts on the issue once.
    let link = mails[&reader_email(7)]
        .1
        .trim_matches(['<', '>'])
        .to_owned();
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let response = client
            .post(&link)
            .form(&[("List-Unsubscribe", "One-Click")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(issue(&stack, &id).await["counts"]["unsubscribed"], 1);

    // The web version is published in the archive.
    let archive = client
        .get(format!("{}/v1/newsletter/issues", stack.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(archive.contains(ISSUE_SUBJECT), "{archive}");
    let page = client
        .get(sent["web_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<strong>des binômes</strong>")
    );
}

#[tokio::test]
async fn failing_sends_and_a_batch_delivered_twice_still_mail_everyone_once() {
    let data = tempfile::tempdir().unwrap();
    let mut options = options(None);
    options.mail_fault_rate = 0.1;
    options.queue.faults.duplicate_first = true;
    let stack = start_stack_with(data.path(), local::gateway::Throttle::TEMPLATE, options).await;
    seed_subscribers(&stack, 1_000, 0).await;
    let id = create_issue(&stack).await;
    command(&stack, &id, "send", None).await;
    let sent = wait_for_status(&stack, &id, "sent", Duration::from_secs(240)).await;
    let counts = &sent["counts"];
    let (sent_count, failed) = (
        counts["sent"].as_u64().unwrap(),
        counts["failed"].as_u64().unwrap(),
    );
    assert_eq!(sent_count + failed, 1_000, "{counts}");
    assert!(
        counts["retried"].as_u64().unwrap() > 50,
        "failures were retried: {counts}"
    );
    // A reader fails for good only after three failed attempts (0.1³ each).
    assert!(failed < 10, "{counts}");
    let mails = issue_mails(&stack.outbox_dir);
    let twice: Vec<_> = mails.iter().filter(|(_, (n, _))| *n > 1).collect();
    assert!(twice.is_empty(), "mailed more than once: {twice:?}");
    assert_eq!(mails.len() as u64, sent_count);
}

#[tokio::test]
async fn invocations_killed_halfway_lose_nobody() {
    let data = tempfile::tempdir().unwrap();
    let mut options = options(None);
    options.queue.faults.kill_rate = 0.2;
    let stack = start_stack_with(data.path(), local::gateway::Throttle::TEMPLATE, options).await;
    seed_subscribers(&stack, 500, 0).await;
    let id = create_issue(&stack).await;
    command(&stack, &id, "send", None).await;
    let sent = wait_for_status(&stack, &id, "sent", Duration::from_secs(240)).await;
    assert_eq!(sent["counts"]["sent"], 500, "{}", sent["counts"]);
    let mails = issue_mails(&stack.outbox_dir);
    for n in 0..500 {
        assert!(
            mails.contains_key(&reader_email(n)),
            "{} got nothing",
            reader_email(n)
        );
    }
}

#[tokio::test]
async fn a_paused_issue_resumes_where_it_stopped_and_a_cancelled_one_stops() {
    let data = tempfile::tempdir().unwrap();
    let stack = start_stack_with(
        data.path(),
        local::gateway::Throttle::TEMPLATE,
        options(Some(40)),
    )
    .await;
    seed_subscribers(&stack, 300, 0).await;
    let id = create_issue(&stack).await;
    command(&stack, &id, "send", None).await;
    loop {
        if issue(&stack, &id).await["counts"]["sent"].as_u64().unwrap() >= 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        command(&stack, &id, "pause", None).await["status"],
        "paused"
    );
    // The batches under way finish their current mail, then nothing moves.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let paused = issue(&stack, &id).await["counts"]["sent"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(issue(&stack, &id).await["counts"]["sent"], paused);
    assert!(paused < 300, "paused before the end: {paused}");

    // While it is paused, a reader not mailed yet unsubscribes.
    let mailed = issue_mails(&stack.outbox_dir);
    let leaving = (0..300)
        .find(|n| !mailed.contains_key(&reader_email(*n)))
        .unwrap();
    let store = &stack.routing.store;
    store
        .client
        .update_item()
        .table_name(&store.table)
        .key(
            "pk",
            AttributeValue::S(format!("NEWSLETTER#{}", subscriber_id(leaving))),
        )
        .key("sk", AttributeValue::S("SUBSCRIBER".into()))
        .update_expression("SET #status = :gone REMOVE email, list_pk, list_sk")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":gone", AttributeValue::S("unsubscribed".into()))
        .send()
        .await
        .unwrap();

    assert_eq!(
        command(&stack, &id, "resume", None).await["status"],
        "sending"
    );
    let sent = wait_for_status(&stack, &id, "sent", Duration::from_secs(120)).await;
    assert_eq!(sent["counts"]["sent"], 299, "{}", sent["counts"]);
    assert_eq!(sent["counts"]["recipients"], 299, "{}", sent["counts"]);
    let mails = issue_mails(&stack.outbox_dir);
    assert!(
        !mails.contains_key(&reader_email(leaving)),
        "nothing after leaving"
    );
    let twice: Vec<_> = mails.iter().filter(|(_, (n, _))| *n > 1).collect();
    assert!(twice.is_empty(), "mailed more than once: {twice:?}");
    assert_eq!(mails.len(), 299);

    // Another issue, cancelled: it stops and leaves the archive.
    let other = create_issue(&stack).await;
    command(&stack, &other, "send", None).await;
    let cancelled = command(&stack, &other, "cancel", None).await;
    assert_eq!(cancelled["status"], "cancelled");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = issue(&stack, &other).await["counts"]["sent"]
        .as_u64()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(issue(&stack, &other).await["counts"]["sent"], after);
    assert!(after < 300, "{after}");
    let page = reqwest::get(cancelled["web_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let (status, refused) = admin(
        &stack,
        "POST",
        &format!("/v1/admin/newsletter/issues/{other}/resume"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "campaign_status");
}

#[tokio::test]
async fn a_scheduled_issue_starts_at_its_time() {
    let data = tempfile::tempdir().unwrap();
    let stack = start_stack_with(
        data.path(),
        local::gateway::Throttle::TEMPLATE,
        options(None),
    )
    .await;
    seed_subscribers(&stack, 20, 0).await;
    let id = create_issue(&stack).await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(3);
    let scheduled = command(&stack, &id, "send", Some(json!({ "at": at }))).await;
    assert_eq!(scheduled["status"], "scheduled");

    let client = reqwest::Client::new();
    let run_schedule = || {
        client
            .post(format!("{}/local/jobs/campaigns", stack.base_url))
            .bearer_auth(&stack.admin_key)
            .send()
    };
    let early: Value = run_schedule().await.unwrap().json().await.unwrap();
    assert_eq!(early["started"], 0, "not before its time");
    assert_eq!(issue(&stack, &id).await["status"], "scheduled");
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let on_time: Value = run_schedule().await.unwrap().json().await.unwrap();
    assert_eq!(on_time["started"], 1);
    wait_for_status(&stack, &id, "sent", Duration::from_secs(60)).await;
    assert_exactly_one_each(&issue_mails(&stack.outbox_dir), 20);
}

#[tokio::test]
async fn drafts_are_checked_previewed_and_tested_before_anyone_gets_them() {
    let data = tempfile::tempdir().unwrap();
    let stack = start_stack_with(
        data.path(),
        local::gateway::Throttle::TEMPLATE,
        options(None),
    )
    .await;
    seed_subscribers(&stack, 5, 0).await;
    let (status, refused) = admin(
        &stack,
        "POST",
        "/v1/admin/newsletter/issues",
        Some(json!({"subject": "", "body_markdown": ""})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "invalid_fields");
    let (status, _) = reqwest::Client::new()
        .post(format!("{}/v1/admin/newsletter/issues", stack.base_url))
        .json(&json!({"subject": "x", "body_markdown": "y"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 401, "the admin key is required");

    let id = create_issue(&stack).await;
    let (status, edited) = admin(
        &stack,
        "PUT",
        &format!("/v1/admin/newsletter/issues/{id}"),
        Some(json!({
            "subject": ISSUE_SUBJECT,
            "body_markdown": "Bonjour <script>alert(1)</script> [lien](javascript:alert(2)) <img src=x onerror=alert(3)>",
        })),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    let (_, preview) = admin(
        &stack,
        "GET",
        &format!("/v1/admin/newsletter/issues/{id}/preview"),
        None,
    )
    .await;
    let html = preview["html"].as_str().unwrap();
    assert!(
        !html.contains("<script") && !html.contains("javascript:") && !html.contains("onerror"),
        "{html}"
    );
    assert!(preview["text"].as_str().unwrap().contains("Bonjour"));

    let test = json!({"emails": ["equipe@binome.example", "relecture@binome.example"]});
    let path = format!("/v1/admin/newsletter/issues/{id}/test");
    let (status, queued) = admin(&stack, "POST", &path, Some(test.clone())).await;
    assert_eq!(
        (status, queued["queued"].as_u64()),
        (202, Some(2)),
        "{queued}"
    );
    // The same version to the same addresses again: nothing more is sent.
    let (_, again) = admin(&stack, "POST", &path, Some(test)).await;
    assert_eq!(again["already_sent"], 2, "{again}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let test_subject = format!("[TEST] {ISSUE_SUBJECT}");
    let tests = loop {
        let subjects: Vec<String> = std::fs::read_dir(&stack.outbox_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let raw = std::fs::read(entry.path()).ok()?;
                let message = MessageParser::default().parse(&raw)?;
                message.subject().map(str::to_owned)
            })
            .filter(|subject| *subject == test_subject)
            .collect();
        if subjects.len() >= 2 || tokio::time::Instant::now() > deadline {
            break subjects;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(tests.len(), 2);
    assert_eq!(
        issue(&stack, &id).await["status"],
        "draft",
        "a test sends nobody else"
    );
    assert!(issue_mails(&stack.outbox_dir).is_empty());

    command(&stack, &id, "send", None).await;
    let (status, refused) = admin(
        &stack,
        "PUT",
        &format!("/v1/admin/newsletter/issues/{id}"),
        Some(json!({"subject": "Autre", "body_markdown": "Autre"})),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("campaign_not_draft"))
    );
}
