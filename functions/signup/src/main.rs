use lambda_http::{Error, run, service_fn};
use shared::{keyring::Keyring, links::Links};
use signup::Signup;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let shared::aws::Start {
        sdk,
        mut env,
        store,
    } = shared::aws::start_function().await;
    let links = Links::from_env(&mut env);
    let secret_arn = env.required("SIGNING_SECRET_ARN");
    let floor = env.parsed_or(
        "SIGNUP_RESPONSE_FLOOR_MS",
        signup::DEFAULT_RESPONSE_FLOOR_MS,
    );
    let (store, links, floor) = env.finish(|| (store, links, floor))?;
    let keyring = Keyring::from_secrets_manager(&sdk, &secret_arn).await?;
    let app = Signup::new(
        store,
        keyring,
        links,
        std::time::Duration::from_millis(floor),
    );
    app.store.warm_up().await;
    run(service_fn(|request| signup::handle(&app, request))).await
}
