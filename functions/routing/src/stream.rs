//! The stream trigger: a mentee or a mentor whose profile becomes `verified`
//! is routed. Records are handled in order; the first that fails for a
//! transient reason is reported, so Lambda retries from it. A redelivered
//! record finds the request already routed and writes nothing.

use aws_lambda_events::event::{
    dynamodb::{Event, EventRecord},
    streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse},
};
use chrono::Utc;

use crate::{
    Routing,
    request::{Cause, RequestItem},
    route::route,
};

/// Whether a record is a profile that is now verified (the event source
/// mapping filters the same way; this guards local runs and replays).
pub fn is_verified_request(record: &EventRecord) -> bool {
    let image = &record.change.new_image;
    let text = |name: &str| match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(value)) => Some(value.as_str()),
        _ => None,
    };
    matches!(record.event_name.as_str(), "INSERT" | "MODIFY")
        && text("sk") == Some("PROFILE")
        && text("status") == Some("verified")
}

pub async fn deliver(app: &Routing, event: &Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records.iter().filter(|r| is_verified_request(r)) {
        let request: RequestItem = match serde_dynamo::from_item(record.change.new_image.clone()) {
            Ok(request) => request,
            Err(error) => {
                // Not retriable: the same image would fail again.
                tracing::error!(%error, sequence = record.change.sequence_number, "unreadable profile image skipped");
                continue;
            }
        };
        if let Err(error) = route(app, &request, Cause::Verified, None, Utc::now()).await {
            tracing::warn!(%error, request = request.id, "routing will be retried");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}
