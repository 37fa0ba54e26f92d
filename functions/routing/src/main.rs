use lambda_http::{Error, run, service_fn};
use routing::Routing;
use shared::{config::Env, store::Store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let sdk = shared::aws::from_environment().await;
    let mut env = Env::from_process();
    let store = Store::from_env(&mut env, &sdk);
    let admin_key_arn = env.required("ADMIN_KEY_SECRET_ARN");
    let store = env.finish(|| store)?;
    let admin_key = shared::aws::secret_string(&sdk, &admin_key_arn).await?;
    let app = Routing::new(store, &admin_key);
    app.store.warm_up().await;
    run(service_fn(|request| routing::handle(&app, request))).await
}
