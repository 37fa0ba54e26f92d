use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let delivery = mailer::start().await?;
    run(service_fn(|event| mailer::handle(&delivery, event))).await
}
