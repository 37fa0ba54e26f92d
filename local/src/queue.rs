//! The send queue as SQS and its event source mapping run it: a message
//! taken by a consumer is hidden for the visibility timeout and deleted when
//! the consumer reports it done; a failed one, or one whose consumer died,
//! comes back after the timeout; after `max_receives` deliveries it goes to
//! a dead-letter file. Batches reach the handler in the Lambda SQS event
//! shape, with at most `concurrency` invocations at once
//! (`MaximumConcurrency`).
//!
//! Faults can be injected: a share of invocations killed halfway (the
//! future dropped, as a crashed process), and the first batch delivered twice.

use std::{
    future::Future,
    path::PathBuf,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use campaigns::queue::{BatchQueue, Sent};
use shared::campaign::SendBatch;
use tokio::sync::Mutex;

pub type Deliver =
    Arc<dyn Fn(SqsEvent) -> Pin<Box<dyn Future<Output = SqsBatchResponse> + Send>> + Send + Sync>;

const IDLE_POLL: Duration = Duration::from_millis(50);
/// Messages per invocation, as the mapping's `BatchSize` in the template.
const BATCH_SIZE: usize = 5;
const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-3:000000000000:binome-campaign-sends";

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub visibility: Duration,
    pub max_receives: u32,
    pub concurrency: usize,
    pub faults: Faults,
}

impl Settings {
    /// As the template: 12 minutes of visibility, 5 receives, 2 at once.
    pub const TEMPLATE: Settings = Settings {
        visibility: Duration::from_secs(720),
        max_receives: 5,
        concurrency: 2,
        faults: Faults::NONE,
    };
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Share of invocations killed before they finish.
    pub kill_rate: f64,
    /// Deliver the first batch to two invocations at once.
    pub duplicate_first: bool,
}

impl Faults {
    pub const NONE: Faults = Faults {
        kill_rate: 0.0,
        duplicate_first: false,
    };
}

struct Message {
    id: String,
    body: String,
    receives: u32,
    visible_at: Instant,
}

pub struct LocalQueue {
    messages: Mutex<Vec<Message>>,
    settings: Settings,
    dead_letters: PathBuf,
    duplicated: AtomicBool,
}

impl LocalQueue {
    pub fn new(settings: Settings, dead_letters: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            messages: Mutex::new(Vec::new()),
            settings,
            dead_letters,
            duplicated: AtomicBool::new(false),
        })
    }

    /// Messages queued or in flight.
    pub async fn depth(&self) -> usize {
        self.messages.lock().await.len()
    }

    /// Takes up to a batch of visible messages, hiding them; those past
    /// their last receive go to the dead-letter file instead.
    async fn receive(&self) -> Vec<(String, String, u32)> {
        let now = Instant::now();
        let mut messages = self.messages.lock().await;
        let mut dead = Vec::new();
        messages.retain(|m| {
            let exhausted = m.visible_at <= now && m.receives >= self.settings.max_receives;
            if exhausted {
                dead.push(m.body.clone());
            }
            !exhausted
        });
        if !dead.is_empty() {
            let mut lines = String::new();
            for body in dead {
                lines.push_str(&body);
                lines.push('\n');
            }
            use std::io::Write;
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.dead_letters)
                .and_then(|mut file| file.write_all(lines.as_bytes()));
            if let Err(error) = written {
                tracing::error!(%error, "dead letters could not be written");
            }
        }
        messages
            .iter_mut()
            .filter(|m| m.visible_at <= now)
            .take(BATCH_SIZE)
            .map(|m| {
                m.visible_at = now + self.settings.visibility;
                m.receives += 1;
                (m.id.clone(), m.body.clone(), m.receives)
            })
            .collect()
    }

    async fn delete(&self, ids: &[String]) {
        self.messages.lock().await.retain(|m| !ids.contains(&m.id));
    }

    /// Runs the consumers for as long as the stack runs.
    pub fn spawn(self: &Arc<Self>, deliver: Deliver) -> Vec<tokio::task::JoinHandle<()>> {
        (0..self.settings.concurrency.max(1))
            .map(|_| {
                let queue = self.clone();
                let deliver = deliver.clone();
                tokio::spawn(async move {
                    loop {
                        if !queue.step(&deliver).await {
                            tokio::time::sleep(IDLE_POLL).await;
                        }
                    }
                })
            })
            .collect()
    }

    /// One invocation; `false` when nothing was visible.
    async fn step(self: &Arc<Self>, deliver: &Deliver) -> bool {
        let taken = self.receive().await;
        if taken.is_empty() {
            return false;
        }
        let event = sqs_event(&taken);
        let faults = self.settings.faults;
        if faults.duplicate_first && !self.duplicated.swap(true, Ordering::SeqCst) {
            // The same batch to a second invocation, as SQS may do.
            tokio::spawn(deliver(event.clone()));
        }
        let invocation = deliver(event);
        let response = if faults.kill_rate > 0.0 && rand::random::<f64>() < faults.kill_rate {
            // Killed partway: whatever it did stays, the batch comes back.
            let after = Duration::from_millis(rand::random_range(5..200));
            let _ = tokio::time::timeout(after, invocation).await;
            tracing::warn!("injected fault: invocation killed");
            return true;
        } else {
            invocation.await
        };
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let done: Vec<String> = taken
            .iter()
            .map(|(id, _, _)| id.clone())
            .filter(|id| !failed.contains(&id.as_str()))
            .collect();
        self.delete(&done).await;
        true
    }
}

/// The messages in the event shape Lambda gives an SQS-triggered function.
fn sqs_event(taken: &[(String, String, u32)]) -> SqsEvent {
    let records: Vec<serde_json::Value> = taken
        .iter()
        .map(|(id, body, receives)| {
            serde_json::json!({
                "messageId": id,
                "receiptHandle": id,
                "body": body,
                "attributes": { "ApproximateReceiveCount": receives.to_string() },
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "eu-west-3",
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("the SQS event shape")
}

impl BatchQueue for LocalQueue {
    fn send(&self, batches: Vec<SendBatch>) -> Sent<'_> {
        Box::pin(async move {
            let now = Instant::now();
            let mut messages = self.messages.lock().await;
            for batch in batches {
                messages.push(Message {
                    id: uuid::Uuid::new_v4().to_string(),
                    body: serde_json::to_string(&batch).map_err(|e| e.to_string())?,
                    receives: 0,
                    visible_at: now,
                });
            }
            Ok(())
        })
    }
}
