//! Where batches of recipients go: SQS in AWS; the local stack gives its
//! own queue, which delivers the same event shape to the same handler.

use std::{future::Future, pin::Pin};

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use shared::campaign::SendBatch;

pub type Sent<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

pub trait BatchQueue: Send + Sync {
    /// Queues every batch, or fails (the caller's trigger then retries: a
    /// batch queued twice sends nothing twice).
    fn send(&self, batches: Vec<SendBatch>) -> Sent<'_>;
}

pub struct Sqs {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
}

/// Entries per `SendMessageBatch`, SQS's limit.
const SQS_BATCH: usize = 10;

impl BatchQueue for Sqs {
    fn send(&self, batches: Vec<SendBatch>) -> Sent<'_> {
        Box::pin(async move {
            for group in batches.chunks(SQS_BATCH) {
                let entries = group
                    .iter()
                    .enumerate()
                    .map(|(n, batch)| {
                        SendMessageBatchRequestEntry::builder()
                            .id(n.to_string())
                            .message_body(serde_json::to_string(batch).expect("a batch serializes"))
                            .build()
                            .expect("id and body are set")
                    })
                    .collect();
                let output = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
                if !output.failed().is_empty() {
                    return Err(format!(
                        "{} batches refused by the queue",
                        output.failed().len()
                    ));
                }
            }
            Ok(())
        })
    }
}
