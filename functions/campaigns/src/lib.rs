//! The `campaigns` function: sends a newsletter issue to every confirmed
//! subscriber, exactly once, at the mail service's pace.
//!
//! | trigger | what it does |
//! |---|---|
//! | table stream: an issue's status becomes `sending` (send, resume) | reads the confirmed subscribers (a sparse, sharded index, no Scan) and queues them in batches of 100 |
//! | SQS: a batch | for each reader, a conditional record (one send per issue and reader, whatever the redeliveries), the mail with their own unsubscribe link, the counts |
//! | schedule, every minute | starts the scheduled issues whose time has come |
//!
//! The fan-out lives on the queue: no invocation holds the campaign, a
//! crashed one leaves its batch to come back, and the event source mapping's
//! `MaximumConcurrency` bounds the sending rate for the whole account.

pub mod queue;
pub mod send;
pub mod start;

use std::{sync::Arc, time::Duration};

use aws_lambda_events::event::{dynamodb, sqs::SqsEvent};
use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent};
use queue::BatchQueue;
use serde_json::{Value, json};
use shared::{
    keyring::Keyring,
    links::Links,
    mail::{Mailer, SesConfigurationSets},
    store::Store,
};
use tokio::sync::Mutex;

/// Mails per second one environment sends at most.
pub const DEFAULT_RATE_PER_SECOND: u32 = 7;
/// How long a reader's send is held by the invocation sending it: longer
/// than the function's timeout, shorter than the queue's visibility timeout,
/// so that a redelivered batch finds a crashed send free again.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(180);

/// Attempts of one SES call before the send counts as failed for now.
const SES_ATTEMPTS: u32 = 5;

pub struct Campaigns {
    pub store: Store,
    keyring: Keyring,
    links: Links,
    mailer: Mailer,
    queue: Arc<dyn BatchQueue>,
    /// `None`: unbounded (benchmarks).
    pacer: Option<Mutex<tokio::time::Interval>>,
    lease: Duration,
}

impl Campaigns {
    pub fn new(
        store: Store,
        keyring: Keyring,
        links: Links,
        mailer: Mailer,
        queue: Arc<dyn BatchQueue>,
        rate_per_second: Option<u32>,
    ) -> Self {
        let pacer = rate_per_second.map(|rate| {
            let mut interval = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Mutex::new(interval)
        });
        Self {
            store,
            keyring,
            links,
            mailer,
            queue,
            pacer,
            lease: DEFAULT_LEASE,
        }
    }

    /// A shorter lease, for tests that kill sends and wait for their retry.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
}

/// The function's start: configuration, the signing secret (unsubscribe
/// links), SES, the queue, a warm connection.
pub async fn start() -> Result<Campaigns, Error> {
    let start = shared::aws::start_signing(shared::aws::Secrets::Signing, |env| {
        let from = env.required("MAIL_FROM");
        let sets = SesConfigurationSets {
            transactional: env.required("SES_CONFIGURATION_SET_TRANSACTIONAL"),
            newsletter: env.required("SES_CONFIGURATION_SET_NEWSLETTER"),
        };
        let queue_url = env.required("SEND_QUEUE_URL");
        let rate = env.parsed_or("MAIL_RATE_PER_SECOND", DEFAULT_RATE_PER_SECOND);
        (from, sets, queue_url, rate)
    })
    .await?;
    let (from, sets, queue_url, rate) = start.settings;
    // SES throttling is retried here first, with backoff; what is left
    // after these attempts comes back with the batch.
    let ses = aws_sdk_sesv2::config::Builder::from(&start.sdk)
        .retry_config(
            aws_sdk_sesv2::config::retry::RetryConfig::standard()
                .with_max_attempts(SES_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .build();
    let mailer = Mailer::ses(aws_sdk_sesv2::Client::from_conf(ses), &from, sets)?;
    let queue = queue::Sqs {
        client: aws_sdk_sqs::Client::new(&start.sdk),
        url: queue_url,
    };
    Ok(Campaigns::new(
        start.store,
        start.keyring,
        start.links,
        mailer,
        Arc::new(queue),
        Some(rate),
    ))
}

/// A batch of the send queue, of the table's stream, or the schedule.
pub async fn handle(app: &Campaigns, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let event = event.payload;
    let source = event
        .pointer("/Records/0/eventSource")
        .and_then(Value::as_str);
    match source {
        Some("aws:sqs") => {
            let batch: SqsEvent = serde_json::from_value(event)?;
            return Ok(serde_json::to_value(send::deliver(app, batch).await)?);
        }
        Some("aws:dynamodb") => {
            let batch: dynamodb::Event = serde_json::from_value(event)?;
            return Ok(serde_json::to_value(start::deliver(app, &batch).await)?);
        }
        _ => {}
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let now = event
            .get("time")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or_else(Utc::now, |t| t.to_utc());
        let started = start::scheduled(app, now).await?;
        return Ok(json!({ "started": started }));
    }
    Err("unexpected event: neither a queue batch, a stream batch nor the schedule".into())
}
