//! The due-work engine. Every future action is the due date of the item
//! it concerns, on the `by_due_date` index, spread over shards: a pair's
//! next follow-up (`FOLLOW_UP#<shard>`: reminders, check-ins, survey,
//! programme end, deletion past the retention period), a pending sign-up's
//! next reminder (`SIGNUP#<shard>`), a person's retention look
//! (`RETENTION#<shard>`). Every 15 minutes the schedule runs
//! [`run`]: the shards are drained in parallel, page by page; each due item
//! is done in one transaction that queues its mails and moves its due date
//! on, conditioned on the due date as read — so a run killed halfway and
//! run again sends nothing twice and skips nothing. A run stops taking work
//! before Lambda's time limit and leaves the rest to the next one.

pub mod follow_up;
pub mod retention;
pub mod signups;

use std::time::{Duration, Instant};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use lambda_runtime::Error;
use serde::Serialize;
use serde_json::Value;
use shared::{
    directory::DirectoryCache,
    keyring::Keyring,
    links::Links,
    retention::Retention,
    store::{Store, StoreError, keys::index, timestamp},
};

/// The function's timeout in the template is 900 s: stop taking work well before.
pub const TIME_BUDGET: Duration = Duration::from_secs(780);
/// Due items read per page.
const PAGE: i32 = 100;

pub struct Reminders {
    pub store: Store,
    pub keyring: Keyring,
    pub links: Links,
    /// Association names for the mails, read once a minute.
    pub directory: DirectoryCache,
    pub retention: Retention,
}

impl Reminders {
    pub fn new(store: Store, keyring: Keyring, links: Links, retention: Retention) -> Self {
        Self {
            store,
            keyring,
            links,
            directory: DirectoryCache::default(),
            retention,
        }
    }
}

/// The function's start: configuration, the signing secret, a warm connection.
pub async fn start() -> Result<Reminders, Error> {
    let start =
        shared::aws::start_signing(shared::aws::Secrets::Signing, Retention::from_env).await?;
    Ok(Reminders::new(
        start.store,
        start.keyring,
        start.links,
        start.settings,
    ))
}

/// The kinds of due work, one per family of shards.
#[derive(Debug, Clone, Copy)]
enum Work {
    FollowUp,
    Signup,
    Retention,
}

/// The schedule (an EventBridge "Scheduled Event", every 15 minutes).
pub async fn handle_event(app: &Reminders, event: Value) -> Result<Value, Error> {
    if event.get("detail-type").and_then(Value::as_str) != Some("Scheduled Event") {
        return Err("unexpected event: not the reminders schedule".into());
    }
    let schedule: EventBridgeEvent<Value> = serde_json::from_value(event)?;
    let now = schedule.time.unwrap_or_else(Utc::now);
    let report = run(app, now, Instant::now() + TIME_BUDGET).await?;
    Ok(serde_json::to_value(report)?)
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Due items done (their mails queued, their due date moved on).
    pub done: usize,
    /// Due items found already done or moved by someone else.
    pub skipped: usize,
    /// Due items that failed; they stay due for the next run.
    pub failed: usize,
    /// Whether the run stopped at its deadline with work left.
    pub left_over: bool,
}

impl Report {
    fn add(&mut self, other: Report) {
        self.done += other.done;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.left_over |= other.left_over;
    }
}

/// Does everything due at `now`, shard by shard in parallel, until `deadline`.
#[tracing::instrument(skip_all, fields(%now))]
pub async fn run(
    app: &Reminders,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<Report, StoreError> {
    let shards = (index::follow_up_due_partitions().map(|p| (Work::FollowUp, p)))
        .chain(index::signup_due_partitions().map(|p| (Work::Signup, p)))
        .chain(index::retention_due_partitions().map(|p| (Work::Retention, p)))
        .map(|(work, partition)| drain(app, work, partition, now, deadline));
    let mut report = Report::default();
    for shard in join_all(shards).await {
        report.add(shard?);
    }
    tracing::info!(?report, "reminders run done");
    Ok(report)
}

/// One shard, page after page.
async fn drain(
    app: &Reminders,
    work: Work,
    partition: String,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut pages = app
        .store
        .due(partition, &timestamp(now))
        .limit(PAGE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for item in page?.items() {
            if Instant::now() >= deadline {
                report.left_over = true;
                return Ok(report);
            }
            let done = match work {
                Work::FollowUp => follow_up::due(app, item, now).await,
                Work::Signup => signups::due(app, item, now).await,
                Work::Retention => retention::due(app, item, now).await,
            };
            match done {
                Ok(true) => report.done += 1,
                Ok(false) => report.skipped += 1,
                Err(error) => {
                    tracing::warn!(%error, "due item failed; it stays due");
                    report.failed += 1;
                }
            }
        }
    }
    Ok(report)
}
