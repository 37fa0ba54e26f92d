use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = matching::start().await?;
    run(service_fn(|request| matching::handle(&app, request))).await
}
