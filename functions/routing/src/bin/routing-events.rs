//! The table's stream (verified profiles) and the daily sweep.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = routing::start(routing::Entry::Events).await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        routing::handle_event(&app, event.payload)
    }))
    .await
}
