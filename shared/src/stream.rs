//! The table's stream, as the functions it triggers read it: records are
//! handled in order, and the first that fails is reported as the batch item
//! failure, so that Lambda retries the batch from it (the records after it
//! come again; the ones before it, done, are not redelivered).

use std::future::Future;

use aws_lambda_events::event::{
    dynamodb::{Event, EventRecord},
    streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse},
};

/// Handles `batch` in order with `handle`, stopping at the first failure.
/// A record `handle` does not care about answers `Ok(())`.
pub async fn in_order<'a, F, Fut, E>(batch: &'a Event, mut handle: F) -> DynamoDbEventResponse
where
    F: FnMut(&'a EventRecord) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut response = DynamoDbEventResponse::default();
    for record in &batch.records {
        if let Err(error) = handle(record).await {
            tracing::warn!(%error, sequence = record.change.sequence_number, "stream record will be retried");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}

/// A string attribute of a stream image.
pub fn text<'a>(image: &'a serde_dynamo::Item, name: &str) -> Option<&'a str> {
    match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(value)) => Some(value.as_str()),
        _ => None,
    }
}
