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
