use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = newsletter::start().await?;
    run(service_fn(|request| newsletter::handle(&app, request))).await
}
