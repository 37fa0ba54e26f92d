use lambda_http::{Error, run, service_fn};
use newsletter::Newsletter;
use shared::links::Links;
use shared::{config::Env, keyring::Keyring, store::Store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let sdk = shared::aws::from_environment().await;
    let mut env = Env::from_process();
    let store = Store::from_env(&mut env, &sdk);
    let links = Links::from_env(&mut env);
    let secret_arn = env.required("SIGNING_SECRET_ARN");
    let (store, links) = env.finish(|| (store, links))?;
    let keyring = Keyring::from_secrets_manager(&sdk, &secret_arn).await?;
    let app = Newsletter::new(store, keyring, links);
    app.store.warm_up().await;
    run(service_fn(|request| newsletter::handle(&app, request))).await
}
