use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = signup::start().await?;
    run(service_fn(|request| signup::handle(&app, request))).await
}
