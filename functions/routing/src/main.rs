use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = routing::start(routing::Entry::Http).await?;
    run(service_fn(|request| routing::handle(&app, request))).await
}
