//! The stream trigger: a mentee or a mentor whose profile becomes `verified`
//! is routed. Records are handled in order; the first that fails for a
//! transient reason is reported, so Lambda retries from it. A redelivered
//! record finds the request already routed and writes nothing.

use aws_lambda_events::event::{
    dynamodb::{Event, EventRecord},
    streams::DynamoDbEventResponse,
};
use chrono::Utc;
use shared::{
    store::{StoreError, keys::sort},
    stream::{in_order, text},
};

use crate::{
    Routing,
    request::{Cause, RequestItem},
    route::route,
};

/// Whether a record is a profile that is now verified (the event source
/// mapping filters the same way; this guards local runs and replays).
pub fn is_verified_request(record: &EventRecord) -> bool {
    let image = &record.change.new_image;
    matches!(record.event_name.as_str(), "INSERT" | "MODIFY")
        && text(image, "sk") == Some(sort::PROFILE)
        && text(image, "status") == Some("verified")
}

pub async fn deliver(app: &Routing, event: &Event) -> DynamoDbEventResponse {
    in_order(event, |record| async move {
        if !is_verified_request(record) {
            return Ok(());
        }
        let request: RequestItem = match serde_dynamo::from_item(record.change.new_image.clone()) {
            Ok(request) => request,
            Err(error) => {
                // Not retriable: the same image would fail again.
                tracing::error!(%error, sequence = record.change.sequence_number, "unreadable profile image skipped");
                return Ok::<(), StoreError>(());
            }
        };
        route(app, &request, Cause::Verified, None, None, Utc::now())
            .await
            .map(|_| ())
    })
    .await
}
