use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let campaigns = campaigns::start().await?;
    run(service_fn(|event| campaigns::handle(&campaigns, event))).await
}
