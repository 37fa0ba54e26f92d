use lambda_runtime::{Error, run, service_fn};
use mailer::Delivery;
use shared::mail::{Mailer, SesConfigurationSets};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let shared::aws::Start {
        sdk,
        mut env,
        store,
    } = shared::aws::start_function().await;
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
