//! The due-work engine against a day of due work: 50,000 active pairs whose
//! first check-in is due, spread over the shards, on the embedded emulator.
//! Prints the time one run takes to drain them, the DynamoDB calls per due
//! item, and the projected time of a month of check-ins for 200,000 pairs.
//!
//! `cargo bench -p binome-tests --bench reminders` (`-- 5000` for fewer).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use binome_tests::{Backend, TestTable, keyring};
use chrono::Utc;
use futures_util::{StreamExt, stream};
use reminders::Reminders;
use shared::{
    links::Links,
    pair::{FIRST_CHECK_IN_AFTER, Pair, PairStatus, Party, Points},
    retention::Retention,
    store::timestamp,
};

/// The mailer's default rate per environment, and the environments the
/// template lets the outbox stream run (one per stream shard).
const MAILS_PER_SECOND: f64 = mailer::DEFAULT_RATE_PER_SECOND as f64;

fn pair(n: usize, now: chrono::DateTime<Utc>) -> Pair {
    let id = format!("{n:032x}");
    let (mentee, mentor) = (format!("jeune{n}"), format!("mentor{n}"));
    let started = now - FIRST_CHECK_IN_AFTER - chrono::Duration::hours(1);
    let proposed = Pair::proposed(
        &id,
        "banc-d-essai",
        (
            Party {
                id: &mentee,
                first_name: "Léa",
            },
            Party {
                id: &mentor,
                first_name: "Thomas",
            },
        ),
        Points::default(),
        Vec::new(),
        None,
        started - chrono::Duration::days(2),
    );
    Pair {
        status: PairStatus::Active,
        mentee_accepted_at: Some(timestamp(started)),
        mentor_accepted_at: Some(timestamp(started)),
        started_at: Some(timestamp(started)),
        due_sk: Some(timestamp(started + FIRST_CHECK_IN_AFTER)),
        ..proposed
    }
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(50_000);
    let table = TestTable::new(Backend::Embedded).await;
    let now = Utc::now();
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();

    let loading = Instant::now();
    let batches: Vec<Vec<WriteRequest>> = (0..count)
        .map(|n| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(serde_dynamo::to_item(pair(n, now)).unwrap()))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[_]>::to_vec)
        .collect();
    stream::iter(batches)
        .for_each_concurrent(16, |batch| {
            let table = &table;
            async move {
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
            }
        })
        .await;
    println!(
        "loaded {count} due pairs in {:.1} s",
        loading.elapsed().as_secs_f64()
    );
    table.calls.take();

    let engine = Reminders::new(
        table.store.clone(),
        keyring(),
        Links::new("https://api.binome.example", "https://binome.example"),
        Retention::default(),
    );
    let started = Instant::now();
    let report = reminders::run(&engine, now, Instant::now() + Duration::from_secs(3600))
        .await
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!((report.done, report.failed), (count, 0), "{report:?}");

    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    for call in table.calls.take() {
        *calls.entry(call).or_default() += 1;
    }
    let total: usize = calls.values().sum();
    let rate = count as f64 / elapsed;
    println!(
        "drained {count} due check-ins in {elapsed:.1} s ({rate:.0} a second, 8 shards in parallel)"
    );
    println!(
        "DynamoDB calls: {total} for {count} items = {:.3} per due item ({calls:?})",
        total as f64 / count as f64
    );
    let pairs = 200_000.0;
    println!(
        "a month of check-ins for 200,000 active pairs: the engine {:.0} min at this rate; \
         the 400,000 mails {:.1} h at {MAILS_PER_SECOND} mails/s per mailer environment",
        pairs / rate / 60.0,
        2.0 * pairs / MAILS_PER_SECOND / 3600.0
    );
}
