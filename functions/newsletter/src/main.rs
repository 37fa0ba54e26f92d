use lambda_http::{Error, run, service_fn};
use newsletter::Newsletter;
use shared::keyring::Keyring;
use shared::links::Links;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let shared::aws::Start {
        sdk,
        mut env,
        store,
    } = shared::aws::start_function().await;
    let links = Links::from_env(&mut env);
    let secret_arn = env.required("SIGNING_SECRET_ARN");
    let (store, links) = env.finish(|| (store, links))?;
    let keyring = Keyring::from_secrets_manager(&sdk, &secret_arn).await?;
    let app = Newsletter::new(store, keyring, links);
    app.store.warm_up().await;
    run(service_fn(|request| newsletter::handle(&app, request))).await
}
