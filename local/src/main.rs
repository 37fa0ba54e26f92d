use std::path::PathBuf;

use clap::Parser;

/// Runs binome locally: every route on one port, an embedded DynamoDB, mail in files.
#[derive(Parser)]
#[command(name = "local")]
struct Args {
    /// HTTP port for every route.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Folder for the database, the outbox and the local secret.
    #[arg(long, default_value = ".local")]
    data: PathBuf,
    /// Share of DynamoDB calls answered as throttled (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    fault_dynamodb_throttle: f64,
    /// Share of DynamoDB transactions cancelled for a conflict.
    #[arg(long, default_value_t = 0.0)]
    fault_dynamodb_conflict: f64,
    /// Share of DynamoDB calls answered 500.
    #[arg(long, default_value_t = 0.0)]
    fault_dynamodb_error: f64,
    /// Milliseconds added to every DynamoDB call.
    #[arg(long, default_value_t = 0)]
    fault_dynamodb_latency_ms: u64,
    /// Share of mails the outbox fails, as a throttled SES.
    #[arg(long, default_value_t = 0.0)]
    fault_mail: f64,
    /// Share of stream batches whose delivery is killed mid-way.
    #[arg(long, default_value_t = 0.0)]
    fault_stream_kill: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    let args = Args::parse();
    let stack = local::start(local::Options {
        port: args.port,
        data_dir: args.data.clone(),
        public_base_url: std::env::var("PUBLIC_BASE_URL").ok(),
        site_url: std::env::var("SITE_URL").ok(),
        throttle: local::gateway::Throttle::TEMPLATE,
        campaigns: local::CampaignOptions::TEMPLATE,
        mail_rate_per_second: mailer::DEFAULT_RATE_PER_SECOND,
        faults: local::faults::Faults {
            dynamodb: local::faults::DynamoFaults {
                throttle_rate: args.fault_dynamodb_throttle,
                conflict_rate: args.fault_dynamodb_conflict,
                server_error_rate: args.fault_dynamodb_error,
                latency: std::time::Duration::from_millis(args.fault_dynamodb_latency_ms),
            },
            mail_fault_rate: args.fault_mail,
            stream_kill_rate: args.fault_stream_kill,
        },
        announce_mail: true,
    })
    .await?;
    println!("binome runs on {}", stack.base_url);
    println!("  data:   {}", args.data.display());
    println!("  mails:  {}", stack.outbox_dir.display());
    println!("  admin key (Authorization: Bearer …): {}", stack.admin_key);
    println!(
        "  association keys: {}",
        args.data.join("keys.json").display()
    );
    println!(
        "  try:    curl -i -X POST {}/v1/newsletter -H 'content-type: application/json' \\",
        stack.base_url
    );
    println!("            -d '{{\"email\": \"lea@exemple.fr\", \"consent\": true}}'");
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    Ok(())
}
