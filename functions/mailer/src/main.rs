use lambda_runtime::{Error, run, service_fn};
use mailer::Delivery;
use shared::{
    config::Env,
    mail::{Mailer, SesConfigurationSets},
    store::Store,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let sdk = shared::aws::from_environment().await;
    let mut env = Env::from_process();
    let store = Store::from_env(&mut env, &sdk);
    let from = env.required("MAIL_FROM");
    let sets = SesConfigurationSets {
        transactional: env.required("SES_CONFIGURATION_SET_TRANSACTIONAL"),
        newsletter: env.required("SES_CONFIGURATION_SET_NEWSLETTER"),
    };
    let rate = env.parsed_or("MAIL_RATE_PER_SECOND", mailer::DEFAULT_RATE_PER_SECOND);
    let (store, sets, rate) = env.finish(|| (store, sets, rate))?;
    let mailer = Mailer::ses(aws_sdk_sesv2::Client::new(&sdk), &from, sets)?;
    let delivery = Delivery::new(store, mailer, rate);
    delivery.store.warm_up().await;
    run(service_fn(|event| mailer::handle(&delivery, event))).await
}
