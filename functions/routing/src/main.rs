use lambda_http::{Error, run, service_fn};
use routing::Routing;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let shared::aws::Start {
        sdk,
        mut env,
        store,
    } = shared::aws::start_function().await;
    let admin_key_arn = env.required("ADMIN_KEY_SECRET_ARN");
    let store = env.finish(|| store)?;
    let admin_key = shared::aws::secret_string(&sdk, &admin_key_arn).await?;
    let app = Routing::new(store, &admin_key);
    app.store.warm_up().await;
    run(service_fn(|request| routing::handle(&app, request))).await
}
