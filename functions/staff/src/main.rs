use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = staff::start().await?;
    run(service_fn(|request| staff::handle(&app, request))).await
}
