//! The spike under fire at campaign scale: 10,000 sign-ups at concurrency
//! 200 with the faults of the spike test (`Settings::under_fire`), the stack
//! killed and restarted halfway. Prints what clients got, what was stored
//! and mailed, and the latencies.
//!
//! `cargo bench -p binome-tests --bench spike` (`-- 2000 50` for another size).

use binome_tests::spike::{self, Settings};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .filter_map(|arg| arg.parse::<usize>().ok());
    let signups = args.next().unwrap_or(10_000);
    let concurrency = args.next().unwrap_or(200);
    let mut settings = Settings::under_fire(signups, concurrency);
    settings.settle_within = std::time::Duration::from_secs(1_800);
    let data = tempfile::tempdir().expect("a temporary folder");
    let report = spike::run(&settings, data.path()).await;
    let refused: Vec<String> = report
        .answers
        .iter()
        .filter(|(status, _)| **status != 202)
        .map(|(status, count)| format!("{count} × {status}"))
        .collect();
    println!(
        "spike: {signups} sign-ups ({} addresses) at concurrency {concurrency}, answered in {:.1} s, settled {:.1} s later",
        settings.addresses(),
        report.elapsed.as_secs_f64(),
        report.settled_in.as_secs_f64()
    );
    println!(
        "  accepted {} addresses; refused {} (without Retry-After: {}); {} refused connections during the restart",
        report.accepted,
        if refused.is_empty() {
            "none".to_owned()
        } else {
            refused.join(", ")
        },
        report.refusals_without_retry_after,
        report.connection_errors
    );
    println!(
        "  stored: {} ids changed, {} addresses without exactly one profile; counted by the figures: {}",
        report.ids_changed, report.profiles_not_one, report.counted_requests
    );
    println!(
        "  mails: {} lost, {} duplicated (mailer interruptions: {})",
        report.lost_mails, report.duplicated_mails, report.mailer_interruptions
    );
    let (calls, throttled, conflicts, errors) = report.dynamodb_faults;
    println!(
        "  DynamoDB after the restart: {calls} calls, {throttled} throttled, {conflicts} conflicts, {errors} × 500"
    );
    println!(
        "  latency to an accepted answer (retries included): p50 {:.0} ms, p95 {:.0} ms",
        report.latency_p50.as_secs_f64() * 1000.0,
        report.latency_p95.as_secs_f64() * 1000.0
    );
}
