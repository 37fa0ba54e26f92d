//! Stream delivery as Lambda's event source mapping does it: read the table's
//! stream in order, hand batches (in the Lambda event shape) to a consumer,
//! checkpoint after each batch, retry from the first failed record, and after
//! a few attempts set the record aside in a dead-letter file.

use std::{
    future::Future,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use aws_lambda_events::event::{dynamodb::Event, streams::DynamoDbEventResponse};
use dynoxide::{
    Database,
    actions::{
        describe_stream::DescribeStreamRequest, get_records::GetRecordsRequest,
        get_shard_iterator::GetShardIteratorRequest, list_streams::ListStreamsRequest,
    },
};

/// Retries of a failing record before it goes to the dead-letter file:
/// the template's `MaximumRetryAttempts`.
const MAX_RETRIES: u32 = 10;
/// The longest a killed delivery runs before it is cut.
const LONGEST_KILLED_RUN: Duration = Duration::from_millis(50);
const IDLE_POLL: Duration = Duration::from_millis(200);
const RETRY_DELAY: Duration = Duration::from_millis(500);

pub type Deliver =
    Arc<dyn Fn(Event) -> Pin<Box<dyn Future<Output = DynamoDbEventResponse> + Send>> + Send + Sync>;

/// One stream-triggered function, with its own position in the stream.
#[derive(Clone)]
pub struct Consumer {
    pub name: &'static str,
    /// Records per batch, as the function's `BatchSize` in the template.
    pub batch_size: usize,
    pub deliver: Deliver,
}

/// The table's stream (dynoxide keeps one shard per table).
#[derive(Clone)]
pub struct StreamReader {
    db: Database,
    stream_arn: String,
    shard_id: String,
}

impl StreamReader {
    pub async fn open(db: Database, table: &str) -> anyhow::Result<Self> {
        let table = table.to_owned();
        let lookup = db.clone();
        tokio::task::spawn_blocking(move || {
            let streams = lookup.list_streams(ListStreamsRequest {
                table_name: Some(table.clone()),
                ..Default::default()
            })?;
            let stream_arn = streams
                .streams
                .first()
                .map(|stream| stream.stream_arn.clone())
                .with_context(|| format!("table {table} has no stream"))?;
            let description = lookup.describe_stream(DescribeStreamRequest {
                stream_arn: stream_arn.clone(),
                ..Default::default()
            })?;
            let shard_id = description
                .stream_description
                .shards
                .first()
                .map(|shard| shard.shard_id.clone())
                .context("stream has no shard")?;
            Ok(Self {
                db,
                stream_arn,
                shard_id,
            })
        })
        .await?
    }

    /// Up to `limit` records after `position` (a sequence number), or from the
    /// oldest record kept when there is no position yet.
    pub async fn read_after(&self, position: Option<&str>, limit: usize) -> anyhow::Result<Event> {
        let (iterator_type, sequence_number) = match position {
            Some(sequence) => ("AFTER_SEQUENCE_NUMBER", Some(sequence.to_owned())),
            None => ("TRIM_HORIZON", None),
        };
        let reader = self.clone();
        let records = tokio::task::spawn_blocking(move || -> anyhow::Result<serde_json::Value> {
            let iterator = reader
                .db
                .get_shard_iterator(GetShardIteratorRequest {
                    stream_arn: reader.stream_arn.clone(),
                    shard_id: reader.shard_id.clone(),
                    shard_iterator_type: iterator_type.into(),
                    sequence_number,
                })?
                .shard_iterator
                .context("no shard iterator")?;
            let page = reader.db.get_records(GetRecordsRequest {
                shard_iterator: iterator,
                limit: Some(limit),
            })?;
            Ok(serde_json::to_value(page.records)?)
        })
        .await??;
        self.as_lambda_event(records)
    }

    /// The records as Lambda delivers them; the emulator leaves out the
    /// source ARN, which Lambda always sets.
    fn as_lambda_event(&self, mut records: serde_json::Value) -> anyhow::Result<Event> {
        for record in records.as_array_mut().into_iter().flatten() {
            record["eventSourceARN"] = self.stream_arn.clone().into();
        }
        Ok(serde_json::from_value(
            serde_json::json!({ "Records": records }),
        )?)
    }
}

fn last_sequence(event: &Event) -> Option<String> {
    event
        .records
        .last()
        .and_then(|record| record.change.sequence_number.clone())
}

/// How deliveries fail on purpose.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Share of batches whose delivery is cut at a random point, as a crash
    /// or a timeout would: Lambda delivers the whole batch again.
    pub kill_rate: f64,
    /// Deliveries cut so far.
    pub kills: Arc<AtomicU64>,
}

/// Runs a consumer for as long as the stack runs.
pub fn spawn(
    reader: StreamReader,
    consumer: Consumer,
    delivery: Delivery,
    data_dir: &Path,
) -> tokio::task::JoinHandle<()> {
    let checkpoint = data_dir.join(format!("stream-{}.checkpoint", consumer.name));
    let dead_letters = data_dir.join(format!("stream-{}.dead-letters.jsonl", consumer.name));
    tokio::spawn(async move {
        let mut pump = Pump {
            position: tokio::fs::read_to_string(&checkpoint)
                .await
                .ok()
                .map(|s| s.trim().to_owned()),
            checkpoint,
            dead_letters,
            failing: None,
            delivery,
        };
        loop {
            match pump.step(&reader, &consumer).await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(IDLE_POLL).await,
                Err(error) => {
                    tracing::error!(consumer = consumer.name, %error, "stream delivery failed");
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
        }
    })
}

struct Pump {
    position: Option<String>,
    checkpoint: PathBuf,
    dead_letters: PathBuf,
    /// The record that failed last, and how many times.
    failing: Option<(String, u32)>,
    delivery: Delivery,
}

impl Pump {
    /// Delivers one batch; `false` when the stream had nothing new.
    async fn step(&mut self, reader: &StreamReader, consumer: &Consumer) -> anyhow::Result<bool> {
        let event = reader
            .read_after(self.position.as_deref(), consumer.batch_size)
            .await?;
        if event.records.is_empty() {
            return Ok(false);
        }
        let run = (consumer.deliver)(event.clone());
        let response = if rand::random::<f64>() < self.delivery.kill_rate {
            let cut = LONGEST_KILLED_RUN.mul_f64(rand::random());
            tokio::time::timeout(cut, run).await.ok()
        } else {
            Some(run.await)
        };
        let failed = match response {
            Some(response) => response
                .batch_item_failures
                .iter()
                .filter_map(|failure| failure.item_identifier.as_deref())
                .filter_map(|id| {
                    event
                        .records
                        .iter()
                        .position(|r| r.change.sequence_number.as_deref() == Some(id))
                })
                .min(),
            None => {
                self.delivery.kills.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    consumer = consumer.name,
                    "delivery killed mid-batch (fault)"
                );
                Some(0)
            }
        };
        let Some(failed) = failed else {
            self.failing = None;
            self.advance(last_sequence(&event)).await?;
            return Ok(true);
        };
        // Everything before the failed record is done.
        let done = failed
            .checked_sub(1)
            .and_then(|i| event.records[i].change.sequence_number.clone());
        if done.is_some() {
            self.advance(done).await?;
        }
        let sequence = event.records[failed]
            .change
            .sequence_number
            .clone()
            .unwrap_or_default();
        let attempts = match &self.failing {
            Some((same, attempts)) if *same == sequence => attempts + 1,
            _ => 1,
        };
        if attempts > MAX_RETRIES {
            tracing::error!(
                consumer = consumer.name,
                sequence,
                "record set aside after {attempts} attempts"
            );
            let line = serde_json::to_string(&event.records[failed])? + "\n";
            append(&self.dead_letters, &line).await?;
            self.failing = None;
            self.advance(Some(sequence)).await?;
        } else {
            self.failing = Some((sequence, attempts));
            tokio::time::sleep(RETRY_DELAY).await;
        }
        Ok(true)
    }

    async fn advance(&mut self, position: Option<String>) -> anyhow::Result<()> {
        if let Some(position) = position {
            tokio::fs::write(&self.checkpoint, &position).await?;
            self.position = Some(position);
        }
        Ok(())
    }
}

async fn append(path: &Path, line: &str) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(line.as_bytes()).await?;
    Ok(())
}
