use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = reminders::start().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        reminders::handle_event(&app, event.payload)
    }))
    .await
}
