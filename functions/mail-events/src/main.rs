use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = mail_events::start().await?;
    run(service_fn(|event| mail_events::handle(&app, event))).await
}
