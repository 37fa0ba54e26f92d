//! The table's stream (new matching runs) and the nightly schedule.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = matching::start().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        matching::handle_event(&app, event.payload)
    }))
    .await
}
