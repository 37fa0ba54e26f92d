//! The table's stream (what the figures count) and the backfill.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = stats::start(stats::Entry::Events).await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        stats::handle_event(&app, event.payload)
    }))
    .await
}
