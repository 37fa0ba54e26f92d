use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = stats::start(stats::Entry::Api).await?;
    run(service_fn(|request| stats::handle(&app, request))).await
}
