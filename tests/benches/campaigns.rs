//! A newsletter issue to 100,000 confirmed subscribers on the embedded
//! emulator, through the campaign sender and the local send queue (SQS's
//! semantics, two consumers as the template's `MaximumConcurrency`), the
//! mail rate unbounded. Prints the time from the start to the last `.eml`,
//! the DynamoDB calls per recipient, the process's peak memory, and the
//! campaign's duration at 14 and 200 mails/s from the measured cost.
//!
//! `cargo bench -p binome-tests --bench campaigns` (`-- 20000` for fewer).

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use binome_tests::{Backend, TestTable, keyring};
use campaigns::Campaigns;
use chrono::Utc;
use futures_util::{StreamExt, stream};
use shared::{
    campaign::CampaignStatus,
    campaign_store::{self, CampaignItem},
    links::Links,
    mail::Mailer,
    store::keys::index,
};

/// Sending environments, as the queue mapping's `MaximumConcurrency`.
const CONSUMERS: usize = 2;

/// Peak resident memory of this process (the emulator runs in it too), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

async fn seed(table: &TestTable, count: usize) {
    let batches: Vec<Vec<WriteRequest>> = (0..count)
        .map(|n| {
            let id = format!("{n:032x}");
            let item = [
                ("pk", format!("NEWSLETTER#{id}")),
                ("sk", "SUBSCRIBER".to_owned()),
                ("status", "confirmed".to_owned()),
                ("email", format!("lecteur-{n}@exemple.fr")),
                ("list_pk", index::subscribers_list(&id)),
                ("list_sk", id.clone()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
            .collect();
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[_]>::to_vec)
        .collect();
    stream::iter(batches)
        .for_each_concurrent(16, |batch| async move {
            let mut pending = Some(batch);
            while let Some(batch) = pending.take() {
                let output = table
                    .store
                    .client
                    .batch_write_item()
                    .request_items(&table.store.table, batch)
                    .send()
                    .await
                    .unwrap();
                pending = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&table.store.table))
                    .filter(|left| !left.is_empty());
            }
        })
        .await;
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(100_000);
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let table = TestTable::new(Backend::Embedded).await;
    let loading = Instant::now();
    seed(&table, count).await;
    println!(
        "loaded {count} confirmed subscribers in {:.1} s",
        loading.elapsed().as_secs_f64()
    );

    let outbox = tempfile::tempdir().unwrap();
    let queue = local::queue::LocalQueue::new(
        local::queue::Settings {
            concurrency: CONSUMERS,
            ..local::queue::Settings::TEMPLATE
        },
        outbox.path().join("dead-letters.jsonl"),
    );
    let app = Arc::new(Campaigns::new(
        table.store.clone(),
        keyring(),
        Links::new("https://api.binome.example", "https://binome.example"),
        Mailer::files(
            outbox.path(),
            "binome <ne-pas-repondre@binome.example>",
            false,
        )
        .unwrap(),
        queue.clone(),
        None,
    ));
    let now = Utc::now();
    let id = "0a1b2c3d4e5f";
    let draft = CampaignItem::draft(
        id,
        shared::campaign::Draft {
            subject: "La lettre de décembre".into(),
            preheader: Some("Des nouvelles des binômes".into()),
            body_markdown: "# Bonjour\n\nCe mois-ci, **des binômes** partout en France.\n\n- [Devenir mentor](https://binome.example/mentor)\n- [Trouver un mentor](https://binome.example/demande)\n".repeat(4),
        },
        now,
    );
    table.put(&serde_json::to_value(&draft).unwrap()).await;
    assert!(
        campaign_store::transition(&table.store, &draft, CampaignStatus::Sending, None, now)
            .await
            .unwrap()
    );
    table.calls.take();
    let baseline = peak_rss_mib();

    let started = Instant::now();
    // What the stream record of the start does, then the queue's consumers.
    let queued = campaigns::start::enqueue(&app, id, 1).await.unwrap();
    let enqueued = started.elapsed().as_secs_f64();
    assert_eq!(queued as usize, count);
    let consumers = queue.spawn({
        let app = app.clone();
        Arc::new(move |event| {
            let app = app.clone();
            Box::pin(async move { campaigns::send::deliver(&app, event).await })
        })
    });
    loop {
        let item = campaign_store::load(&table.store, id)
            .await
            .unwrap()
            .unwrap();
        if item.status == CampaignStatus::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    for consumer in consumers {
        consumer.abort();
    }
    let mails = std::fs::read_dir(outbox.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|ext| ext == "eml"))
        .count();
    assert_eq!(mails, count, "one mail per subscriber");

    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    for call in table.calls.take() {
        *calls.entry(call).or_default() += 1;
    }
    let total: usize = calls.values().sum();
    let per_mail = elapsed / count as f64;
    println!(
        "sent {count} mails in {elapsed:.1} s from the start ({:.0} mails/s with {CONSUMERS} consumers; \
         queueing the readers took {enqueued:.1} s)",
        count as f64 / elapsed
    );
    println!(
        "DynamoDB calls: {total} for {count} recipients = {:.3} per recipient ({calls:?})",
        total as f64 / count as f64
    );
    println!(
        "peak memory of the process (sender, queue and embedded emulator): {:.0} MiB ({baseline:.0} MiB before the send)",
        peak_rss_mib()
    );
    for rate in [14.0, 200.0] {
        // Bound by the rate, unless the per-mail cost is the slower of the two.
        let bound = (count as f64 / rate).max(per_mail * count as f64);
        println!(
            "at {rate} mails/s: {:.1} min for {count}, {:.1} min for 200,000 ({:.1} ms of sender time per mail)",
            bound / 60.0,
            (200_000.0 / rate).max(per_mail * 200_000.0) / 60.0,
            per_mail * 1000.0 * CONSUMERS as f64
        );
    }
}
